"""Host signals: node_exporter on Prometheus, Telegraf's system inputs on InfluxDB."""

from airflow_dash.catalog.dimensions import HOST
from airflow_dash.catalog.model import Signal, TelegrafSeries
from airflow_dash.query import promql as P
from airflow_dash.query.values import Affine

cpu_busy = Signal(
    key="host.cpu_busy",
    title="CPU busy",
    unit="percent",
    description="Share of CPU time not idle, averaged over all cores. Sustained values above 90% delay "
    "Airflow's scheduler loop and task start-up: add cores or lower parallelism.",
    prometheus=lambda s: 100 * (1 - P.avg(P.rate(s.metric("node_cpu_seconds_total", mode="idle"))).by(*s.by)),
    telegraf=TelegrafSeries("cpu", "usage_idle", where={"cpu": "cpu-total"}, transform=Affine(-1, 100)),
    dimensions=(HOST,),
    group_by=(HOST,),
)

memory_used = Signal(
    key="host.memory_used",
    title="Memory used",
    unit="percent",
    description="Memory in use, excluding page cache and reclaimable buffers. Above 90% the kernel starts "
    "reclaiming aggressively and the OOM killer may end Airflow workers.",
    prometheus=lambda s: 100
    * (1 - P.sum(s.metric("node_memory_MemAvailable_bytes")).by(*s.by) / P.sum(s.metric("node_memory_MemTotal_bytes")).by(*s.by)),
    telegraf=TelegrafSeries("mem", "used_percent"),
    dimensions=(HOST,),
    group_by=(HOST,),
)
