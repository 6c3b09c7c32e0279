"""etl_orders: a small ETL whose run SUCCEEDS although one task FAILS (after a retry).

extract (Bash) -> transform (Python, pool etl_pool) -> load (Python, all_done) -> publish (Empty)
extract -> check_late_orders (Python, always fails, retries=1) -> load

Leaf task `publish` succeeds, so the DAG run state is success while the task-instance
metrics contain a failed task and an up_for_retry attempt.
"""
from __future__ import annotations

import datetime as dt
import time

# Imports that work on Airflow 2.10 and 3.x. (Airflow's safe-mode parsing only looks at files
# that contain both "airflow" and "dag", so the imports live in each DAG file.)
try:  # Airflow 3.x: authoring API lives in the task SDK
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
try:  # Airflow 3.x (and 2.x with apache-airflow-providers-standard installed)
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2.x core operators
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import PythonOperator


def _transform(**_):
    time.sleep(2)
    return {"orders": 42}


def _check_late_orders(**_):
    raise RuntimeError("3 orders are late (deliberate failure for the StatsD capture)")


def _load(**_):
    time.sleep(1)
    return "loaded"


with DAG(
    dag_id="etl_orders",
    schedule=dt.timedelta(minutes=1),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0},
    tags=["statsd-capture"],
) as dag:
    start = EmptyOperator(task_id="start")
    extract = BashOperator(task_id="extract", bash_command="echo extracting; sleep 2")
    transform = PythonOperator(task_id="transform", python_callable=_transform, pool="etl_pool")
    check = PythonOperator(
        task_id="check_late_orders",
        python_callable=_check_late_orders,
        retries=1,
        retry_delay=dt.timedelta(seconds=3),
    )
    load = PythonOperator(task_id="load", python_callable=_load, trigger_rule="all_done")
    publish = EmptyOperator(task_id="publish")

    start >> extract >> [transform, check] >> load >> publish
