"""team.etl_groups: a DOTTED dag id with TaskGroups (one nested), a pool, a retry and a deferrable task.

Task ids (TaskGroup prefixes make them dotted):
  grp.extract (Bash) -> grp.inner.transform (Python, pool etl_pool) -> grp.inner.flaky (fails once, then
  succeeds on its retry) -> wait_deferred (defers to the triggerer for 5 s) -> publish (Empty)

The run succeeds. Airflow puts both ids into StatsD names as they are (`ti.finish.team.etl_groups.grp.inner.
flaky.success`), which is what the collector mappings must cope with.
"""
from __future__ import annotations

import datetime as dt
import time

# Imports that work on Airflow 2.10 and 3.x. (Airflow's safe-mode parsing only looks at files
# that contain both "airflow" and "dag", so the imports live in each DAG file.)
try:  # Airflow 3.x: authoring API lives in the task SDK
    from airflow.sdk import DAG, BaseOperator, TaskGroup
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.models import BaseOperator
    from airflow.utils.task_group import TaskGroup
try:  # Airflow 3.x (and 2.x with apache-airflow-providers-standard installed)
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
except ImportError:  # Airflow 2.x core operators
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import PythonOperator
    from airflow.triggers.temporal import TimeDeltaTrigger


class WaitDeferred(BaseOperator):
    """Defers to the triggerer (TimeDeltaTrigger), then finishes: a deferrable sensor in miniature."""

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(dt.timedelta(seconds=5)), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return "waited"


def _transform(**_):
    time.sleep(1)
    return {"rows": 7}


def _flaky(ti=None, **_):
    if ti is not None and ti.try_number <= 1:
        raise RuntimeError("first attempt fails on purpose (retry for the StatsD capture)")
    return "ok on retry"


with DAG(
    dag_id="team.etl_groups",
    schedule=dt.timedelta(minutes=1),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["statsd-capture"],
) as dag:
    with TaskGroup("grp") as grp:
        extract = BashOperator(task_id="extract", bash_command="echo extracting; sleep 1")
        with TaskGroup("inner") as inner:
            transform = PythonOperator(task_id="transform", python_callable=_transform, pool="etl_pool")
            flaky = PythonOperator(task_id="flaky", python_callable=_flaky, retries=1,
                                   retry_delay=dt.timedelta(seconds=3))
            transform >> flaky
        extract >> inner
    wait = WaitDeferred(task_id="wait_deferred")
    publish = EmptyOperator(task_id="publish")
    grp >> wait >> publish
