"""Airflow overview: is Airflow healthy, and where is it stuck? One screen, top to bottom:

health at a glance (stats) → scheduler → executor & pools → task outcomes → DAG runs → DAG processing →
triggerer. Panels about DAGs link to the DAG dashboard with the chosen DAGs and time range.
"""

from airflow_dash.catalog import airflow as af
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.panels import PanelLink, Query, Row, stat, thresholds, timeseries

TO_DAG = (PanelLink("DAG detail", "airflow-dag"),)

health = Row(
    "Health",
    [
        stat(
            "Scheduler heartbeats", af.scheduler_heartbeat,
            thresholds=thresholds("red", (0.001, "green")), decimals=2,
            description="Scheduler heartbeats per second. Red (0): no scheduler is running or it is stuck, "
            "nothing gets queued; check the scheduler process and its logs.",
        ),
        stat(
            "Import errors", af.import_errors, thresholds=thresholds("green", (1, "red")), decimals=0,
            description="DAG files that fail to import. Red: those DAGs are not scheduled; run "
            "`airflow dags list-import-errors` or see Browse → Import errors.",
        ),
        stat(
            "Executor open slots", af.executor_open_slots, thresholds=thresholds("orange", (1, "green")), decimals=0,
            description="Free executor slots. Orange (0): new tasks wait for the executor; raise "
            "[core] parallelism or add workers.",
        ),
        stat(
            "Starving tasks", af.tasks_starving, thresholds=thresholds("green", (1, "orange")), decimals=0,
            description="Tasks that cannot run because their pool is full. Orange: raise the pool's slots "
            "(Pools row) or spread tasks over pools.",
        ),
        stat(
            "Task failures", af.ti_failures_count, thresholds=thresholds("green", (1, "red")), decimals=0,
            reduce="sum", interval="1m",
            description="Failed task instances over the dashboard's time range, all DAGs. Red while any failure "
            "is in the range: open Tasks below and the DAG dashboard to find the failing tasks.",
            links=TO_DAG,
        ),
        stat(
            "Scheduler loop", af.scheduler_loop_duration, thresholds=thresholds("green", (5, "orange"), (30, "red")),
            description="Mean scheduler loop duration. Orange above 5 s, red above 30 s: every task starts "
            "that much later; check the database and the critical section below.",
        ),
    ],
)

scheduler = Row(
    "Scheduler",
    [
        timeseries(
            "Heartbeats", af.scheduler_heartbeat, af.dag_processor_heartbeat, af.triggerer_heartbeat,
            width=8, min=0,
            description="Heartbeats per second of the scheduler, DAG processor and triggerer. A line at 0 "
            "(or missing) is a component that is down: restart it and read its logs.",
        ),
        timeseries(
            "Loop and critical section", af.scheduler_loop_duration, af.critical_section_duration, width=8, min=0,
            thresholds=thresholds("green", (5, "orange")),
            description="Mean scheduler loop and critical section durations. A critical section close to the "
            "loop time means the database lock is the bottleneck: tune the database or run one scheduler.",
        ),
        timeseries(
            "Executable and starving tasks", af.tasks_executable, af.tasks_starving, width=8, min=0,
            description="Tasks ready to queue vs tasks blocked by full pools. Starving tasks that stay: raise "
            "pool slots; executable tasks that stay: the executor has no open slot.",
        ),
    ],
)

executor_pools = Row(
    "Executor and pools",
    [
        timeseries(
            "Executor slots",
            Query(af.executor_open_slots, "{executor} open"),
            Query(af.executor_queued_tasks, "{executor} queued"),
            Query(af.executor_running_tasks, "{executor} running"),
            width=8, min=0,
            description="Open, queued and running executor slots. Open at 0 with a growing queue: raise "
            "[core] parallelism or add workers.",
        ),
        timeseries(
            "Pool slots by state",
            *(Query(signal, "{pool} " + state) for signal, state in (
                (af.pool_open_slots, "open"), (af.pool_running_slots, "running"), (af.pool_queued_slots, "queued"),
                (af.pool_scheduled_slots, "scheduled"), (af.pool_deferred_slots, "deferred"))),
           
            width=8, min=0,
            description="Slots per pool by state. A pool with no open slot and starving tasks limits throughput: "
            "raise its slots (Admin → Pools) if the systems it protects allow it.",
        ),
        timeseries(
            "Starving tasks per pool", af.pool_starving_tasks, width=8, min=0, thresholds=thresholds("green", (1, "orange")),
            description="Tasks waiting for a slot, per pool. Above 0 for long: raise that pool's slots or lower "
            "the concurrency of the DAGs using it.",
        ),
    ],
)

tasks = Row(
    "Tasks",
    [
        timeseries(
            "Task finishes by state", af.ti_finish_rate, width=8, min=0, stacked=True, fill_opacity=30,
            links=TO_DAG,
            description="Task instances finishing per second by final state, for the chosen DAGs. More failed or "
            "up_for_retry: open the DAG dashboard (panel link) to see which tasks.",
        ),
        timeseries(
            "Failures and successes", af.ti_failures_rate, af.ti_successes_rate, width=8, min=0,
            description="Task instances failing and succeeding per second, all DAGs. Failures rising while "
            "successes fall usually share one cause (a connection, a full disk): check the failing tasks' logs.",
        ),
        timeseries(
            "Killed tasks", af.zombies_killed, af.tasks_killed_externally, width=8, min=0,
            description="Tasks failed for lost heartbeats (zombies) and tasks killed outside Airflow. Either one "
            "above 0: check worker memory (OOM kills), evictions and worker-to-database connectivity.",
        ),
    ],
)

dag_runs = Row(
    "DAG runs",
    [
        timeseries(
            "Run duration: success vs failed",
            Query(af.dagrun_duration_success, "{dag_id} success"),
            Query(af.dagrun_duration_failed, "{dag_id} failed"),
            width=12, min=0, draw_style="points", links=TO_DAG,
            description="Mean duration of DAG runs ending in the window, per DAG and outcome. A run longer than "
            "its schedule interval delays the next run; open the DAG dashboard for per-task durations.",
        ),
        timeseries(
            "Schedule delay", af.dagrun_schedule_delay, width=12, min=0, draw_style="points", links=TO_DAG,
            thresholds=thresholds("green", (60, "orange")),
            description="How late DAG runs start compared with their schedule, per DAG. Growing delays: the "
            "scheduler is overloaded or max_active_runs is reached.",
        ),
    ],
)

dag_processing = Row(
    "DAG processing",
    [
        timeseries(
            "Import errors", af.import_errors, width=6, min=0, decimals=0, thresholds=thresholds("green", (1, "red")),
            description="DAG files failing to import. Above 0: fix the file (`airflow dags list-import-errors`); "
            "its DAGs are not scheduled meanwhile.",
        ),
        timeseries(
            "Total parse time", af.total_parse_time, width=6, min=0, thresholds=thresholds("green", (30, "orange")),
            description="Seconds to parse every DAG file once. Above 30 s, DAG changes take long to appear: move "
            "heavy top-level code into tasks (see the slowest files).",
        ),
        timeseries(
            "DAGs", af.dagbag_size, width=4, min=0, decimals=0,
            description="DAGs found by the last parsing loop. A drop without a deploy means files fail to import.",
        ),
        timeseries(
            "Slowest DAG files", af.slowest_dag_files, width=8, min=0, legend_calcs=("max", "mean"),
            legend_placement="right",
            description="Parse time per DAG file, the 10 slowest (all files on InfluxDB). Files over a few seconds "
            "delay every DAG change: move API calls and heavy imports into tasks.",
        ),
    ],
)

triggerer = Row(
    "Triggerer",
    [
        timeseries(
            "Triggers", Query(af.triggers_running, "{triggerer} running"),
            Query(af.triggerer_capacity_left, "{triggerer} capacity left"), width=24, height=6, min=0,
            description="Triggers running and capacity left across triggerers. Capacity at 0 makes deferred tasks "
            "wait: add triggerers or raise [triggerer] capacity.",
        ),
    ],
    collapsed=True,
)

dashboard = Dashboard(
    key="airflow-overview",
    title="Airflow overview",
    description="Scheduler, executor, pools, task outcomes, DAG runs and DAG processing of an Airflow deployment "
    "(StatsD metrics).",
    tags=("airflow",),
    variables=[DimensionVariable(af.DAG), DimensionVariable(af.POOL)],
    links=[DashboardLink("DAG detail", "airflow-dag")],
    rows=[health, scheduler, executor_pools, tasks, dag_runs, dag_processing, triggerer],
    time_from="now-3h",
)
