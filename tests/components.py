"""The real collectors and database of the two stacks, started for tests (pytest fixtures).

`scripts/install-components.sh` (run by `make setup`) builds statsd_exporter, Telegraf and InfluxDB 2 `influxd`
at pinned versions into a per-user cache; `component_binary(name)` asks the script where they are, so the
versions and the cache layout live in one place. Debian's `influxdb` package also ships an `influxd` (1.x, on
PATH, used by tests/influxdb_server.py); InfluxDB 2's binary is never looked up on PATH.

A missing component fails the test under CI (make setup installs them there), and skips it elsewhere.

Every server binds to 127.0.0.1 on free ports, keeps its data in a temp dir, runs in its own process group and
is stopped by the fixture (see tests/servers.py).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.servers import ServerProcess, free_port, line_protocol_bodies, start_process, wait_until

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "scripts" / "install-components.sh"
COMPONENTS = ("statsd_exporter", "telegraf", "influxd")

INFLUX2_ORG = "airflow-dash"
INFLUX2_USER = "airflow-dash"
# Test-only credentials of a throwaway server on loopback.
INFLUX2_PASSWORD = "test-password-not-secret"
INFLUX2_TOKEN = "test-token-not-secret"
TELEGRAF_HOST = "airflow-replay"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def component_binary(name: str) -> Path | None:
    """The installed binary of a component, or None when `make setup-components` has not built it.
    `AIRFLOW_DASH_<NAME>` (e.g. AIRFLOW_DASH_INFLUXD) points at another build of the same version."""
    if name not in COMPONENTS:
        raise ValueError(f"unknown component {name!r}")
    override = os.environ.get(f"AIRFLOW_DASH_{name.upper()}")
    if override:
        return Path(override)
    found = subprocess.run(["bash", str(INSTALLER), "--path", name], capture_output=True, text=True, timeout=30)
    path = found.stdout.strip()
    return Path(path) if found.returncode == 0 and path else None


def require_component(name: str) -> Path:
    """The binary, or fail (CI) / skip (elsewhere) the test with the reason."""
    binary = component_binary(name)
    if binary is None:
        reason = f"{name} is not installed: run `make setup-components` (scripts/install-components.sh)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return binary


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http_status(url: str, **kwargs) -> int:
    return requests.get(url, timeout=2, **kwargs).status_code


# ---------------------------------------------------------------------------------------------
# statsd_exporter

@dataclass(frozen=True)
class StatsdExporter:
    """A running statsd_exporter: StatsD on `statsd_port` (UDP), metrics at `metrics_url`."""

    statsd_port: int
    web_url: str
    process: ServerProcess = field(repr=False)

    @property
    def metrics_url(self) -> str:
        return f"{self.web_url}/metrics"

    @property
    def target(self) -> str:
        return self.web_url.removeprefix("http://")

    def metrics_text(self) -> str:
        response = requests.get(self.metrics_url, timeout=10)
        response.raise_for_status()
        return response.text

    def events_received(self) -> float:
        """statsd_exporter's own count of StatsD events it parsed (all types)."""
        total = 0.0
        for line in self.metrics_text().splitlines():
            if line.startswith("statsd_exporter_events_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


def start_statsd_exporter(work_dir: Path, mapping_yaml: str) -> StatsdExporter:
    """Start statsd_exporter with `mapping_yaml` (UDP only). The caller stops `.process`."""
    binary = require_component("statsd_exporter")
    mapping = work_dir / "statsd_mapping.yml"
    mapping.write_text(mapping_yaml)
    statsd_port, web_port = free_udp_port(), free_port()
    server = start_process("statsd_exporter", [
        str(binary),
        f"--statsd.mapping-config={mapping}",
        f"--statsd.listen-udp=127.0.0.1:{statsd_port}",
        "--statsd.listen-tcp=",
        f"--web.listen-address=127.0.0.1:{web_port}",
        "--log.level=warn",
    ], work_dir)
    exporter = StatsdExporter(statsd_port, f"http://127.0.0.1:{web_port}", server)
    try:
        wait_until(lambda: _http_status(exporter.metrics_url) == 200, server, "/metrics")
    except BaseException:
        server.stop()
        raise
    return exporter


# ---------------------------------------------------------------------------------------------
# InfluxDB 2

class FluxQueryError(RuntimeError):
    """InfluxDB 2 refused a Flux query."""


@dataclass(frozen=True)
class InfluxDB2Server:
    """A running InfluxDB 2 set up with one org, an operator token and a default bucket."""

    url: str
    org: str
    token: str = field(repr=False)
    bucket: str = "default"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def create_bucket(self, name: str) -> None:
        org_id = requests.get(f"{self.url}/api/v2/orgs", params={"org": self.org}, headers=self.headers,
                              timeout=10).json()["orgs"][0]["id"]
        response = requests.post(f"{self.url}/api/v2/buckets", headers=self.headers, timeout=10,
                                 json={"orgID": org_id, "name": name, "retentionRules": []})
        if response.status_code not in (201, 422):  # 422: it exists already
            raise AssertionError(f"bucket {name}: {response.status_code} {response.text.strip()}")

    def write(self, bucket: str, lines: str | list[str]) -> None:
        """POST line protocol to /api/v2/write (a long list in batches); raises on refusal."""
        for body in line_protocol_bodies(lines):
            response = requests.post(f"{self.url}/api/v2/write", params={"org": self.org, "bucket": bucket,
                                     "precision": "ns"}, headers=self.headers, data=body.encode(), timeout=30)
            if response.status_code != 204:
                raise AssertionError(f"influxdb 2 refused the write ({response.status_code}): {response.text.strip()}")

    def query_csv(self, flux: str) -> str:
        """Run a Flux script through /api/v2/query; the annotated CSV answer."""
        response = requests.post(f"{self.url}/api/v2/query", params={"org": self.org}, timeout=60,
                                 headers={**self.headers, "Content-Type": "application/vnd.flux",
                                          "Accept": "application/csv"}, data=flux.encode())
        if response.status_code != 200:
            raise FluxQueryError(f"{response.status_code}: {response.text.strip()[:500]}")
        return response.text

    def query_rows(self, flux: str) -> list[dict[str, str]]:
        """The records of a Flux answer as dicts (all tables; CSV values as text)."""
        rows: list[dict[str, str]] = []
        header: list[str] | None = None
        for line in self.query_csv(flux).splitlines():
            if not line.strip():
                header = None
                continue
            cells = line.split(",")
            if header is None:
                header = cells
                continue
            rows.append(dict(zip(header, cells)))
        return rows


def start_influxdb2(work_dir: Path) -> tuple[ServerProcess, InfluxDB2Server]:
    """Start InfluxDB 2 (API only) in work_dir and run its initial setup. The caller stops the process."""
    binary = require_component("influxd")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_process("influxd2", [
        str(binary),
        f"--bolt-path={work_dir / 'influxd.bolt'}",
        f"--engine-path={work_dir / 'engine'}",
        f"--sqlite-path={work_dir / 'influxd.sqlite'}",
        f"--http-bind-address=127.0.0.1:{port}",
        "--ui-disabled", "--reporting-disabled", "--pprof-disabled", "--log-level=error",
    ], work_dir)
    try:
        wait_until(lambda: _http_status(f"{url}/health") == 200, server, "/health")
        influx = InfluxDB2Server(url=url, org=INFLUX2_ORG, token=INFLUX2_TOKEN)
        response = requests.post(f"{url}/api/v2/setup", timeout=30, json={
            "username": INFLUX2_USER, "password": INFLUX2_PASSWORD, "org": influx.org,
            "bucket": influx.bucket, "token": influx.token, "retentionPeriodSeconds": 0,
        })
        if response.status_code != 201:
            raise RuntimeError(f"influxd setup failed ({response.status_code}): {response.text.strip()}")
    except BaseException:
        server.stop()
        raise
    return server, influx


# ---------------------------------------------------------------------------------------------
# Telegraf

@dataclass(frozen=True)
class TelegrafAgent:
    """A running Telegraf: StatsD on `statsd_port` (UDP), writing to InfluxDB 2 and 1.x."""

    statsd_port: int
    config_path: Path
    process: ServerProcess = field(repr=False)


def _replace_once(text: str, old: str, new: str) -> str:
    """Replace a piece of the generated config that must be there exactly once (drift fails loudly)."""
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"generated telegraf.conf has {count} occurrences of {old!r}, expected 1")
    return text.replace(old, new)


def _drop_section(text: str, header: str) -> str:
    """Remove one `[[...]]` plugin section (up to the next section or comment block)."""
    pattern = re.compile(rf"^{re.escape(header)}\n(?:(?!\[\[|#).*\n|\n)*", re.MULTILINE)
    result, count = pattern.subn("", text)
    if count != 1:
        raise AssertionError(f"generated telegraf.conf has {count} {header} sections, expected 1")
    return result


def loopback_telegraf_conf(generated: str, statsd_port: int, influx1_url: str, influx1_database: str,
                           flush_interval_s: int) -> str:
    """Our generated telegraf.conf, adapted only where a test machine differs from an Airflow host:
    - StatsD listens on loopback on a free port;
    - no `inputs.docker`: there is no Docker daemon on the test machines;
    - the InfluxDB 1.x output (commented out in the generated file) is enabled beside the InfluxDB 2 one;
    - the interval is `flush_interval_s`, so a replay of a compressed timeline gets several flushes."""
    conf = _replace_once(generated, 'service_address = ":8125"', f'service_address = "127.0.0.1:{statsd_port}"')
    conf = _drop_section(conf, "[[inputs.docker]]")
    conf = _replace_once(conf, '  interval = "10s"\n', f'  interval = "{flush_interval_s}s"\n')
    conf = _replace_once(conf, '  flush_interval = "10s"\n', f'  flush_interval = "{flush_interval_s}s"\n')
    conf += f'''
## Added by the tests: InfluxDB 1.x (InfluxQL) beside InfluxDB 2, both fed by this one agent.
[[outputs.influxdb]]
  urls = ["{influx1_url}"]
  database = "{influx1_database}"
  skip_database_creation = false
'''
    return conf


def start_telegraf(work_dir: Path, influx2: InfluxDB2Server, bucket: str, influx1_url: str,
                   influx1_database: str, flush_interval_s: int = 10, mode: str | None = None) -> TelegrafAgent:
    """Start Telegraf on our generated telegraf.conf (see `loopback_telegraf_conf`), in the collectors' `mode`
    (names or tags; the generator's default when None). The caller stops it."""
    from airflow_dash.collectors.telegraf import telegraf_conf

    binary = require_component("telegraf")
    statsd_port = free_udp_port()
    config = work_dir / "telegraf.conf"
    generated = telegraf_conf() if mode is None else telegraf_conf(mode=mode)
    config.write_text(loopback_telegraf_conf(generated, statsd_port, influx1_url, influx1_database,
                                             flush_interval_s))
    influx2.create_bucket(bucket)
    env = {**os.environ, "HOST_NAME": TELEGRAF_HOST, "INFLUXDB_URL": influx2.url, "INFLUXDB_TOKEN": influx2.token,
           "INFLUXDB_ORG": influx2.org, "INFLUXDB_BUCKET": bucket}
    server = start_process("telegraf", [str(binary), "--config", str(config)], work_dir, env=env)
    agent = TelegrafAgent(statsd_port, config, server)
    try:
        wait_until(lambda: _udp_listening(statsd_port), server, f"UDP {statsd_port} (statsd input)")
    except BaseException:
        server.stop()
        raise
    return agent


def _udp_listening(port: int) -> bool:
    """True when some process has bound the UDP port (binding it ourselves then fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="session")
def influxdb_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB2Server]:
    """A real InfluxDB 2 for the session: org `INFLUX2_ORG`, bucket `default`, operator token."""
    work_dir = tmp_path_factory.mktemp("influxdb2")
    process, influx = start_influxdb2(work_dir)
    try:
        yield influx
    finally:
        process.stop()


@pytest.fixture(scope="session")
def statsd_exporter_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], StatsdExporter]]:
    """Factory: `statsd_exporter_factory(mapping_yaml)` starts a real statsd_exporter; all are stopped at the end."""
    started: list[StatsdExporter] = []

    def start(mapping_yaml: str) -> StatsdExporter:
        exporter = start_statsd_exporter(tmp_path_factory.mktemp("statsd_exporter"), mapping_yaml)
        started.append(exporter)
        return exporter

    try:
        yield start
    finally:
        for exporter in started:
            exporter.process.stop()


@pytest.fixture(scope="session")
def telegraf_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., TelegrafAgent]]:
    """Factory: `telegraf_factory(influx2, bucket, influx1_url, database, flush_interval_s=10, mode=None)` starts
    a real Telegraf on our generated telegraf.conf; all are stopped at the end."""
    started: list[TelegrafAgent] = []

    def start(influx2: InfluxDB2Server, bucket: str, influx1_url: str, database: str,
              flush_interval_s: int = 10, mode: str | None = None) -> TelegrafAgent:
        agent = start_telegraf(tmp_path_factory.mktemp("telegraf"), influx2, bucket, influx1_url, database,
                               flush_interval_s, mode)
        started.append(agent)
        return agent

    try:
        yield start
    finally:
        for agent in started:
            agent.process.stop()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll until condition() is true (exceptions count as not yet); fail with `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception as exc:  # noqa: BLE001 - servers answer errors while data is on its way
            last = f" ({type(exc).__name__}: {exc})"
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{last}")
