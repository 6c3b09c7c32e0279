"""Airflow alerts: the scheduler, DAG files, task and DAG run failures, pools, schedule delay.

Covers the apache-airflow mixin's alerts (starving pool tasks, DAG schedule delay warning/critical, DAG
failures) and the failure modes an operator is woken for: a scheduler that stopped heartbeating, DAG files
that fail to import, bursts of task failures. The signals are the catalog's, so each alert queries what its
panel shows, on Airflow 2.x and 3.x names alike (the collector configs map both).
"""

from dataclasses import replace

from airflow_dash.alerts import FIRE, Alert, Ratio, Threshold
from airflow_dash.catalog import airflow as af

OVERVIEW = "airflow-overview"
PER_DAG = "airflow-dag"

scheduler_heartbeat_missing = Alert(
    name="AirflowSchedulerHeartbeatMissing",
    condition=Threshold(af.scheduler_heartbeat, "<", 0.01),
    missing=FIRE,  # no heartbeat series at all (exporter restarted, scheduler never started) is the same outage
    window="2m",
    for_="1m",
    severity="critical",
    group="airflow-scheduler",
    summary="The Airflow scheduler stopped heartbeating",
    description="Scheduler heartbeats averaged {value}/s over the last 2 minutes (normally one per loop, "
    "about every 5 s). No new task instances are scheduled while it is down.",
    runbook="Is the scheduler process running (`airflow jobs check --job-type SchedulerJob`, its container or "
    "pod)? Read its last log lines; then check the metadata database is reachable and not locked, and that "
    "the scheduler host has CPU and memory left.",
    dashboard=OVERVIEW,
    panel="Scheduler heartbeats",
)

dag_import_errors = Alert(
    name="AirflowDagImportErrors",
    condition=Threshold(af.import_errors, ">", 0),
    window="5m",
    for_="2m",
    severity="warning",
    group="airflow-dag-processing",
    summary="DAG files fail to import",
    description="{value} DAG file(s) failed to import: their DAGs are missing from Airflow.",
    runbook="List the errors (`airflow dags list-import-errors` or Browse > Import errors in the UI), fix the "
    "file named there (syntax, a missing package, a top-level call that fails) and wait for the next parse.",
    dashboard=OVERVIEW,
    panel="Import errors",
)

task_failure_burst = Alert(
    name="AirflowTaskFailureBurst",
    condition=Threshold(af.ti_failures_rate, ">", 10 / 600),
    window="10m",
    for_="1m",
    severity="warning",
    group="airflow-tasks",
    summary="Airflow task instances fail in a burst",
    description="Task instances failed at {value}/s over the last 10 minutes (more than 10 in 10 minutes).",
    runbook="Open the Task failures panel and the per-DAG dashboard to see which tasks fail; read one failed "
    "task's log. Many DAGs failing at once usually means a shared dependency (database, API, credentials) or "
    "dying workers (look at OOM kills and container restarts).",
    dashboard=OVERVIEW,
    panel="Failures and successes",
)

_all_finishes = replace(af.ti_finish_rate, key="airflow.ti_finish_total", group_by=())

task_failure_ratio = Alert(
    name="AirflowTaskFailureRatioHigh",
    condition=Ratio(af.ti_failures_rate, _all_finishes, ">", 0.5),
    window="15m",
    for_="10m",
    severity="warning",
    group="airflow-tasks",
    summary="More than half of the finishing Airflow tasks fail",
    description="{value} of the task instances that finished in the last 15 minutes failed.",
    runbook="Compare Task finishes by state: if one DAG dominates, look at its latest run; if all do, check "
    "what they share (workers, connections, the metadata database).",
    dashboard=OVERVIEW,
    panel="Task finishes by state",
)

dag_run_failed = Alert(
    name="AirflowDagRunFailed",
    condition=Threshold(af.dagrun_duration_failed, ">", 0),
    window="5m",
    for_="1m",
    severity="critical",
    group="airflow-dag-runs",
    summary="A run of DAG {dag_id} failed",
    description="A run of DAG {dag_id} failed in the last 5 minutes (after {value} s).",
    runbook="Open the failed run of {dag_id} in the Airflow UI (Grid view), find the first failed task and "
    "read its log; clear the task once the cause is fixed.",
    dashboard=PER_DAG,
    panel="Run duration: success vs failed",
)


def _schedule_delay(level: str, seconds: float) -> Alert:
    return Alert(
        name=f"AirflowDagScheduleDelay{level.capitalize()}",
        condition=Threshold(af.dagrun_schedule_delay, ">", seconds),
        window="5m",
        for_="1m",
        severity=level,
        group="airflow-dag-runs",
        summary=f"DAG {{dag_id}} runs start late (over {seconds:g} s)",
        description="Runs of DAG {dag_id} started on average {value} s after their scheduled time over the "
        f"last 5 minutes (threshold {seconds:g} s).",
        runbook="Check the scheduler's loop duration and CPU, then the DAG's max_active_runs, pools and the "
        "executor's free slots: one of them holds runs back.",
        dashboard=PER_DAG,
        panel="Schedule delay",
    )


dag_schedule_delay_warning = _schedule_delay("warning", 10)
dag_schedule_delay_critical = _schedule_delay("critical", 60)

pool_starving = Alert(
    name="AirflowPoolStarving",
    condition=Threshold(af.pool_starving_tasks, ">", 0),
    window="5m",
    for_="5m",
    severity="warning",
    group="airflow-pools",
    summary="Tasks starve in pool {pool}",
    description="{value} task(s) have waited for a free slot in pool {pool} for 5 minutes.",
    runbook="Compare the pool's running and queued slots: enlarge the pool (Admin > Pools) if it is simply "
    "too small, or find the DAG that fills it (long-running or stuck tasks) and spread its load.",
    dashboard=OVERVIEW,
    panel="Starving tasks per pool",
)

zombie_tasks = Alert(
    name="AirflowZombieTasksKilled",
    condition=Threshold(af.zombies_killed, ">", 0),
    window="10m",
    for_="1m",
    severity="warning",
    group="airflow-tasks",
    summary="Airflow killed task instances that stopped heartbeating",
    description="Task instances without heartbeats were killed at {value}/s over the last 10 minutes.",
    runbook="Workers die or lose the database/API server: look for OOM kills and restarts of the worker "
    "containers, and for network errors in the task logs.",
    dashboard=OVERVIEW,
    panel="Killed tasks",
)

alerts = [
    scheduler_heartbeat_missing, dag_import_errors, task_failure_burst, task_failure_ratio, dag_run_failed,
    dag_schedule_delay_warning, dag_schedule_delay_critical, pool_starving, zombie_tasks,
]
