"""Airflow DAG detail: for the chosen DAGs and tasks, how long runs and tasks take, how they end, and where
they wait (schedule delay, scheduled → queued → running, task instance states).

Not shown: the parse time of the DAG's file. Airflow reports parse durations per file
(`dag_processing.last_duration.<file>`), and no metric relates a file to the DAGs it defines, so the
overview's "Slowest DAG files" panel is the place for it.
"""

from airflow_dash.catalog import airflow as af
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.panels import Query, Row, thresholds, timeseries

runs = Row(
    "DAG runs",
    [
        timeseries(
            "Run duration: success vs failed",
            Query(af.dagrun_duration_success, "{dag_id} success"),
            Query(af.dagrun_duration_failed, "{dag_id} failed"),
            width=12, min=0, draw_style="points", legend_calcs=("mean", "max"),
            description="Mean duration of the DAG's runs that ended in the window, by outcome. A run longer than the "
            "schedule interval delays the next one: look for the slowest task below.",
        ),
        timeseries(
            "Schedule delay", af.dagrun_schedule_delay, width=12, min=0, draw_style="points",
            thresholds=thresholds("green", (60, "orange")),
            description="How late runs start compared with their schedule. Growing: the scheduler is overloaded or "
            "max_active_runs is reached (a previous run is still going).",
        ),
        timeseries(
            "First task scheduling delay", af.dagrun_first_task_scheduling_delay, width=12, min=0, draw_style="points",
            description="Time from a run's start to the scheduling of its first task. High: executor or pool "
            "slots are exhausted (see the overview's Executor and pools row).",
        ),
        timeseries(
            "Dependency check", af.dagrun_dependency_check, width=12, min=0,
            description="Time the scheduler spends per loop checking this DAG's task dependencies. High values slow "
            "all DAGs: simplify trigger rules or split very wide DAGs.",
        ),
    ],
)

tasks = Row(
    "Tasks",
    [
        timeseries(
            "Task duration", af.task_duration_by_task, width=12, min=0, draw_style="points", legend_calcs=("mean", "max"),
            legend_placement="right",
            description="Mean run time of each task's instances finishing in the window. A task slower than usual "
            "hints at more input data or a slow upstream system.",
        ),
        timeseries(
            "Task finishes by state", af.ti_finish_by_task, width=12, min=0, stacked=True, fill_opacity=30,
            legend_placement="right",
            description="Task instances finishing per second, per task and state. Failed or up_for_retry: read that "
            "task's log for the run in the Airflow UI.",
        ),
        timeseries(
            "Failed and retried tasks", af.ti_failed_by_task, width=12, min=0, draw_style="bars",
            thresholds=thresholds("green", (0.001, "red")),
            description="Task instances ending failed or up_for_retry per second, per task. A task that keeps "
            "failing: fix its cause; retries only hide it and hold slots.",
        ),
        timeseries(
            "Task instance states", af.ti_running, af.ti_queued, af.ti_scheduled, af.ti_deferred,
            width=12, min=0, legend_placement="right",
            description="Task instances currently running, queued, scheduled or deferred, per task. Many queued or "
            "scheduled for long: executor or pool slots are exhausted.",
        ),
    ],
)

waiting = Row(
    "Where tasks wait",
    [
        timeseries(
            "Scheduled → queued", af.task_scheduled_duration, width=12, min=0, draw_style="points",
            description="Mean time task instances spent scheduled before being queued, per task. High: pool or "
            "concurrency limits (max_active_tasks) hold them back.",
        ),
        timeseries(
            "Queued → running", af.task_queued_duration, width=12, min=0, draw_style="points",
            description="Mean time task instances spent queued before starting, per task. High: workers are full "
            "or slow to start (image pulls, pod scheduling).",
        ),
    ],
)

dashboard = Dashboard(
    key="airflow-dag",
    title="Airflow DAG detail",
    description="Runs and tasks of the chosen DAGs: durations, outcomes, delays and task instance states.",
    tags=("airflow",),
    variables=[DimensionVariable(af.DAG), DimensionVariable(af.TASK, depends_on=(af.DAG,))],
    links=[DashboardLink("Airflow overview", "airflow-overview")],
    rows=[runs, tasks, waiting],
    time_from="now-3h",
)
