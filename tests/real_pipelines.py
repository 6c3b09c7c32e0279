"""The real pipelines, replayed once per session (a pytest plugin: tests/conftest.py lists it).

`pipelines` replays every capture live through both real pipelines at once (see tests/test_real_pipelines.py for
what they are) and yields, per capture, where it landed and the servers holding it; `sources(p, backend)` gives
the live datasource of a backend (what it returns carries its points). Shared by the tests of every panel on
every backend and by the cross-backend equivalence table (tests/test_equivalence.py).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import pytest

from airflow_dash.catalog.airflow_metrics import NAMES, TAGS
from airflow_dash.collectors.prometheus import prometheus_config
from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import FluxLive, InfluxQLLive, PrometheusLive, TimeRange
from tests.components import TELEGRAF_HOST, InfluxDB2Server, wait_for
from tests.servers import PrometheusServer, ServerProcess, start_prometheus
from tests.statsd_capture import FIXTURE_DIR, parse_capture
from tests.statsd_replay import ReplayWindow, capture_lines, replay
from tests.test_real_data_airflow import DASHBOARDS_DIR, MISSING

SPEEDUP = 8.0
FLUSH_S = 10  # the generated telegraf.conf's interval and flush_interval, kept as generated
SCRAPE = "1s"  # the generated prometheus.yml's interval, shortened for a replay of a minute
# Capture -> the collectors' mode it needs: plain StatsD names, or Airflow's InfluxDB-style tags (recommended).
REPLAYS = {"airflow3": NAMES, "airflow2": NAMES, "airflow3-influxdb-tags": TAGS, "airflow2-influxdb-tags": TAGS}
TAGGED = tuple(name for name, mode in REPLAYS.items() if mode == TAGS)
# What the tagged captures lack, and why (asserted against each capture below); the plain ones: MISSING.
_NO_KILLS = MISSING["airflow3"]["zombies_killed"]
_KILLS = ("zombies_killed", "task_instances_without_heartbeats_killed", "tasks_killed_externally")
MISSING_TAGGED: dict[str, dict[str, str]] = {
    "airflow3-influxdb-tags": {
        **{key: _NO_KILLS for key in _KILLS},
        "ti_scheduled": MISSING["airflow3"]["ti_scheduled"],
        "task_queued_duration": MISSING["airflow3"]["task_queued_duration"],
    },
    "airflow2-influxdb-tags": {
        **{key: _NO_KILLS for key in _KILLS},
        **{key: MISSING["airflow2"][key] for key in ("dag_processor_heartbeat", "task_scheduled_duration",
                                                    "ti_running", "ti_queued", "ti_scheduled", "ti_deferred")},
        "triggerer_capacity_left": "Airflow 2.10.5 sent no triggerer.capacity_left gauge although its triggerer "
                                   "ran (triggers.running is in the capture)",
    },
}


def missing_in(cap_name: str) -> dict[str, str]:
    return MISSING_TAGGED[cap_name] if cap_name in MISSING_TAGGED else MISSING[cap_name]
AIRFLOW_KEYS = ("airflow-overview", "airflow-dag")
SYSTEM_KEYS = ("system", "docker")  # compiled together: System links to Docker


@dataclass(frozen=True)
class Pipelines:
    """One capture, replayed: where it landed, and the servers that hold it."""

    name: str
    mode: str
    window: ReplayWindow
    prometheus: PrometheusServer
    exporter_metrics: str
    influx2: InfluxDB2Server
    bucket: str
    influx1_url: str
    database: str

    @property
    def exporter_lines(self) -> float:
        """StatsD lines statsd_exporter received (its own count): fewer than `window.lines` when loopback UDP
        dropped some (a receive buffer overflowing on a loaded machine)."""
        return sum(float(line.rsplit(" ", 1)[1]) for line in self.exporter_metrics.splitlines()
                   if line.startswith("statsd_exporter_lines_total"))

    @property
    def time_range(self) -> TimeRange:
        # The replayed minute, with a minute either side: a panel whose interval is 1m is evaluated on a 1m grid
        # aligned to the clock, and a range as short as the replay may hold no grid point after its first line.
        return TimeRange(self.window.start - 60, self.window.end + 60)


@lru_cache(maxsize=None)
def compiled(keys: tuple[str, ...]) -> dict[tuple[str, str], dict]:
    dashboards = [d for d in load_dashboards(DASHBOARDS_DIR) if d.key in keys]
    return {(c.name, c.backend): c.model for c in compile_all(dashboards)}


def _latest_statsd_time_v2(influx2: InfluxDB2Server, bucket: str) -> float:
    rows = influx2.query_rows(f'from(bucket: "{bucket}") |> range(start: -1h)'
                              ' |> filter(fn: (r) => exists r.metric_type) |> keep(columns: ["_time"])'
                              ' |> max(column: "_time")')
    return max((_rfc3339(r["_time"]) for r in rows if r.get("_time")), default=0.0)


def _rfc3339(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _prometheus_yaml(mode: str, statsd_target: str, node_target: str) -> str:
    """Our generated prometheus.yml (its statsd job: honor_labels, tags-mode relabeling), scraping every second
    (a replay lasts a minute), without the cAdvisor job (no Docker here)."""
    import yaml

    config = prometheus_config({"statsd": statsd_target, "node": node_target}, interval=SCRAPE,
                               host_name=TELEGRAF_HOST, mode=mode)
    config["global"]["scrape_timeout"] = SCRAPE
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] != "cadvisor"]
    assert len(config["scrape_configs"]) == 2, config
    return yaml.safe_dump(config)


@pytest.fixture(scope="session")
def pipelines(statsd_exporter_factory, telegraf_factory, influxdb_v2, influxdb_v1, node_exporter,
              tmp_path_factory) -> dict[str, Pipelines]:
    """Every capture replayed live through both real pipelines at once (session scope: one replay, ~2 min, for all
    the tests that read it)."""
    started: list[ServerProcess] = []
    setups = {}
    for name, mode in REPLAYS.items():
        path = FIXTURE_DIR / f"{name}.tsv"
        if not path.exists():
            pytest.skip(f"{path.name} is not recorded yet (scripts/record-airflow-statsd.sh)")
        exporter = statsd_exporter_factory(statsd_mapping_yaml(parse_capture(path).prefix, mode))
        bucket = database = "replay_" + name.replace("-", "_")
        agent = telegraf_factory(influxdb_v2, bucket, influxdb_v1.url, database, flush_interval_s=FLUSH_S, mode=mode)
        work_dir = tmp_path_factory.mktemp(f"prometheus_{name}")
        process, prometheus = start_prometheus(work_dir, work_dir / "data", config_text=_prometheus_yaml(
            mode, exporter.target, node_exporter.removeprefix("http://")))
        started.append(process)
        setups[name] = (path, exporter, agent, prometheus, bucket, database)

    windows: dict[str, ReplayWindow] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        path, exporter, agent, *_ = setups[name]
        try:
            windows[name] = replay(capture_lines(path), [("127.0.0.1", exporter.statsd_port),
                                                         ("127.0.0.1", agent.statsd_port)], SPEEDUP)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in REPLAYS]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        for name, (path, exporter, agent, prometheus, bucket, database) in setups.items():
            window = windows[name]
            # Telegraf stamps a flush with its gather time: the flush holding the last line is after it.
            wait_for(lambda: _latest_statsd_time_v2(influxdb_v2, bucket) >= window.end,
                     f"{name}: Telegraf's flush after the last line, in InfluxDB 2", timeout_s=4 * FLUSH_S)
        # The same flush goes to InfluxDB 1.x; statsd_exporter applies events in batches (200 ms) and
        # Prometheus scrapes every second: a short pause covers all three.
        time.sleep(3)
        result = {}
        for name, (path, exporter, agent, prometheus, bucket, database) in setups.items():
            agent.process.check_alive()
            exporter.process.check_alive()
            result[name] = Pipelines(name, REPLAYS[name], windows[name], prometheus, exporter.metrics_text(), influxdb_v2, bucket,
                                     influxdb_v1.url, database)
            # Everything is in: stop the exporter, so what Prometheus holds no longer grows while the tests read it
            # (a constant counter scraped on and on changes rate()'s extrapolation, tests/test_equivalence.py).
            # Its series then go stale: the last values are before this moment, inside every time range.
            exporter.process.stop()
        yield result
    finally:
        for process in started:
            process.stop()


# --- the live datasources ----------------------------------------------------------------------------------


def sources(p: Pipelines, backend: str) -> FluxLive | InfluxQLLive | PrometheusLive:
    """The live datasource of `backend` over what `p` landed in, with the collectors' intervals."""
    if backend == "prometheus":
        return PrometheusLive(p.prometheus.url, scrape_interval=SCRAPE)
    if backend == "influxql":
        return InfluxQLLive(p.influx1_url, p.database, min_interval=f"{FLUSH_S}s")
    return FluxLive(p.influx2.url, p.influx2.org, p.influx2.token, bucket=p.bucket, min_interval=f"{FLUSH_S}s")


# --- report sections printed at the end of the test run ---------------------------------------------------------

_REPORTS: list[tuple[str, str]] = []


def report(title: str, text: str) -> None:
    """Print `text` under `title` in the terminal summary, and keep it in `<basetemp>/reports/`."""
    _REPORTS.append((title, text))


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    for title, text in _REPORTS:
        terminalreporter.write_sep("=", title)
        terminalreporter.write_line(text)
    if _REPORTS:
        directory = config._tmp_path_factory.getbasetemp() / "reports"  # noqa: SLF001 - pytest's own temp root
        directory.mkdir(parents=True, exist_ok=True)
        for index, (title, text) in enumerate(_REPORTS):
            path = directory / f"{index:02d}-{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')[:60]}.txt"
            path.write_text(title + "\n\n" + text + "\n")
            terminalreporter.write_line(f"(written to {path})")
