"""The bundled alerts as a Prometheus rule file, checked and unit-tested by the real promtool.

Every bundled alert gets series that must fire (with the labels we expect) and series that must stay quiet,
including the cases that break naive rules: a counter that exists but never moves (idle), and a series that
is missing altogether. Firing is read the way an operator's tooling reads it, from the `ALERTS` series the
rule engine writes (`promql_expr_test`); one alert also checks its rendered annotations (`alert_rule_test`).
Series names are the ones our collector configs produce (see airflow_dash.catalog.airflow_metrics).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from airflow_dash.build import compile_alert_rules

ROOT = Path(__file__).resolve().parents[1]
PROMTOOL = shutil.which("promtool") or "promtool"
REAL_FS = 'fstype="ext4"'


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory) -> Path:
    compiled = compile_alert_rules(["prometheus"], ROOT / "dashboards", ROOT / "alerts")
    path = tmp_path_factory.mktemp("rules") / "airflow-dash.rules.yml"
    path.write_text(compiled.prometheus.to_yaml(), encoding="utf-8")
    return path


def firing(alert: str, at: str, *labelsets: dict) -> dict:
    """A promql_expr_test: exactly these firing instances of `alert` at `at` (none if no labelsets)."""
    samples = []
    for labels in labelsets:
        rendered = ", ".join(f'{k}="{v}"' for k, v in sorted({"alertname": alert, "alertstate": "firing", **labels}.items()))
        samples.append({"labels": "ALERTS{" + rendered + "}", "value": 1})
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": at, "exp_samples": samples}


def case(name: str, series: dict[str, str], *checks: dict, interval: str = "1m") -> dict:
    return {"name": name, "interval": interval,
            "input_series": [{"series": s, "values": v} for s, v in series.items()], "promql_expr_test": list(checks)}


CRIT, WARN = {"severity": "critical"}, {"severity": "warning"}

CASES = [
    # --- scheduler heartbeat: 12 per minute, then the scheduler stops at 10m -------------------------------------
    case("heartbeat stops", {"airflow_scheduler_heartbeat_total": "0+12x10 120x20"},
         firing("AirflowSchedulerHeartbeatMissing", "11m"),  # heartbeats still inside the 2m window
         firing("AirflowSchedulerHeartbeatMissing", "15m", CRIT)),
    case("heartbeat steady", {"airflow_scheduler_heartbeat_total": "0+12x30"},
         firing("AirflowSchedulerHeartbeatMissing", "10m"), firing("AirflowSchedulerHeartbeatMissing", "30m")),
    case("heartbeat series missing", {"airflow_ti_successes_total": "0+1x10"},
         firing("AirflowSchedulerHeartbeatMissing", "5m", CRIT)),
    # --- DAG import errors ---------------------------------------------------------------------------------------
    case("import errors", {"airflow_dag_processing_import_errors": "0x5 2x10"},
         firing("AirflowDagImportErrors", "6m"), firing("AirflowDagImportErrors", "8m", WARN)),
    case("no import errors", {"airflow_dag_processing_import_errors": "0x20"},
         firing("AirflowDagImportErrors", "15m")),
    case("import errors series missing", {"airflow_scheduler_heartbeat_total": "0+12x20"},
         firing("AirflowDagImportErrors", "15m")),
    # --- task failures ----------------------------------------------------------------------------------------
    case("failure burst", {"airflow_ti_failures_total": "0x5 0+3x15"},
         firing("AirflowTaskFailureBurst", "15m", WARN)),
    case("failures idle counter", {"airflow_ti_failures_total": "0x30"},
         firing("AirflowTaskFailureBurst", "20m"), firing("AirflowTaskFailureRatioHigh", "20m")),
    case("occasional failures", {"airflow_ti_failures_total": "0+0.5x30"},
         firing("AirflowTaskFailureBurst", "20m")),
    case("failure ratio high", {
        "airflow_ti_failures_total": "0+6x40",
        'airflow_ti_finish_total{dag_id="etl", task_id="load", state="failed"}': "0+6x40",
        'airflow_ti_finish_total{dag_id="etl", task_id="load", state="success"}': "0+2x40",
    }, firing("AirflowTaskFailureRatioHigh", "30m", WARN)),
    case("failure ratio low", {
        "airflow_ti_failures_total": "0+1x40",
        'airflow_ti_finish_total{dag_id="etl", task_id="load", state="failed"}': "0+1x40",
        'airflow_ti_finish_total{dag_id="etl", task_id="load", state="success"}': "0+9x40",
    }, firing("AirflowTaskFailureRatioHigh", "30m")),
    case("zombies killed", {"airflow_task_instances_without_heartbeats_killed_total": "0x5 1x20"},
         firing("AirflowZombieTasksKilled", "8m", WARN), firing("AirflowZombieTasksKilled", "25m")),
    case("no zombies (idle counter)", {"airflow_task_instances_without_heartbeats_killed_total": "0x20"},
         firing("AirflowZombieTasksKilled", "15m")),
    # --- DAG runs ----------------------------------------------------------------------------------------------
    case("DAG run failed", {
        'airflow_dagrun_duration_seconds_count{dag_id="billing", state="failed"}': "0x5 1x20",
        'airflow_dagrun_duration_seconds_sum{dag_id="billing", state="failed"}': "0x5 30x20",
        'airflow_dagrun_duration_seconds_count{dag_id="etl", state="success"}': "0+1x25",
        'airflow_dagrun_duration_seconds_sum{dag_id="etl", state="success"}': "0+30x25",
    }, firing("AirflowDagRunFailed", "8m", {**CRIT, "dag_id": "billing"}), firing("AirflowDagRunFailed", "20m")),
    case("DAG runs succeed; failed series idle", {
        'airflow_dagrun_duration_seconds_count{dag_id="billing", state="failed"}': "1x20",
        'airflow_dagrun_duration_seconds_sum{dag_id="billing", state="failed"}': "30x20",
        'airflow_dagrun_duration_seconds_count{dag_id="etl", state="success"}': "0+1x20",
        'airflow_dagrun_duration_seconds_sum{dag_id="etl", state="success"}': "0+30x20",
    }, firing("AirflowDagRunFailed", "10m")),
    case("schedule delay 30 s", {
        'airflow_dagrun_schedule_delay_seconds_count{dag_id="etl"}': "0+1x20",
        'airflow_dagrun_schedule_delay_seconds_sum{dag_id="etl"}': "0+30x20",
    }, firing("AirflowDagScheduleDelayWarning", "10m", {**WARN, "dag_id": "etl"}),
        firing("AirflowDagScheduleDelayCritical", "10m")),
    case("schedule delay 120 s", {
        'airflow_dagrun_schedule_delay_seconds_count{dag_id="etl"}': "0+1x20",
        'airflow_dagrun_schedule_delay_seconds_sum{dag_id="etl"}': "0+120x20",
    }, firing("AirflowDagScheduleDelayCritical", "10m", {**CRIT, "dag_id": "etl"})),
    case("schedule delay 2 s", {
        'airflow_dagrun_schedule_delay_seconds_count{dag_id="etl"}': "0+1x20",
        'airflow_dagrun_schedule_delay_seconds_sum{dag_id="etl"}': "0+2x20",
    }, firing("AirflowDagScheduleDelayWarning", "10m")),
    # --- pools: starving for 5 minutes fires, less does not -------------------------------------------------------
    case("pool starving", {'airflow_pool_starving_tasks{pool="etl_pool"}': "0x5 3x20", 'airflow_pool_starving_tasks{pool="default_pool"}': "0x25"},
         firing("AirflowPoolStarving", "8m"), firing("AirflowPoolStarving", "12m", {**WARN, "pool": "etl_pool"})),
    case("pool starving briefly", {'airflow_pool_starving_tasks{pool="etl_pool"}': "0x5 3x3 0x20"},
         firing("AirflowPoolStarving", "9m"), firing("AirflowPoolStarving", "15m")),
    # --- host ----------------------------------------------------------------------------------------------------
    case("disk fills within a day", {
        f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/", {REAL_FS}}}': "100e9-1e9x100",
        f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/data", {REAL_FS}}}': "100e9x100",
        'node_filesystem_avail_bytes{instance="h1", mountpoint="/run", fstype="tmpfs"}': "1e9-1e7x100",
    }, firing("HostDiskWillFillIn24h", "20m"),  # pending: for 30m
        firing("HostDiskWillFillIn24h", "2h", {**WARN, "instance": "h1", "mountpoint": "/"}), interval="5m"),
    case("disk usage steady", {f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/", {REAL_FS}}}': "50e9x100"},
         firing("HostDiskWillFillIn24h", "6h"), interval="5m"),
    # df's Use%: (size - free) / ((size - free) + avail). /: 94/99 = 95% fires. /srv reserves 55 blocks for
    # root: 40/45 = 89% stays quiet, where 1 - avail/size (95%) would fire.
    case("disk almost full", {
        f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/", {REAL_FS}}}': "5x20",
        f'node_filesystem_free_bytes{{instance="h1", mountpoint="/", {REAL_FS}}}': "6x20",
        f'node_filesystem_size_bytes{{instance="h1", mountpoint="/", {REAL_FS}}}': "100x20",
        f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/data", {REAL_FS}}}': "50x20",
        f'node_filesystem_free_bytes{{instance="h1", mountpoint="/data", {REAL_FS}}}': "50x20",
        f'node_filesystem_size_bytes{{instance="h1", mountpoint="/data", {REAL_FS}}}': "100x20",
        f'node_filesystem_avail_bytes{{instance="h1", mountpoint="/srv", {REAL_FS}}}': "5x20",
        f'node_filesystem_free_bytes{{instance="h1", mountpoint="/srv", {REAL_FS}}}': "60x20",
        f'node_filesystem_size_bytes{{instance="h1", mountpoint="/srv", {REAL_FS}}}': "100x20",
    }, firing("HostDiskAlmostFull", "5m"), firing("HostDiskAlmostFull", "15m", {**CRIT, "instance": "h1", "mountpoint": "/"})),
    case("memory almost full", {
        'node_memory_MemAvailable_bytes{instance="h1"}': "5e8x20", 'node_memory_MemTotal_bytes{instance="h1"}': "1e10x20",
        'node_memory_MemAvailable_bytes{instance="h2"}': "5e9x20", 'node_memory_MemTotal_bytes{instance="h2"}': "1e10x20",
    }, firing("HostMemoryAlmostFull", "9m"), firing("HostMemoryAlmostFull", "15m", {**WARN, "instance": "h1"})),
    case("memory pressure", {
        'node_pressure_memory_waiting_seconds_total{instance="h1"}': "0+12x30",
        'node_pressure_memory_waiting_seconds_total{instance="h2"}': "0+1x30",
    }, firing("HostMemoryPressure", "20m", {**WARN, "instance": "h1"})),
    case("no memory pressure (idle counter)", {'node_pressure_memory_waiting_seconds_total{instance="h1"}': "7x30"},
         firing("HostMemoryPressure", "20m")),
    # --- containers ----------------------------------------------------------------------------------------------
    case("OOM kill", {
        'container_oom_events_total{instance="h1", name="worker"}': "0x5 1x20",
        'container_oom_events_total{instance="h1", name="scheduler"}': "0x25",
        'container_oom_events_total{instance="h1", id="/system.slice"}': "0+1x25",
    }, firing("ContainerOOMKilled", "7m", {**WARN, "instance": "h1", "name": "worker"}),
        firing("ContainerOOMKilled", "20m")),
    case("restart loop", {
        'container_start_time_seconds{instance="h1", name="worker"}': " ".join(str(120 * (m // 2)) for m in range(30)),
        'container_start_time_seconds{instance="h1", name="scheduler"}': "0x30",
    }, firing("ContainerRestarting", "20m", {**WARN, "instance": "h1", "name": "worker"})),
    case("new container", {'container_start_time_seconds{instance="h1", name="worker"}': "_x10 600x20"},
         firing("ContainerRestarting", "14m"), firing("ContainerRestarting", "16m")),
    case("memory near limit", {
        'container_memory_working_set_bytes{instance="h1", name="worker"}': "95x20",
        'container_spec_memory_limit_bytes{instance="h1", name="worker"}': "100x20",
        'container_memory_working_set_bytes{instance="h1", name="free"}': "95x20",
        'container_spec_memory_limit_bytes{instance="h1", name="free"}': "0x20",
    }, firing("ContainerMemoryNearLimit", "3m"),
        firing("ContainerMemoryNearLimit", "10m", {**WARN, "instance": "h1", "name": "worker"})),
]

ANNOTATED = {
    "name": "scheduler alert texts",
    "interval": "1m",
    "input_series": [{"series": "airflow_scheduler_heartbeat_total", "values": "0+12x10 120x20"}],
    "alert_rule_test": [{
        "eval_time": "15m",
        "alertname": "AirflowSchedulerHeartbeatMissing",
        "exp_alerts": [{"exp_labels": {"severity": "critical"}, "exp_annotations": None}],
    }],
}


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def test_rule_file_passes_promtool_check(rule_file):
    result = run_promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(g["rules"]) for g in yaml.safe_load(rule_file.read_text())["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_every_bundled_alert_has_firing_and_quiet_cases(rule_file):
    names = {r["alert"] for g in yaml.safe_load(rule_file.read_text())["groups"] for r in g["rules"]}
    fired, quiet = set(), set()
    for item in CASES:
        for check in item["promql_expr_test"]:
            alert = check["expr"].split('"')[1]
            (fired if check["exp_samples"] else quiet).add(alert)
    assert names - fired == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a quiet case"


def test_bundled_alerts_fire_and_stay_quiet_under_promtool(rule_file):
    rules = yaml.safe_load(rule_file.read_text())["groups"]
    scheduler = next(r for g in rules for r in g["rules"] if r["alert"] == "AirflowSchedulerHeartbeatMissing")
    annotated = yaml.safe_load(yaml.safe_dump(ANNOTATED))
    # The texts as Prometheus renders them: $value is 0 once the heartbeats stopped.
    expected = {key: text.replace("{{ $value | humanize }}", "0") for key, text in scheduler["annotations"].items()}
    annotated["alert_rule_test"][0]["exp_alerts"][0]["exp_annotations"] = expected
    tests = {"rule_files": [rule_file.name], "evaluation_interval": "1m", "tests": [*CASES, annotated]}
    test_file = rule_file.parent / "bundled_alerts_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    result = run_promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_can_fail(rule_file):
    """The harness itself: a wrong expectation must make promtool fail (else the cases above prove nothing)."""
    wrong = case("heartbeat steady", {"airflow_scheduler_heartbeat_total": "0+12x30"},
                 firing("AirflowSchedulerHeartbeatMissing", "10m", CRIT))
    test_file = rule_file.parent / "wrong_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [rule_file.name], "evaluation_interval": "1m",
                                         "tests": [wrong]}), encoding="utf-8")
    result = run_promtool("test", "rules", str(test_file))
    assert result.returncode != 0
