"""The bundled alerts on real Airflow data: a replay where the scheduler stops fires the scheduler alert at the
expected time, and the same replay without the stop keeps it quiet.

The replay: the part of a real Airflow StatsD capture (tests/fixtures/statsd) in which the scheduler runs,
played three times back to back (a capture lasts ~3 minutes; the alert needs a 2-minute window plus its 1-minute
`for`). In the stopped replay every `scheduler_heartbeat` after the first minute of the second round is dropped.
Both go through OUR collector configs (tests.airflow_pipeline: statsd_exporter's mapping semantics, Telegraf's
statsd aggregation), then:

- Prometheus: the scraped series and our rule file go to `promtool test rules`, Prometheus' own rule engine
  (rule groups evaluated every minute, `for` honoured), and the firing instances are read back from the
  `ALERTS` series it writes;
- InfluxQL: the Telegraf points are written to a real InfluxDB 1.x and every Grafana rule's query → reduce →
  threshold chain is evaluated against it each minute by `airflow_dash.live.alert_eval`.

The captures contain real failures (billing_report fails by design, tasks fail and retry): the failure alerts
firing on them is correct, and the test derives which ones must fire from the capture itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from airflow_dash.build import compile_alert_rules
from airflow_dash.live.alert_eval import ALERTING, first_firing, replay
from airflow_dash.live.runner import FluxLive, InfluxQLLive
from tests.airflow_pipeline import (
    SCRAPE_S, line_protocol, our_prometheus_mapper, our_telegraf_mapper, prometheus_samples, telegraf_points,
)
from tests.statsd_capture import FIXTURE_DIR, Capture, Sample, parse_capture

ROOT = Path(__file__).resolve().parents[1]
HEARTBEAT = "airflow.scheduler_heartbeat"
SCHEDULER_ALERT = "AirflowSchedulerHeartbeatMissing"
ROUNDS = 3
EVAL_S = 60  # our rule groups' interval
WINDOW_S, FOR_S = 120, 60  # the scheduler alert's window and `for` (checked against the definition below)
CAPTURES = ("airflow3", "airflow2")


@lru_cache(maxsize=None)
def replays(name: str) -> tuple[Capture, Capture, float]:
    """(clean, stopped, time of the last heartbeat in the stopped one), times from 0."""
    path = FIXTURE_DIR / f"{name}.tsv"
    if not path.exists():
        pytest.skip(f"{path.name} is not recorded")
    capture = parse_capture(path)
    beats = [s.t for s in capture.samples if s.name == HEARTBEAT]
    start, end = min(beats), max(s.t for s in capture.samples)
    period = end - start + 5.0
    looped = [Sample(s.t - start + k * period, s.name, s.value, s.type, s.rate, s.tags, s.relative)
              for k in range(ROUNDS) for s in capture.samples if s.t >= start]
    stop = period + 60.0
    stopped = [s for s in looped if not (s.name == HEARTBEAT and s.t > stop)]
    last_beat = max(s.t for s in stopped if s.name == HEARTBEAT)
    return Capture(capture.header, looped), Capture(capture.header, stopped), last_beat


def test_the_scheduler_alert_is_what_this_test_assumes():
    from airflow_dash.bundled_alerts.airflow import scheduler_heartbeat_missing as alert

    assert (alert.name, alert.window, alert.for_, alert.missing) == (SCHEDULER_ALERT, "2m", "1m", "fire")


# --- Prometheus: the real rule engine (promtool test rules) ---------------------------------------------------

@pytest.fixture(scope="module")
def prometheus_rules(tmp_path_factory):
    compiled = compile_alert_rules(["prometheus"], ROOT / "dashboards", ROOT / "alerts")
    path = tmp_path_factory.mktemp("replay") / "rules.yml"
    path.write_text(compiled.prometheus.to_yaml(), encoding="utf-8")
    return path


def _label_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _input_series(capture: Capture, metric_names: set[str]) -> tuple[list[dict], float]:
    now = 1_800_000_000.0  # any fixed time: promtool's series start at 0
    samples, start, end = prometheus_samples(capture, our_prometheus_mapper(), now=now)
    steps = int(round((end - start) / SCRAPE_S)) + 1
    series = []
    for name, labels, _kind, points in samples:
        if name not in metric_names:
            continue
        values = ["_"] * steps
        for ts, value in points:
            values[int(round((ts - start) / SCRAPE_S))] = repr(float(value))
        selector = name + "{" + ", ".join(f'{k}="{_label_text(v)}"' for k, v in sorted(labels.items())) + "}"
        series.append({"series": selector, "values": " ".join(values)})
    return series, steps * SCRAPE_S


_FIRING = re.compile(r'expr: "ALERTS\{alertname=\\"(\w+)\\"\}", time: (\S+),\s*\n\s*exp: nil\s*\n\s*got: (.*)')


def _duration_s(text: str) -> float:
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"([\d.]+)([hms])", text))


def promtool_firing(rule_file: Path, capture: Capture) -> dict[str, list[tuple[float, str]]]:
    """alert -> [(seconds since the replay started, ALERTS sample)] of every firing instance, read from the
    failures of a promtool test that expects nothing to fire at each evaluation."""
    groups = yaml.safe_load(rule_file.read_text())["groups"]
    names = [r["alert"] for g in groups for r in g["rules"]]
    metric_names = {w for r in (r for g in groups for r in g["rules"]) for w in re.findall(r"[a-z_:][a-z0-9_:]*", r["expr"])}
    metric_names |= {n.rsplit("_", 1)[0] for n in metric_names if n.endswith(("_sum", "_count", "_bucket"))}
    series, length = _input_series(capture, metric_names)
    checks = [{"expr": f'ALERTS{{alertname="{name}"}}', "eval_time": f"{t}s", "exp_samples": []}
              for t in range(0, int(length), EVAL_S) for name in names]
    test = {"rule_files": [rule_file.name], "evaluation_interval": f"{EVAL_S}s",
            "tests": [{"interval": f"{int(SCRAPE_S)}s", "input_series": series, "promql_expr_test": checks}]}
    test_file = rule_file.parent / "replay_test.yml"
    test_file.write_text(yaml.safe_dump(test, sort_keys=False, width=1 << 20), encoding="utf-8")
    result = subprocess.run([shutil.which("promtool") or "promtool", "test", "rules", str(test_file)],
                            capture_output=True, text=True, timeout=600)
    if "SUCCESS" in result.stdout:
        return {}
    firing: dict[str, list[tuple[float, str]]] = {}
    for alert, at, got in _FIRING.findall(result.stdout + result.stderr):
        if 'alertstate="firing"' in got:
            firing.setdefault(alert, []).append((_duration_s(at), got))
    assert firing or result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return firing


def _dag_of(sample: Sample, prefix: str) -> str | None:
    rest = sample.name[len(prefix):] if sample.name.startswith(prefix) else ""
    return rest or None


def justified(capture: Capture) -> dict[str, set[str] | None]:
    """Alerts the capture's own content must fire, from the raw StatsD lines (not from our pipeline):
    alert -> the DAGs it may fire for (None: not per DAG)."""
    failed = {d for s in capture.samples if (d := _dag_of(s, "airflow.dagrun.duration.failed."))}
    late = {d for s in capture.samples if (d := _dag_of(s, "airflow.dagrun.schedule_delay.")) and s.value > 10_000}
    very_late = {d for s in capture.samples
                 if (d := _dag_of(s, "airflow.dagrun.schedule_delay.")) and s.value > 60_000}
    failures = sorted(s.t for s in capture.samples if s.name == "airflow.ti_failures")
    burst = any(sum(1 for u in failures if t <= u < t + 600) > 10 for t in failures)
    result: dict[str, set[str] | None] = {}
    for alert, dags in (("AirflowDagRunFailed", failed), ("AirflowDagScheduleDelayWarning", late),
                        ("AirflowDagScheduleDelayCritical", very_late)):
        if dags:
            result[alert] = dags
    if burst:
        result["AirflowTaskFailureBurst"] = None
    return result


def assert_only_justified(firing: dict[str, set[str | None]], capture: Capture) -> None:
    allowed = justified(capture)
    assert SCHEDULER_ALERT not in firing
    assert set(firing) <= set(allowed), sorted(firing)
    for alert, dags in firing.items():
        if allowed[alert] is not None:
            assert dags <= allowed[alert], (alert, dags, allowed[alert])


@pytest.mark.parametrize("name", CAPTURES)
def test_prometheus_scheduler_alert_fires_when_the_scheduler_stops(prometheus_rules, name):
    clean, stopped, last_beat = replays(name)
    firing = promtool_firing(prometheus_rules, stopped)
    assert SCHEDULER_ALERT in firing, sorted(firing)
    fired_at = min(t for t, _ in firing[SCHEDULER_ALERT])
    expected = last_beat + WINDOW_S + FOR_S
    # Prometheus sees the last heartbeat at the next scrape and fires at the next evaluation after that.
    print(f"\nFIRE prometheus {name}: fired {fired_at:.0f}s expected {expected:.0f}s (last beat {last_beat:.0f}s)")
    assert abs(fired_at - expected) <= EVAL_S + SCRAPE_S, (fired_at, expected)


@pytest.mark.parametrize("name", CAPTURES)
def test_prometheus_clean_replay_fires_only_what_the_capture_holds(prometheus_rules, name):
    clean, _, _ = replays(name)
    firing = promtool_firing(prometheus_rules, clean)
    by_dag = {alert: {m.group(1) if (m := re.search(r'dag_id="([^"]+)"', got)) else None for _, got in found}
              for alert, found in firing.items()}
    assert_only_justified(by_dag, clean)
    assert "AirflowDagRunFailed" in firing  # the capture's failing DAG run is seen, not only "nothing fired"


# --- InfluxDB: every Grafana rule's chain evaluated by our runner against the real database ----------------

BACKENDS = ("influxql", "flux")


@pytest.fixture(scope="module")
def grafana_rules():
    compiled = compile_alert_rules(list(BACKENDS), ROOT / "dashboards", ROOT / "alerts")
    return {b: {r.alert: r.rule for r in compiled.grafana[b].rules} for b in BACKENDS}


@pytest.fixture(scope="module")
def load(request):
    """Factory: write a replay's Telegraf points to the backend's real database; (datasource, start, end)."""
    cache: dict = {}

    def get(backend: str, name: str, kind: str):
        key = (backend, name, kind)
        if key not in cache:
            clean, stopped, _ = replays(name)
            capture = stopped if kind == "stopped" else clean
            points, start, end = telegraf_points(capture, our_telegraf_mapper(), now=time.time(), end_offset_s=120.0)
            lines = line_protocol(points)
            target = f"replay_{kind}_{name}"
            if backend == "influxql":
                server = request.getfixturevalue("influxdb_v1")
                server.write(target, lines)
                datasource = InfluxQLLive(server.url, target)
            else:
                server = request.getfixturevalue("influxdb_v2")
                server.create_bucket(target)
                server.write(target, lines)
                datasource = FluxLive(server.url, server.org, server.token, target)
            zero = start - min(s.t for s in capture.samples)  # unix time of the replay's t=0 (flush-aligned)
            cache[key] = (datasource, (int(start) // EVAL_S + 1) * EVAL_S, end, zero)
        return cache[key]

    return get


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CAPTURES)
def test_influxdb_scheduler_alert_fires_when_the_scheduler_stops_and_not_without(load, grafana_rules, backend, name):
    _, _, last_beat = replays(name)
    rule = grafana_rules[backend][SCHEDULER_ALERT]
    datasource, first, last, zero = load(backend, name, "stopped")
    fired_at = first_firing(replay(rule, datasource, first, last, EVAL_S))
    assert fired_at is not None
    expected = zero + last_beat + WINDOW_S + FOR_S
    # Telegraf flushes every 10 s; the alert fires at the first evaluation after the window has emptied + `for`.
    print(f"\nFIRE {backend} {name}: fired {fired_at - zero:.0f}s expected {expected - zero:.0f}s (last beat {last_beat:.0f}s)")
    assert abs(fired_at - expected) <= EVAL_S + 10, (fired_at - zero, expected - zero)

    datasource, first, last, _ = load(backend, name, "clean")
    assert first_firing(replay(rule, datasource, first, last, EVAL_S)) is None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CAPTURES)
def test_influxdb_clean_replay_fires_only_what_the_capture_holds(load, grafana_rules, backend, name):
    clean, _, _ = replays(name)
    datasource, first, last, _ = load(backend, name, "clean")
    firing: dict[str, set] = {}
    for alert, rule in grafana_rules[backend].items():
        for _, states in replay(rule, datasource, first, last, EVAL_S):
            for labels, state in states.items():
                if state == ALERTING:
                    firing.setdefault(alert, set()).add(dict(labels).get("dag_id"))
    assert_only_justified(firing, clean)
    assert "AirflowDagRunFailed" in firing
