"""The Airflow dashboards on REAL Airflow StatsD data (Airflow 3 and Airflow 2 captures), through OUR collectors.

- Prometheus: capture → `StatsdExporterMapper` on our generated mapping → statsd_exporter state scraped every
  15 s (see `tests.airflow_pipeline`) → promtool backfill → real Prometheus → `verify_dashboard` on both
  compiled Prometheus dashboards. One backfilled Prometheus per capture, shared by the module.
- InfluxQL: capture → our Telegraf templates (`TelegrafStatsdPipeline`) → Telegraf statsd flushes (10 s) →
  real InfluxDB 1.x (one database per capture) → `verify_dashboard` on both compiled InfluxQL dashboards.
- Flux: the measurements, fields and tags every Flux query uses exist in what the Telegraf pipeline produced.

Every target must return data with at least one finite value. The only exemptions are metrics the capture
genuinely lacks: `MISSING` lists them per capture with the reason, and the test asserts both that no line
of the capture is such a metric (matched against the naming table's patterns) and that exactly the targets
needing them came back empty.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import pytest

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog.airflow_metrics import METRICS, AirflowMetric
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import InfluxQLLive, PrometheusLive, TimeRange, format_results, verify_dashboard
from airflow_dash.live.verify import VARIABLES_ROW
from tests.airflow_pipeline import (
    line_protocol,
    our_prometheus_mapper,
    our_telegraf_mapper,
    prometheus_samples,
    telegraf_points,
)
from tests.servers import openmetrics_from_samples
from tests.statsd_capture import FIXTURE_DIR, Capture, parse_capture

pytestmark = pytest.mark.slow

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"
KEYS = ("airflow-overview", "airflow-dag")
CAPTURES = ("airflow3", "airflow2")

# Naming-table keys a capture does not contain, and why. Asserted against the capture itself.
_NO_TRIGGERER = "no deferrable task ran, so no triggerer was started during the capture"
_NO_KILLS = "no task was killed (no zombie, no external kill) during the capture"
MISSING: dict[str, dict[str, str]] = {
    "airflow3": {
        "triggerer_heartbeat": _NO_TRIGGERER,
        "triggers_running": _NO_TRIGGERER,
        "triggerer_capacity_left": _NO_TRIGGERER,
        "ti_scheduled": "Airflow 3.3.2 sent no ti.scheduled gauge in the capture (only running/queued)",
        "ti_deferred": "no deferrable task ran: no ti.deferred gauge",
        "task_queued_duration": "the Airflow 3.3.2 capture has no dag.<dag>.<task>.queued_duration "
                                "(it sends scheduled_duration only)",
        "zombies_killed": _NO_KILLS,
        "task_instances_without_heartbeats_killed": _NO_KILLS,
        "tasks_killed_externally": _NO_KILLS,
    },
    "airflow2": {
        "triggerer_heartbeat": _NO_TRIGGERER,
        "triggers_running": _NO_TRIGGERER,
        "triggerer_capacity_left": _NO_TRIGGERER,
        "dag_processor_heartbeat": "Airflow 2.10 runs DAG processing inside the scheduler: no dag_processor_heartbeat",
        "task_scheduled_duration": "the Airflow 2.10.5 capture has no dag.<dag>.<task>.scheduled_duration "
                                   "(it sends queued_duration only)",
        "ti_running": "ti.<state> gauges are Airflow 3 only",
        "ti_queued": "ti.<state> gauges are Airflow 3 only",
        "ti_scheduled": "ti.<state> gauges are Airflow 3 only",
        "ti_deferred": "ti.<state> gauges are Airflow 3 only",
        "zombies_killed": _NO_KILLS,
        "task_instances_without_heartbeats_killed": _NO_KILLS,
        "tasks_killed_externally": _NO_KILLS,
    },
}


def capture_path(name: str) -> Path:
    return FIXTURE_DIR / f"{name}.tsv"


@lru_cache(maxsize=None)
def capture(name: str) -> Capture:
    path = capture_path(name)
    if not path.exists():
        pytest.skip(f"{path.name} is not recorded yet (scripts/record-airflow-statsd.sh)")
    return parse_capture(path)


@lru_cache(maxsize=1)
def compiled() -> dict[tuple[str, str], dict]:
    dashboards = [d for d in load_dashboards(DASHBOARDS_DIR) if d.key in KEYS]
    return {(c.name, c.backend): c.model for c in compile_all(dashboards)}


# --- which naming-table metric a query needs, and whether a capture holds it ---------------------------------


def _pattern_regex(metric: AirflowMetric, prefix: str) -> re.Pattern[str]:
    alternatives = []
    for pattern in metric.patterns:
        parts = []
        for part in pattern.parts:
            if part.literal is not None:
                parts.append(re.escape(part.literal))
            else:
                parts.append(re.escape(part.prefix) + r"[^.]+")
        alternatives.append(r"\.".join(parts))
    head = re.escape(prefix) + r"\." if prefix else ""
    return re.compile(head + "(?:" + "|".join(alternatives) + ")")


def capture_has(cap: Capture, key: str) -> bool:
    metric = next(m for m in METRICS if m.key == key)
    regex = _pattern_regex(metric, cap.prefix)
    return any(regex.fullmatch(name) for name in cap.names())


def metrics_in_query(text: str, backend: str) -> set[str]:
    """Naming-table keys whose Prometheus names (PromQL) or Telegraf measurements (InfluxQL/Flux) `text` uses."""
    keys = set()
    for metric in METRICS:
        if backend == "prometheus":
            if metric.prometheus and re.search(rf"\b{re.escape(metric.prometheus_name)}(_sum|_count|_bucket)?\b", text):
                keys.add(metric.key)
        elif metric.telegraf and re.search(rf'"{re.escape(metric.telegraf_measurement)}"', text):
            keys.add(metric.key)
    return keys


@pytest.mark.parametrize("name", CAPTURES)
def test_missing_lists_only_metrics_the_captures_lack(name):
    cap = capture(name)
    for key, reason in MISSING[name].items():
        assert reason.strip()
        assert not capture_has(cap, key), f"{name} does contain {key}: remove it from MISSING"


@pytest.mark.parametrize("name", CAPTURES)
def test_captures_hold_the_core_signals(name):
    """What the dashboards are about must be in every capture, or the real-data tests prove little."""
    core = ("scheduler_heartbeat", "scheduler_loop_duration", "executor_open_slots", "pool_open_slots",
            "ti_finish", "task_duration", "dagrun_duration", "dagrun_schedule_delay", "import_errors",
            "dag_processing_last_duration", "dagbag_size")
    cap = capture(name)
    assert [key for key in core if not capture_has(cap, key)] == [], name


# --- checking verify results -----------------------------------------------------------------------------------


def finite_points(series) -> list[tuple[float, float]]:
    """The (time, value) points of a live result's series that hold a finite number."""
    return [(t, v) for t, v in series.points if v is not None and math.isfinite(v)]


def has_finite_values(result) -> bool:
    """Whether what the target returned (its series, as the panel asked for them) holds a finite number."""
    return any(finite_points(series) for series in result.series)


def check_results(results, backend: str, cap_name: str,
                  missing: dict[str, str] | None = None) -> tuple[list[str], list[tuple]]:
    """(problems, exemptions): errors and targets without finite data that no MISSING metric explains; and the
    targets without data that are explained, with their reasons. `missing` replaces `MISSING[cap_name]`."""
    missing = MISSING[cap_name] if missing is None else missing
    problems, exempt = [], []
    for result in results:
        if result.status == "error":
            problems.append(f"ERROR {result.row_title}/{result.panel_title}/{result.ref_id}: {result.error}")
            continue
        if result.row_title == VARIABLES_ROW:
            if result.status != "ok":
                problems.append(f"variable {result.panel_title} found no values: {result.interpolated}")
            continue
        needed = metrics_in_query(result.query, backend)
        assert needed, f"{result.panel_title}: query uses no Airflow metric we know: {result.query}"
        lacking = {key: missing[key] for key in needed if key in missing}
        has_data = result.status == "ok" and has_finite_values(result)
        if has_data:
            continue
        if lacking and len(lacking) == len(needed):
            exempt.append((result.panel_title, result.ref_id, sorted(set(lacking.values()))))
            continue
        problems.append(f"NO DATA {result.row_title}/{result.panel_title}/{result.ref_id} "
                        f"(needs {sorted(needed)}): {result.interpolated}")
    return problems, exempt


def assert_verified(results, backend: str, cap_name: str, missing: dict[str, str] | None = None) -> None:
    missing = MISSING[cap_name] if missing is None else missing
    problems, exempt = check_results(results, backend, cap_name, missing)
    assert not problems, "\n".join(problems) + "\n\n" + format_results(results)
    for title, ref_id, reasons in exempt:
        assert reasons and all(reason in missing.values() for reason in reasons), (title, ref_id)
    # No panel may be exempt as a whole when the capture has any of what it shows.
    ok_panels = {r.panel_title for r in results if r.status == "ok"}
    print(f"{cap_name}/{backend}: {len(ok_panels)} panels with data; exempt targets: {exempt}")


# --- Prometheus ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_for(prometheus_backfilled):  # noqa: F811 - fixture
    """capture name -> (PrometheusServer, TimeRange), one backfilled Prometheus per capture."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            cap = capture(name)
            samples, start, end = prometheus_samples(cap, our_prometheus_mapper(cap.prefix))
            server = prometheus_backfilled(openmetrics_from_samples(samples))
            cache[name] = (server, TimeRange(start - 60, end + 60))
        return cache[name]

    return get


@pytest.mark.parametrize("cap_name", CAPTURES)
@pytest.mark.parametrize("key", KEYS)
def test_prometheus_dashboards_on_real_airflow_data(prometheus_for, cap_name, key):
    server, time_range = prometheus_for(cap_name)
    results = verify_dashboard(compiled()[(key, "prometheus")], PrometheusLive(server.url, scrape_interval="15s"),
                               time_range)
    assert_verified(results, "prometheus", cap_name)


# --- InfluxDB 1.x (InfluxQL) -------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def telegraf_output(name: str):
    cap = capture(name)
    return telegraf_points(cap, our_telegraf_mapper(cap.prefix))


@pytest.fixture(scope="module")
def influx_for(influxdb_v1):  # noqa: F811 - fixture
    written: dict[str, TimeRange] = {}

    def get(name: str):
        if name not in written:
            points, start, end = telegraf_output(name)
            lines = line_protocol(points)
            influxdb_v1.write(name, lines)
            written[name] = TimeRange(start - 60, end + 60)
        return influxdb_v1, written[name]

    return get


@pytest.mark.parametrize("cap_name", CAPTURES)
@pytest.mark.parametrize("key", KEYS)
def test_influxql_dashboards_on_real_airflow_data(influx_for, cap_name, key):
    server, time_range = influx_for(cap_name)
    source = InfluxQLLive(server.url, cap_name, min_interval="10s")  # the Telegraf flush interval
    results = verify_dashboard(compiled()[(key, "influxql")], source, time_range)
    assert_verified(results, "influxql", cap_name)


# --- Flux: the schema the queries use exists in the Telegraf output ---------------------------------------------

_MEASUREMENT = re.compile(r'r\._measurement == "([^"]+)"')
_FIELD = re.compile(r'r\._field == "([^"]+)"')
_TAG_FILTER = re.compile(r"\br\.([a-zA-Z_][a-zA-Z0-9_]*) *(?:==|=~|!=|!~)")
_GROUP = re.compile(r"group\(columns: \[([^\]]*)\]")
_TAG_VALUES = re.compile(r'schema\.tagValues\([^)]*tag: "([^"]+)"')


def telegraf_schema(names) -> dict[str, tuple[set[str], set[str]]]:
    schema: dict[str, tuple[set[str], set[str]]] = {}
    for name in names:
        points, _, _ = telegraf_output(name)
        for measurement, tags, fields, _ in points:
            tag_keys, field_keys = schema.setdefault(measurement, (set(), set()))
            tag_keys.update(tags)
            field_keys.update(fields)
    return schema


@pytest.mark.parametrize("cap_name", CAPTURES)
def test_flux_queries_use_what_telegraf_wrote(cap_name):
    schema = telegraf_schema([cap_name])
    every_tag = {m: tags for m, (tags, _) in telegraf_schema(CAPTURES).items()}
    missing = MISSING[cap_name]
    problems = []
    dashboards = [d for d in load_dashboards(DASHBOARDS_DIR) if d.key in KEYS]
    flux_queries = [q for c in compile_all(dashboards, ["flux"]) for q in c.queries]
    assert flux_queries
    for query in flux_queries:
        key, text = query.dashboard, query.text
        measurements = _MEASUREMENT.findall(text)
        assert measurements, f"{query.panel}: no measurement in {text}"
        for measurement in measurements:
            if measurement not in schema:
                needed = metrics_in_query(f'"{measurement}"', "flux")
                if needed and all(k in missing for k in needed):
                    continue  # exempt: the capture lacks the metric (asserted in MISSING's test)
                problems.append(f"{key}/{query.panel}: measurement {measurement} not written")
                continue
            tag_keys, field_keys = schema[measurement]
            for field_name in _FIELD.findall(text):
                if field_name not in field_keys:
                    problems.append(f"{key}/{query.panel}: {measurement} has no field {field_name}")
            # A filtered tag must be in this capture's data, or the filter drops everything.
            used = set(_TAG_FILTER.findall(text)) - {"_measurement", "_field", "_value"}
            used |= set(_TAG_VALUES.findall(text))
            for tag in sorted(used - tag_keys):
                problems.append(f"{key}/{query.panel}: {measurement} has no tag {tag}")
            # A group column may be absent (Flux groups it as null: Airflow 2 sends no per-executor gauge),
            # but some capture must have it, or it is a typo.
            grouped = set()
            for group in _GROUP.findall(text):
                grouped |= {c.strip().strip('"') for c in group.split(",") if c.strip()}
            grouped -= {"_field", "_measurement"}  # InfluxDB's own columns, not tags (divide_by groups by _field)
            for tag in sorted(grouped - every_tag.get(measurement, set())):
                problems.append(f"{key}/{query.panel}: no capture has tag {tag} on {measurement}")
    assert not problems, "\n".join(problems)


def test_every_backend_is_covered():
    assert {b for _, b in compiled()} == set(BACKENDS)
