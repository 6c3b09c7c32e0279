"""The real pipelines, fed live with the real Airflow StatsD captures (tests/fixtures/statsd/*.tsv) over UDP.

- capture → real statsd_exporter on our generated mapping → real Prometheus on our generated prometheus.yml
  (statsd job with honor_labels and the tags-mode relabeling; node_exporter job; no cAdvisor: no Docker here);
- capture → real Telegraf on our generated telegraf.conf (statsd + system inputs; no inputs.docker, there is no
  Docker daemon on the test machines) → real InfluxDB 2 (Flux) and real InfluxDB 1.x (InfluxQL) at once.

Four captures: Airflow 3 and 2 in plain StatsD (collectors in names mode) and with InfluxDB-style tags
(TaskGroups, a dotted dag id, retries, a deferral; collectors in tags mode, the recommended one). All are
replayed at the same time, each to its own exporter and Telegraf, with the capture's timeline compressed
`SPEEDUP` times (order kept, every gap divided), then every bundled Airflow dashboard is verified on every
backend and the System dashboard on Flux and InfluxQL, over the replayed window: each target must return
finite data, and the only exemptions are the metrics a capture lacks (`MISSING` in
tests/test_real_data_airflow.py and `MISSING_TAGGED` here, both asserted against the captures). The
test-grade evaluators of collector semantics (`StatsdExporterMapper` with the scrape model of
tests/airflow_pipeline.py, `TelegrafStatsdPipeline` with its flush model; names mode) are checked against what
the real binaries made of the same lines.
"""

from __future__ import annotations

import math

import pytest

from airflow_dash.live import FluxLive, format_results, verify_dashboard
from airflow_dash.catalog.airflow_metrics import TAGS
from airflow_dash.live.verify import VARIABLES_ROW, resolve_variables
from tests.airflow_pipeline import our_prometheus_mapper, our_telegraf_mapper, prometheus_samples, telegraf_points
from tests.components import TELEGRAF_HOST
from tests.real_components import parse_exposition
from tests.real_pipelines import (
    AIRFLOW_KEYS, FLUSH_S, MISSING_TAGGED, REPLAYS, SYSTEM_KEYS, TAGGED, Pipelines, compiled, missing_in, sources,
)
from tests.statsd_capture import FIXTURE_DIR, parse_capture
from tests.test_real_data_airflow import CAPTURES, assert_verified, capture_has, check_results, has_finite_values

pytestmark = pytest.mark.slow

@pytest.mark.parametrize("cap_name", TAGGED)
def test_missing_tagged_lists_only_metrics_the_captures_lack(cap_name):
    cap = parse_capture(FIXTURE_DIR / f"{cap_name}.tsv").plain()  # the names Airflow sends under the tags
    for key, reason in MISSING_TAGGED[cap_name].items():
        assert reason.strip()
        assert not capture_has(cap, key), f"{cap_name} does contain {key}: remove it from MISSING_TAGGED"


# --- every Airflow panel on every backend -------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["prometheus", "flux", "influxql"])
@pytest.mark.parametrize("cap_name", REPLAYS)
@pytest.mark.parametrize("key", AIRFLOW_KEYS)
def test_airflow_dashboards_on_the_real_pipelines(pipelines, cap_name, key, backend):
    p = pipelines[cap_name]
    results = verify_dashboard(compiled(AIRFLOW_KEYS)[(key, backend)], sources(p, backend), p.time_range)
    assert_verified(results, backend, cap_name, missing_in(cap_name))


# --- every System panel on the Telegraf backends (real system inputs of this host) ----------------------------


@pytest.mark.parametrize("backend", ["flux", "influxql"])
def test_system_dashboard_on_real_telegraf(pipelines, backend):
    p = pipelines[CAPTURES[0]]
    results = verify_dashboard(compiled(SYSTEM_KEYS)[("system", backend)], sources(p, backend), p.time_range)
    empty = [f"{r.row_title}/{r.panel_title}/{r.ref_id}: {r.status} {r.error or ''} {r.interpolated}"
             for r in results if r.status != "ok" or (r.row_title != VARIABLES_ROW and not has_finite_values(r))]
    assert empty == [], "\n".join(empty) + "\n\n" + format_results(results)


def test_the_checks_fail_on_an_empty_bucket(pipelines, influxdb_v2):
    """The same verification, pointed at a bucket Telegraf never wrote to, reports every Airflow target."""
    p = pipelines[CAPTURES[0]]
    influxdb_v2.create_bucket("empty")
    empty = FluxLive(p.influx2.url, p.influx2.org, p.influx2.token, bucket="empty", min_interval=f"{FLUSH_S}s")
    results = verify_dashboard(compiled(AIRFLOW_KEYS)[("airflow-overview", "flux")], empty, p.time_range)
    targets = [r for r in results if r.row_title != VARIABLES_ROW]
    problems, exempt = check_results(results, "flux", p.name)
    assert targets and len(problems) >= len(targets) - len(exempt), problems


# --- the test-grade evaluators against the real binaries, on the same lines ---------------------------------

def _assert_same_series(model: dict, real: dict) -> None:
    made_up, missed = sorted(set(model) - set(real)), sorted(set(real) - set(model))
    assert (made_up, missed) == ([], []), (
        "series only the evaluator has:\n  " + "\n  ".join(map(str, made_up))
        + "\nseries only the real binary has:\n  " + "\n  ".join(map(str, missed)))


_OWN_METRICS = ("statsd_exporter_", "statsd_metric_mapper_", "go_", "process_", "promhttp_")


def _prom_key(name: str, labels: dict[str, str]) -> tuple:
    # le / quantile are numbers: client_golang writes 1 where Python writes 1.0. An empty label is no label
    # once Prometheus ingests it (the exporter exposes `executor=""`, the stored series has no `executor`).
    norm = {k: (repr(float(v)) if k in ("le", "quantile") and v != "+Inf" else v)
            for k, v in labels.items() if v != ""}
    return name, tuple(sorted(norm.items()))


@pytest.mark.parametrize("cap_name", CAPTURES)
def test_statsd_exporter_evaluator_agrees_with_the_real_exporter(pipelines, cap_name):
    """`StatsdExporterMapper` + the scrape model (tests/airflow_pipeline.py) vs real statsd_exporter, final state."""
    p = pipelines[cap_name]
    real_samples = parse_exposition(p.exporter_metrics)
    lines = sum(v for n, _, v in real_samples if n == "statsd_exporter_lines_total")
    assert lines == p.window.lines, "UDP lost lines on loopback: the comparison below would be meaningless"
    real = {_prom_key(n, labels): v for n, labels, v in real_samples if not n.startswith(_OWN_METRICS)}
    cap = parse_capture(FIXTURE_DIR / f"{cap_name}.tsv")
    evaluated, _, _ = prometheus_samples(cap, our_prometheus_mapper(cap.prefix))
    model = {_prom_key(name, labels): points[-1][1] for name, labels, _, points in evaluated}
    _assert_same_series(model, real)
    # Quantiles are client_golang's CKMS estimates over a sliding window: only the series are compared.
    differ = {key: (model[key], real[key]) for key in model
              if not any(k == "quantile" for k, _ in key[1])
              and not math.isclose(model[key], real[key], rel_tol=1e-9, abs_tol=1e-9)}
    assert differ == {}


def _flux_series(p: Pipelines, fn: str, field_filter: str) -> dict[tuple, float]:
    flux = (f'from(bucket: "{p.bucket}") |> range(start: {int(p.time_range.start)}, stop: {int(p.time_range.end) + 60})'
            f' |> filter(fn: (r) => exists r.metric_type and {field_filter}) |> {fn}()')
    out = {}
    for row in p.influx2.query_rows(flux):
        tags = {k: v for k, v in row.items()
                if k not in ("", "result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement",
                             "host") and v != ""}
        out[(row["_measurement"], row["_field"], tuple(sorted(tags.items())))] = float(row["_value"])
    return out


def _evaluated_series(cap_name: str, fn: str, kind: str, field_names: tuple[str, ...] | None) -> dict[tuple, float]:
    cap = parse_capture(FIXTURE_DIR / f"{cap_name}.tsv")
    points, _, _ = telegraf_points(cap, our_telegraf_mapper(cap.prefix), host=TELEGRAF_HOST)
    out: dict[tuple, float] = {}
    for measurement, tags, fields, _ in sorted(points, key=lambda point: point[3]):
        if tags.get("metric_type") != kind:
            continue
        key_tags = tuple(sorted((k, v) for k, v in tags.items() if k != "host"))
        for field_name, value in fields.items():
            if field_names is not None and not field_name.endswith(field_names):
                continue
            key = (measurement, field_name, key_tags)
            out[key] = out.get(key, 0.0) + float(value) if fn == "sum" else float(value)
    return out


@pytest.mark.parametrize("kind,fn,fields", [
    ("counter", "sum", None),
    ("gauge", "last", None),
    ("timing", "sum", ("count", "sum")),
])
@pytest.mark.parametrize("cap_name", CAPTURES)
def test_telegraf_evaluator_agrees_with_real_telegraf(pipelines, cap_name, kind, fn, fields):
    """`TelegrafStatsdPipeline` + the flush model vs what real Telegraf wrote to InfluxDB 2, over the replay:
    the same series, the same counter totals, the same last gauge values, the same timing counts and sums."""
    p = pipelines[cap_name]
    field_filter = f'r.metric_type == "{kind}"'
    if fields:
        field_filter += " and (" + " or ".join(f'r._field =~ /{f}$/' for f in fields) + ")"
    real = _flux_series(p, fn, field_filter)
    model = _evaluated_series(cap_name, fn, kind, fields)
    _assert_same_series(model, real)
    # Gauges too: the captures set one gauge twice within milliseconds (dag_processing.file_path_queue_size 2
    # then 1); Telegraf's 5 default parsers could apply those out of order (tests/test_real_telegraf_gauges.py),
    # and our telegraf.conf runs one.
    differ = {key: (model[key], real[key]) for key in model
              if not math.isclose(model[key], real[key], rel_tol=1e-6, abs_tol=1e-9)}
    assert differ == {}


# --- the $task_id variable lists the tasks of the capture ---------------------------------------------------


def _capture_task_ids(cap_name: str) -> set[str]:
    """Every task id the capture names: the `task_id` tag (tags mode), or the task component of
    `ti.start.<dag_id>.<task_id>` (names mode: the plain captures have no dotted ids)."""
    from tests.statsd_capture import influx_tags

    cap = parse_capture(FIXTURE_DIR / f"{cap_name}.tsv")
    if REPLAYS[cap_name] == TAGS:
        return {influx_tags(s.name)["task_id"] for s in cap.samples if "task_id" in influx_tags(s.name)}
    start = f"{cap.prefix}.ti.start."
    return {s.name[len(start):].split(".")[1] for s in cap.samples if s.name.startswith(start)}


@pytest.mark.parametrize("backend", ["prometheus", "flux", "influxql"])
@pytest.mark.parametrize("cap_name", REPLAYS)
def test_task_variable_lists_every_task_of_the_capture(pipelines, cap_name, backend):
    p = pipelines[cap_name]
    values, _ = resolve_variables(compiled(AIRFLOW_KEYS)[("airflow-dag", backend)], sources(p, backend), p.time_range)
    expected = _capture_task_ids(cap_name)
    assert len(expected) >= 10
    assert set(values["task_id"].values) == expected
