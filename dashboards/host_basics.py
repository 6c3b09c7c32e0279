"""A small host dashboard: CPU and memory per host. The fuller `system` dashboard builds on the same catalog."""

from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.dashboard import Dashboard, DimensionVariable
from airflow_dash.panels import Row, thresholds, timeseries

dashboard = Dashboard(
    key="host-basics",
    title="Host basics",
    description="CPU and memory of the hosts running Airflow.",
    tags=("system",),
    variables=[DimensionVariable(HOST)],
    rows=[
        Row(
            "Host",
            [
                timeseries("CPU busy", host.cpu_busy, min=0, max=100, thresholds=thresholds("green", (80, "orange"), (90, "red"))),
                timeseries("Memory used", host.memory_used, min=0, max=100, thresholds=thresholds("green", (80, "orange"), (90, "red"))),
            ],
        )
    ],
)
