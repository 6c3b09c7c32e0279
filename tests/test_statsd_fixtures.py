"""Facts about the real StatsD captures in tests/fixtures/statsd/ (see scripts/record-airflow-statsd.sh).

The captures come from Airflow 3.x and 2.10 running the DAGs in scripts/record_statsd/dags/
(LocalExecutor, plain StatsD, prefix "airflow"):

* etl_orders     - every minute; run SUCCEEDS; check_late_orders fails after one retry;
                   transform runs in pool etl_pool (2 slots)
* billing_report - every 2 minutes; run FAILS (upload exits 1)

Every assertion below was checked against what Airflow actually sent, not against the docs.
"""
from __future__ import annotations

import math
import re

import pytest

from tests.statsd_capture import (
    FIXTURE_DIR,
    STATSD_TYPES,
    Capture,
    StatsdParseError,
    parse_capture,
    parse_statsd_line,
)

MAJORS = ("3", "2")
DAG_IDS = ("etl_orders", "billing_report")
PARALLELISM = 8        # AIRFLOW__CORE__PARALLELISM in the recorder
ETL_POOL_SLOTS = 2     # airflow pools set etl_pool 2


@pytest.fixture(scope="module", params=MAJORS, ids=lambda m: f"airflow{m}")
def capture(request) -> tuple[str, Capture]:
    return request.param, _load(request.param)


_CACHE: dict[str, Capture] = {}


def _load(major: str) -> Capture:
    if major not in _CACHE:
        _CACHE[major] = parse_capture(FIXTURE_DIR / f"airflow{major}.tsv")
    return _CACHE[major]


def _values(cap: Capture, name: str, mtype: str | None = None) -> list[float]:
    return [s.value for s in cap.samples if s.name == name and (mtype is None or s.type == mtype)]


def _names(cap: Capture) -> set[str]:
    return cap.unprefixed()


def _has(cap: Capture, name: str, mtype: str) -> bool:
    full = f"{cap.prefix}.{name}"
    return any(s.name == full and s.type == mtype for s in cap.samples)


# --------------------------------------------------------------------------------------------
# The parser itself


@pytest.mark.parametrize(
    "line,name,value,mtype,rate,tags",
    [
        ("airflow.scheduler_heartbeat:1|c", "airflow.scheduler_heartbeat", 1.0, "c", 1.0, ()),
        ("airflow.pool.open_slots.default_pool:128|g", "airflow.pool.open_slots.default_pool", 128.0, "g", 1.0, ()),
        ("airflow.task.duration:2034.5|ms", "airflow.task.duration", 2034.5, "ms", 1.0, ()),
        ("a.b:3|c|@0.5", "a.b", 3.0, "c", 0.5, ()),
        ("a.b:3|h|@0.1|#dag_id:etl_orders,task_id:x", "a.b", 3.0, "h", 0.1, ("dag_id:etl_orders", "task_id:x")),
        ("a.b:-1|g", "a.b", -1.0, "g", 1.0, ()),
        ("a.dagrun.dependency-check.etl_orders:1e3|ms", "a.dagrun.dependency-check.etl_orders", 1000.0, "ms", 1.0, ()),
    ],
)
def test_parse_statsd_line(line, name, value, mtype, rate, tags):
    s = parse_statsd_line(line)
    assert (s.name, s.value, s.type, s.rate, s.tags) == (name, value, mtype, rate, tags)


def test_parse_set_and_relative_gauge():
    assert math.isnan(parse_statsd_line("a.users:alice|s").value)
    assert parse_statsd_line("a.g:+3|g").relative
    assert not parse_statsd_line("a.g:3|g").relative


@pytest.mark.parametrize(
    "line",
    ["no_colon|c", "a.b:1", "a.b:1|x", "a.b:abc|c", "a.b:1|c|@2", "a.b:1|c|@x", "a.b:1|c|foo", ":1|c", "a b:1|c"],
)
def test_parse_rejects_malformed(line):
    with pytest.raises(StatsdParseError):
        parse_statsd_line(line)


# --------------------------------------------------------------------------------------------
# Shape of both captures


def test_header(capture):
    major, cap = capture
    assert re.fullmatch(rf"{major}\.\d+\.\d+", cap.version), cap.version
    if major == "2":
        assert cap.version.startswith("2.10.")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cap.header["recorded"])
    assert cap.prefix == "airflow"
    assert "airflow scheduler" in cap.header["command"]
    assert "airflow dags test etl_orders" in cap.header["command"]
    assert cap.header_lines[:4] == [
        f"airflow {cap.version}",
        f"recorded {cap.header['recorded']}",
        "prefix airflow",
        f"command {cap.header['command']}",
    ]
    assert any("LocalExecutor" in h for h in cap.header_lines)


def test_every_line_is_valid_statsd(capture):
    major, cap = capture
    path = FIXTURE_DIR / f"airflow{major}.tsv"
    rows = [l for l in path.read_text(encoding="utf-8").splitlines() if l and not l.startswith("#")]
    assert len(rows) == len(cap.samples) > 1000
    line_re = re.compile(r"^[^:|\s]+:[^|]+\|(c|g|ms|h|s)(\|@[0-9.]+)?(\|#\S*)?$")
    bad = [r for r in rows if not line_re.match(r.split("\t", 1)[1])]
    assert not bad, bad[:5]
    assert {s.type for s in cap.samples} <= STATSD_TYPES
    # Plain StatsD, as configured: no tags, no sample rates; Airflow uses only counters, gauges, timers.
    assert {s.type for s in cap.samples} == {"c", "g", "ms"}
    assert all(not s.tags and s.rate == 1.0 for s in cap.samples)
    assert all(s.name.startswith("airflow.") for s in cap.samples)


def test_timestamps_are_monotonic_and_span_the_scheduler_phase(capture):
    _, cap = capture
    ts = [s.t for s in cap.samples]
    assert ts == sorted(ts) and ts[0] >= 0
    assert ts[-1] - ts[0] > 150  # db migrate + dags test + >= 150 s of scheduler


def test_size_stays_small():
    for major in MAJORS:
        assert (FIXTURE_DIR / f"airflow{major}.tsv").stat().st_size < 3_000_000


# --------------------------------------------------------------------------------------------
# Metric families both versions emit (plain + legacy dotted names)


def test_task_instance_finish_per_dag(capture):
    _, cap = capture
    names = _names(cap)
    for dag, task, state in [
        ("etl_orders", "extract", "success"),
        ("etl_orders", "transform", "success"),
        ("etl_orders", "load", "success"),
        ("etl_orders", "check_late_orders", "failed"),
        ("etl_orders", "check_late_orders", "up_for_retry"),
        ("billing_report", "prepare", "success"),
        ("billing_report", "render", "success"),
        ("billing_report", "upload", "failed"),
    ]:
        name = f"ti.finish.{dag}.{task}.{state}"
        assert name in names, name
        assert sum(_values(cap, f"airflow.{name}", "c")) >= 1, name
        assert f"ti.start.{dag}.{task}" in names
    assert _has(cap, "ti.finish", "c") and _has(cap, "ti.start", "c")
    assert _has(cap, "ti_successes", "c") and _has(cap, "ti_failures", "c")


def test_task_duration_timers(capture):
    _, cap = capture
    for dag, task in [("etl_orders", "extract"), ("etl_orders", "transform"), ("billing_report", "upload")]:
        assert _has(cap, f"dag.{dag}.{task}.duration", "ms")
    assert _has(cap, "task.duration", "ms")
    # extract sleeps 2 s: every recorded duration of it is >= 2000 ms
    assert min(_values(cap, "airflow.dag.etl_orders.extract.duration")) >= 2000


def test_operator_counters_use_class_name_suffix(capture):
    _, cap = capture
    names = _names(cap)
    assert {"operator_successes_BashOperator", "operator_successes_PythonOperator",
            "operator_successes_EmptyOperator", "operator_failures_BashOperator",
            "operator_failures_PythonOperator"} <= names
    assert {"task_instance_created_BashOperator", "task_instance_created_PythonOperator",
            "task_instance_created_EmptyOperator"} <= names


def test_dagrun_durations(capture):
    _, cap = capture
    ok = _values(cap, "airflow.dagrun.duration.success.etl_orders", "ms")
    failed = _values(cap, "airflow.dagrun.duration.failed.billing_report", "ms")
    assert len(ok) >= 3 and len(failed) >= 2
    assert min(ok) > 5000  # extract 2 s + transform/check + load 1 s
    # The plain name carries the same samples (no dag id: it would be a tag with DogStatsD)
    assert sorted(_values(cap, "airflow.dagrun.duration.success")) == sorted(ok)
    assert sorted(_values(cap, "airflow.dagrun.duration.failed")) == sorted(failed)
    assert "dagrun.duration.failed.etl_orders" not in _names(cap)
    assert "dagrun.duration.success.billing_report" not in _names(cap)
    for dag in DAG_IDS:
        assert _has(cap, f"dagrun.dependency-check.{dag}", "ms")
        assert _has(cap, f"dagrun.schedule_delay.{dag}", "ms")
        # dag id in the MIDDLE of this legacy name
        assert _has(cap, f"dagrun.{dag}.first_task_scheduling_delay", "ms")


def test_scheduler_metrics(capture):
    _, cap = capture
    assert _has(cap, "scheduler_heartbeat", "c")
    assert len(_values(cap, "airflow.scheduler_heartbeat")) >= 20
    for n in ("scheduler.critical_section_duration", "scheduler.critical_section_query_duration",
              "scheduler.scheduler_loop_duration"):
        assert _has(cap, n, "ms"), n
    for n in ("scheduler.tasks.executable", "scheduler.tasks.starving"):
        assert _has(cap, n, "g"), n
    assert _has(cap, "scheduler.orphaned_tasks.adopted", "c")
    assert _has(cap, "scheduler.orphaned_tasks.cleared", "c")
    assert _has(cap, "job_start", "c") and _has(cap, "job_end", "c")


def test_pool_gauges(capture):
    _, cap = capture
    for metric in ("open_slots", "queued_slots", "running_slots", "scheduled_slots", "deferred_slots",
                   "starving_tasks"):
        assert _has(cap, f"pool.{metric}", "g"), metric
        for pool in ("default_pool", "etl_pool"):
            assert _has(cap, f"pool.{metric}.{pool}", "g"), (metric, pool)
    etl_open = _values(cap, "airflow.pool.open_slots.etl_pool")
    assert set(etl_open) == {1.0, ETL_POOL_SLOTS}  # transform took one of the 2 slots at times
    assert max(_values(cap, "airflow.pool.running_slots.default_pool")) >= 1
    assert "pool.used_slots.default_pool" not in _names(cap)  # 1.10 name, gone


def test_executor_slots(capture):
    major, cap = capture
    for n in ("executor.open_slots", "executor.queued_tasks", "executor.running_tasks"):
        assert _has(cap, n, "g"), n
    open_slots = _values(cap, "airflow.executor.open_slots")
    assert max(open_slots) == PARALLELISM
    assert max(_values(cap, "airflow.executor.queued_tasks")) >= 1
    if major == "2":
        # 2.10: open + running == parallelism, running tasks visible
        assert min(open_slots) < PARALLELISM
        assert max(_values(cap, "airflow.executor.running_tasks")) >= 1
        assert not any(n.startswith("executor.open_slots.") for n in _names(cap))
    else:
        # 3.x sends the per-executor-class name too, even with a single executor; and (observed
        # on 3.3.2) running_tasks stays 0 / open_slots stays at parallelism while tasks run:
        # pool.running_slots is the one that moves.
        for n in ("open_slots", "queued_tasks", "running_tasks"):
            assert _has(cap, f"executor.{n}.LocalExecutor", "g")
        assert set(_values(cap, "airflow.executor.running_tasks")) == {0.0}
        assert set(open_slots) == {PARALLELISM}


def test_dag_processing_metrics(capture):
    major, cap = capture
    names = _names(cap)
    for n in ("dag_processing.total_parse_time", "dag_processing.import_errors", "dagbag_size",
              "dag_processing.file_path_queue_size"):
        assert _has(cap, n, "g"), n
    sizes = _values(cap, "airflow.dagbag_size")
    assert max(sizes) == len(DAG_IDS) and sizes[-1] == len(DAG_IDS)  # total DAGs, not per file
    assert set(_values(cap, "airflow.dag_processing.import_errors")) == {0.0}
    assert _has(cap, "dag_processing.processes", "c")
    assert _has(cap, "dag_processing.file_path_queue_update_count", "c")
    assert _has(cap, "dag_processing.last_duration", "ms")
    for dag_file in DAG_IDS:
        assert _has(cap, f"dag_processing.last_run.seconds_ago.{dag_file}", "g")
        if major == "3":
            # 3.x legacy form is last_duration.<bundle name>.<file stem>
            assert _has(cap, f"dag_processing.last_duration.dags-folder.{dag_file}", "ms")
        else:
            assert _has(cap, f"dag_processing.last_duration.{dag_file}", "ms")
    # total_parse_time is a gauge in seconds, not a timer
    assert 0 < max(_values(cap, "airflow.dag_processing.total_parse_time")) < 60
    assert "dag_processing.last_runtime" not in " ".join(names)  # 1.10 name, gone


# --------------------------------------------------------------------------------------------
# What differs between the versions (observed)


def test_airflow3_only_metrics():
    cap3, cap2 = _load("3"), _load("2")
    n3, n2 = _names(cap3), _names(cap2)
    only3 = {
        ("dag_processor_heartbeat", "c"),            # standalone dag-processor
        ("scheduler.dagruns.running", "g"),
        ("scheduler.executor_heartbeat_duration", "ms"),
        ("scheduler.dag_bag.cache_hit", "c"),
        ("dagrun.first_task_start_delay", "ms"),
        ("connection_test.active", "g"),
        ("ti.running", "g"),
        ("ti.queued", "g"),
        ("asset.orphaned", "g"),                     # 2.x: dataset.orphaned
    }
    for name, mtype in only3:
        assert _has(cap3, name, mtype), name
        assert name not in n2, name
    # ti.<state>.<queue>.<dag_id>.<task_id> legacy gauges
    assert any(re.fullmatch(r"ti\.(running|queued)\.default\.(etl_orders|billing_report)\.\w+", n) for n in n3)
    assert "dag_processing.last_run.seconds_ago" in n3  # plain name too on 3
    assert "dataset.orphaned" in n2 and "dataset.orphaned" not in n3
    # task.scheduled_duration on 3 vs task.queued_duration on 2.10
    assert _has(cap3, "task.scheduled_duration", "ms") and "task.queued_duration" not in n3
    assert _has(cap2, "task.queued_duration", "ms") and "task.scheduled_duration" not in n2
    assert _has(cap3, "dag.etl_orders.extract.scheduled_duration", "ms")
    assert _has(cap2, "dag.etl_orders.extract.queued_duration", "ms")


def test_airflow2_only_metrics():
    cap3, cap2 = _load("3"), _load("2")
    n3, n2 = _names(cap3), _names(cap2)
    # LocalTaskJob exit codes: local_task_job.task_exit.<job_id>.<dag_id>.<task_id>.<return_code>
    exits = [n for n in n2 if n.startswith("local_task_job.task_exit.")]
    assert exits and all(re.fullmatch(r"local_task_job\.task_exit\.\d+\.\w+\.\w+\.[01]", n) for n in exits)
    assert any(n.endswith(".billing_report.upload.1") for n in exits)
    assert not any(n.startswith("local_task_job") for n in n3)
    # per-task resource gauges: 2.10 only
    for dag, task in [("etl_orders", "extract"), ("billing_report", "upload")]:
        assert _has(cap2, f"task.cpu_usage.{dag}.{task}", "g")
        assert _has(cap2, f"task.mem_usage.{dag}.{task}", "g")
    assert not any(n.startswith("task.cpu_usage") or n.startswith("task.mem_usage") for n in n3)
    assert _has(cap2, "dag_processing.last_num_of_db_queries.etl_orders", "g")
    assert not any(n.startswith("dag_processing.last_num_of_db_queries") for n in n3)


def test_airflow2_preinitialises_ti_finish_with_zero():
    """2.10 sends ti.finish.<dag>.<task>.<state>:0 for EVERY state when a task starts."""
    cap2, cap3 = _load("2"), _load("3")
    states = {n.rsplit(".", 1)[1] for n in _names(cap2) if n.startswith("ti.finish.etl_orders.extract.")}
    assert {"success", "failed", "up_for_retry", "skipped", "upstream_failed", "None", "queued",
            "running", "removed", "restarting", "scheduled", "shutdown", "deferred",
            "up_for_reschedule"} <= states
    assert set(_values(cap2, "airflow.ti.finish.etl_orders.extract.failed")) == {0.0}
    # ... 3.x only sends the state that happened, always with value 1
    n3 = {n for n in _names(cap3) if n.startswith("ti.finish.")}
    assert not any(n.endswith((".None", ".queued", ".running")) for n in n3)
    assert all(s.value == 1 for s in cap3.samples if s.name.startswith("airflow.ti.finish."))


def test_emptyoperator_tasks_only_finish_under_dags_test():
    """Scheduled runs never execute EmptyOperator tasks (the scheduler marks them success):
    their ti.start/ti.finish come from `airflow dags test` alone (once per DAG)."""
    for major in MAJORS:
        cap = _load(major)
        assert sum(_values(cap, "airflow.ti.start.etl_orders.publish")) == 1
        assert len(_values(cap, "airflow.dagrun.duration.success.etl_orders")) > 1


def test_metrics_not_emitted_by_a_healthy_local_run():
    """Catalog entries that these runs never emitted (no triggerer, no SLA, no zombies, no celery)."""
    for major in MAJORS:
        names = _names(_load(major))
        for absent in ("triggerer_heartbeat", "sla_missed", "zombies_killed",
                       "task_instances_without_heartbeats_killed", "scheduler.tasks.killed_externally",
                       "dag_processing.processor_timeouts", "celery.task_timeout_error",
                       "scheduler.critical_section_busy"):
            assert absent not in names, (major, absent)
