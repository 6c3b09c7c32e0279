"""billing_report: a DAG whose run FAILS (leaf task exits non-zero); one task succeeds first.

prepare (Bash, ok) -> render (Python, ok) -> upload (Bash, exit 1) ; prepare -> skip_marker (Empty)
"""
from __future__ import annotations

import datetime as dt

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


def _render(**_):
    return "report.pdf"


with DAG(
    dag_id="billing_report",
    schedule=dt.timedelta(minutes=2),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    tags=["statsd-capture"],
) as dag:
    prepare = BashOperator(task_id="prepare", bash_command="echo preparing")
    render = PythonOperator(task_id="render", python_callable=_render)
    upload = BashOperator(task_id="upload", bash_command="echo 'upload target unreachable' >&2; exit 1")
    marker = EmptyOperator(task_id="marker")

    prepare >> render >> upload
    prepare >> marker
