"""A real InfluxDB 1.x server for tests: `influxd` on free loopback ports in a temp dir.

Use the session fixture `influxdb_v1` (import it into a test module, or list this module in
conftest's `pytest_plugins`). It yields an `InfluxDBServer` with `.url`, `.query(db, q)` and
`.write(db, lines)`. Tests that need it are skipped when `influxd` is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.servers import free_port, line_protocol_bodies

STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class InfluxDBServer:
    """Handle on a running influxd: HTTP base URL plus tiny query/write helpers."""

    url: str

    def query(self, db: str, q: str) -> dict:
        """POST /query (so CREATE/DROP work too); returns InfluxDB's JSON answer, errors included."""
        response = requests.post(f"{self.url}/query", params={"db": db, "q": q}, timeout=10)
        return response.json()

    def write(self, db: str, lines: str | list[str]) -> None:
        """POST line protocol to /write (a long list in batches), creating the database first; raises on refusal."""
        requests.post(f"{self.url}/query", params={"q": f'CREATE DATABASE "{db}"'}, timeout=10).raise_for_status()
        for body in line_protocol_bodies(lines):
            response = requests.post(f"{self.url}/write", params={"db": db}, data=body.encode(), timeout=10)
            if response.status_code != 204:
                raise AssertionError(f"influxdb refused the write ({response.status_code}): {response.text.strip()}")


def _write_config(directory: Path, http_port: int, rpc_port: int) -> Path:
    config = directory / "influxdb.conf"
    config.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{directory / 'meta'}"

[data]
  dir = "{directory / 'data'}"
  wal-dir = "{directory / 'wal'}"
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false

[monitor]
  store-enabled = false
"""
    )
    return config


def _wait_until_ready(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"influxd exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 204:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"influxd not ready after {STARTUP_TIMEOUT_SECONDS}s: {log_path.read_text()[-2000:]}")


def start_influxdb(directory: Path) -> tuple[InfluxDBServer, subprocess.Popen]:
    """Start influxd with its data in `directory`; returns the handle and the process (stop it yourself)."""
    # Ports are picked just before start; a rare clash only fails startup loudly, never silently.
    http_port, rpc_port = free_port(), free_port()
    config = _write_config(directory, http_port, rpc_port)
    log_path = directory / "influxd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(["influxd", "-config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    server = InfluxDBServer(url=f"http://127.0.0.1:{http_port}")
    try:
        _wait_until_ready(server.url, process, log_path)
    except BaseException:
        stop_influxdb(process)
        raise
    return server, process


def stop_influxdb(process: subprocess.Popen) -> None:
    """Terminate influxd, killing it if it does not exit promptly."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def influxdb_v1() -> Iterator[InfluxDBServer]:
    """A real InfluxDB 1.x for the whole session, in a temp dir, on free loopback ports."""
    if shutil.which("influxd") is None:
        pytest.skip("influxd is not installed (make setup-system)")
    with tempfile.TemporaryDirectory(prefix="airflow-dash-influxdb-") as tmp:
        server, process = start_influxdb(Path(tmp))
        try:
            yield server
        finally:
            stop_influxdb(process)
