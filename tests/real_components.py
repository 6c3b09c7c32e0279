"""The real collector binaries for tests: found by the project's installer, started on loopback, stopped after.

`component(name)` asks `scripts/install-components.sh --path NAME` for the cached binary (`make setup` builds it);
`AIRFLOW_DASH_<NAME>` (e.g. AIRFLOW_DASH_STATSD_EXPORTER) points at another build of the same version.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "scripts" / "install-components.sh"


def component(name: str) -> str:
    override = os.environ.get(f"AIRFLOW_DASH_{name.upper()}")
    if override:
        return override
    if not INSTALLER.exists():
        pytest.skip("scripts/install-components.sh (the real collectors' installer) is not in this checkout")
    result = subprocess.run(["bash", str(INSTALLER), "--path", name], capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(f"{name} is not installed: run `make setup` ({result.stderr.strip()})")
    return result.stdout.strip()


def send_tcp(port: int, lines: list[str]) -> None:
    """StatsD over TCP (newline separated): nothing is lost, unlike a burst of UDP datagrams."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(("\n".join(lines) + "\n").encode())


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus text exposition: (sample name, labels, value) per sample line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise ValueError(f"unparsable exposition line {line!r}")
        labels = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in _LABEL.findall(match.group(2) or "")}
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples
