"""Host alerts: disks that fill up, memory that runs out (node_exporter / Telegraf system inputs)."""

from airflow_dash.alerts import Alert, Forecast, Threshold
from airflow_dash.catalog import host

disk_full_soon = Alert(
    name="HostDiskWillFillIn24h",
    condition=Forecast(host.disk_free, horizon="24h", op="<", value=0),
    window="6h",
    for_="30m",
    severity="warning",
    group="host",
    summary="Disk {mountpoint} on {host} fills up within a day",
    description="At the pace of the last 6 hours, {mountpoint} on {host} runs out of space within 24 hours "
    "(forecast: {value} bytes free).",
    runbook="Find what grows (`du -xh --max-depth=2 {mountpoint} | sort -h`): usually Airflow task logs or "
    "the metadata database. Clean old logs (log retention, `airflow db clean`) or grow the volume.",
    dashboard="system",
    panel="Disk space free",
)

disk_almost_full = Alert(
    name="HostDiskAlmostFull",
    condition=Threshold(host.disk_used, ">", 90),
    window="5m",
    for_="10m",
    severity="critical",
    group="host",
    summary="Disk {mountpoint} on {host} is over 90% full",
    description="{mountpoint} on {host} is {value}% full; at 100% tasks and the metadata database fail.",
    runbook="Free space now: delete old task logs, rotate container logs (`docker system df`), then make the "
    "cleanup permanent or grow the volume.",
    dashboard="system",
    panel="Disk space used",
)

memory_almost_full = Alert(
    name="HostMemoryAlmostFull",
    condition=Threshold(host.memory_used, ">", 90),
    window="5m",
    for_="10m",
    severity="warning",
    group="host",
    summary="Memory on {host} is over 90% used",
    description="{host} uses {value}% of its memory; the OOM killer may end Airflow workers.",
    runbook="Find the largest processes (`ps aux --sort=-rss | head`); lower worker concurrency or add "
    "memory. Watch the memory pressure panel: sustained pressure means the host is really short.",
    dashboard="system",
    panel="Memory used",
)

memory_pressure = Alert(
    name="HostMemoryPressure",
    condition=Threshold(host.memory_pressure, ">", 10),
    window="5m",
    for_="10m",
    severity="warning",
    group="host",
    summary="Tasks on {host} stall waiting for memory",
    description="Some task on {host} stalled on memory {value}% of the time (PSI) over the last 5 minutes.",
    runbook="The host reclaims or swaps memory all the time: see Memory used and Swap used, find the process "
    "that grew, lower concurrency or add memory.",
    dashboard="system",
    panel="Pressure stall (PSI)",
)

alerts = [disk_full_soon, disk_almost_full, memory_almost_full, memory_pressure]
