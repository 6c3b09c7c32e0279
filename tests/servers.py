"""Real Prometheus and node_exporter servers for tests (pytest fixtures, session scope).

Every server runs on a free loopback port with its own temporary data directory, in its own
process group, and is stopped in a finalizer (SIGTERM, then SIGKILL) even when a test fails.
On Linux the children also get PR_SET_PDEATHSIG so a killed pytest takes them down with it.

tests/conftest.py registers this module as a plugin (`pytest_plugins`), so tests just name the
fixtures; do not also import them into a test module, or session fixtures start twice.

OpenMetrics notes for `openmetrics_from_samples` (checked with promtool 2.42):
- the text must end with `# EOF`; timestamps are seconds (floats allowed);
- `promtool tsdb create-blocks-from openmetrics` accepts a counter sample without the `_total`
  suffix, but the OpenMetrics spec requires it, so the helper always writes `<family>_total`;
- label values escape backslash, double quote and newline (`\\\\`, `\\"`, `\\n`), nothing else;
- Prometheus serves the backfilled blocks only if they are inside retention (default 15d), so
  keep sample timestamps within the last few days.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCRAPE_INTERVAL_S = 1
MIN_SCRAPES = 4  # rate() needs two samples in its window; a few more make short windows reliable
STARTUP_TIMEOUT_S = 30.0

# Collectors the dashboards use; the rest (and their noise/slowness) stay off.
NODE_EXPORTER_COLLECTORS = (
    "filefd",
    "cpu", "meminfo", "filesystem", "diskstats", "netdev", "loadavg",
    "uname", "time", "stat", "vmstat", "pressure",
)


# ---------------------------------------------------------------------------------------------
# process handling

WRITE_BATCH = 5000  # line-protocol lines per write request: a long list (a whole capture) goes in several


def line_protocol_bodies(lines: str | Sequence[str]) -> list[str]:
    """The request bodies that write `lines`: a text as it is, a list in batches of WRITE_BATCH lines."""
    if isinstance(lines, str) or len(lines) <= WRITE_BATCH:
        return [lines if isinstance(lines, str) else "\n".join(lines)]
    return ["\n".join(lines[i:i + WRITE_BATCH]) for i in range(0, len(lines), WRITE_BATCH)]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # Runs in the child before exec: if pytest is SIGKILLed, the kernel kills the server too.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


@dataclass(frozen=True)
class ServerProcess:
    """A started server: its process (own process group) and where its output goes."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        """SIGTERM the whole process group, SIGKILL it if it does not exit in time."""
        if self.process.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # The leader may be gone while children of its group live on.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start_process(name: str, argv: Sequence[str], log_dir: Path,
                  env: Mapping[str, str] | None = None) -> ServerProcess:
    """Start argv in a new session (own process group) with output in log_dir/<name>.log."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            env=dict(env) if env is not None else None,
            cwd=log_dir,
        )
    return ServerProcess(name, process, log_path)


def wait_until(
    condition: Callable[[], bool], server: ServerProcess, what: str,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> None:
    """Poll condition (exceptions count as "not yet") until true; fail with the server log."""
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if condition():
                return
        except Exception as exc:  # noqa: BLE001 - a server that is starting refuses connections
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name}: timed out after {timeout_s:.0f}s waiting for {what} {last_error}\n"
        f"{server.log_tail()}"
    )


def _http_ok(url: str) -> bool:
    import requests

    return requests.get(url, timeout=2).status_code == 200


# ---------------------------------------------------------------------------------------------
# Prometheus

class PrometheusQueryError(RuntimeError):
    """Prometheus answered a query with status "error"."""


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus: its base URL and thin query helpers returning the `data` object."""

    url: str
    data_dir: Path

    def _get(self, path: str, params: Mapping[str, Any]) -> dict:
        import requests

        response = requests.get(f"{self.url}{path}", params=dict(params), timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusQueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, time: float | None = None) -> dict:
        """Instant query; returns `{"resultType": ..., "result": [...]}`."""
        params: dict[str, Any] = {"query": expr}
        if time is not None:
            params["time"] = time
        return self._get("/api/v1/query", params)

    def query_range(self, expr: str, start: float, end: float, step: float | str) -> dict:
        """Range query (start/end in unix seconds, step in seconds or a duration)."""
        return self._get(
            "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step}
        )

    def series(self, match: str, start: float | None = None, end: float | None = None) -> list:
        params: dict[str, Any] = {"match[]": match}
        if start is not None:
            params["start"] = start
        if end is not None:
            params["end"] = end
        return self._get("/api/v1/series", params)


def _write_prometheus_config(path: Path, scrape_targets: Iterable[str]) -> None:
    targets = list(scrape_targets)
    lines = [
        "global:",
        f"  scrape_interval: {SCRAPE_INTERVAL_S}s",
        f"  evaluation_interval: {SCRAPE_INTERVAL_S}s",
    ]
    if targets:
        lines += [
            "scrape_configs:",
            "  - job_name: node",
            f"    scrape_interval: {SCRAPE_INTERVAL_S}s",
            f"    scrape_timeout: {SCRAPE_INTERVAL_S}s",
            "    static_configs:",
            "      - targets: [" + ", ".join(f'"{t}"' for t in targets) + "]",
        ]
    path.write_text("\n".join(lines) + "\n")


def start_prometheus(
    work_dir: Path, data_dir: Path, scrape_targets: Iterable[str] = (), config_text: str | None = None,
) -> tuple[ServerProcess, PrometheusServer]:
    """Start Prometheus on data_dir and wait for /-/ready. The caller must stop the process.
    `config_text` replaces the default config (one job scraping `scrape_targets` every second)."""
    config = work_dir / "prometheus.yml"
    if config_text is None:
        _write_prometheus_config(config, scrape_targets)
    else:
        config.write_text(config_text)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_process(
        "prometheus",
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
            # The Debian build looks for consoles under /etc; they are not needed.
            f"--web.console.templates={work_dir}",
            f"--web.console.libraries={work_dir}",
        ],
        work_dir,
    )
    try:
        wait_until(lambda: _http_ok(f"{url}/-/ready"), server, "/-/ready")
    except BaseException:
        server.stop()
        raise
    return server, PrometheusServer(url=url, data_dir=data_dir)


# ---------------------------------------------------------------------------------------------
# OpenMetrics text for backfilling

Sample = tuple[str, Mapping[str, str], str, Sequence[tuple[float, float]]]

_FAMILY_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}


def escape_label_value(value: str) -> str:
    """OpenMetrics label value escaping: backslash, double quote and newline only."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _format_timestamp(ts: float) -> str:
    # Integers stay integers; fractions of a second are allowed by OpenMetrics.
    return str(int(ts)) if float(ts).is_integer() else repr(float(ts))


def _family_and_sample_name(name: str, metric_type: str) -> tuple[str, str]:
    if metric_type == "counter":
        family = name[: -len("_total")] if name.endswith("_total") else name
        return family, f"{family}_total"
    for suffix in _FAMILY_SUFFIXES.get(metric_type, ()):
        if name.endswith(suffix):
            return name[: -len(suffix)], name
    return name, name


def openmetrics_from_samples(samples: Iterable[Sample]) -> str:
    """Render samples as an OpenMetrics text that `promtool tsdb create-blocks-from` accepts.

    Each sample is `(metric_name, labels, type, [(ts_seconds, value), ...])` with type one of
    counter, gauge, summary, histogram, gaugehistogram, info, stateset, unknown. Counters are
    written as `<family>_total` whether or not metric_name has the suffix; summary/histogram
    series give the full sample name (`x_sum`, `x_count`, `x` with a `quantile` label,
    `x_bucket` with `le`). Series of one family are grouped under a single `# TYPE` line and
    points are written in time order, as OpenMetrics requires.
    """
    families: dict[str, tuple[str, list[str]]] = {}
    for name, labels, metric_type, points in samples:
        family, sample_name = _family_and_sample_name(name, metric_type)
        known_type, lines = families.setdefault(family, (metric_type, []))
        if known_type != metric_type:
            raise ValueError(f"metric family {family!r} has two types: {known_type}, {metric_type}")
        label_text = ",".join(
            f'{key}="{escape_label_value(str(value))}"' for key, value in sorted(labels.items())
        )
        selector = f"{sample_name}{{{label_text}}}" if label_text else sample_name
        for ts, value in sorted(points, key=lambda point: point[0]):
            lines.append(f"{selector} {_format_value(value)} {_format_timestamp(ts)}")
    out: list[str] = []
    for family, (metric_type, lines) in families.items():
        out.append(f"# TYPE {family} {metric_type}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="session")
def node_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prometheus-node-exporter on a free port; yields its base URL (metrics at /metrics)."""
    work_dir = tmp_path_factory.mktemp("node_exporter")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        shutil.which("prometheus-node-exporter") or "prometheus-node-exporter",
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in NODE_EXPORTER_COLLECTORS),
    ]
    server = start_process("node_exporter", argv, work_dir)
    try:
        wait_until(lambda: _http_ok(f"{url}/metrics"), server, "/metrics")
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prometheus_live(
    node_exporter: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping `node_exporter` every second, with a few scrapes stored."""
    work_dir = tmp_path_factory.mktemp("prometheus_live")
    target = node_exporter.removeprefix("http://")
    process, prometheus = start_prometheus(work_dir, work_dir / "data", [target])
    try:
        def enough_scrapes() -> bool:
            result = prometheus.query('count_over_time(up{job="node"}[5m])')["result"]
            return bool(result) and float(result[0]["value"][1]) >= MIN_SCRAPES

        wait_until(enough_scrapes, process, f"{MIN_SCRAPES} scrapes of node_exporter")
        yield prometheus
    finally:
        process.stop()


@pytest.fixture(scope="session")
def prometheus_backfilled(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrometheusServer]]:
    """Factory: `prometheus_backfilled(openmetrics_text)` backfills the text with promtool into a
    fresh data dir and starts a Prometheus (no scrape targets) serving it. All servers started
    through the factory are stopped at the end of the session."""
    started: list[ServerProcess] = []

    def start(openmetrics_text: str) -> PrometheusServer:
        if not openmetrics_text.rstrip().endswith("# EOF"):
            raise ValueError("OpenMetrics text must end with '# EOF'")
        work_dir = tmp_path_factory.mktemp("prometheus_backfilled")
        input_path = work_dir / "input.om"
        input_path.write_text(openmetrics_text)
        data_dir = work_dir / "data"
        data_dir.mkdir()
        promtool = subprocess.run(
            [shutil.which("promtool") or "promtool", "tsdb", "create-blocks-from", "openmetrics",
             str(input_path), str(data_dir)],
            capture_output=True, text=True, timeout=120, start_new_session=True,
        )
        if promtool.returncode != 0:
            raise RuntimeError(
                f"promtool create-blocks-from failed ({promtool.returncode}): "
                f"{promtool.stderr.strip() or promtool.stdout.strip()}"
            )
        process, prometheus = start_prometheus(work_dir, data_dir)
        started.append(process)
        return prometheus

    try:
        yield start
    finally:
        for process in started:
            process.stop()
