"""System: the hosts running Airflow (node_exporter on Prometheus, Telegraf on InfluxDB).

A compact take on Node Exporter Full / node-mixin / Telegraf 928: at-a-glance stats, then CPU, memory,
disk, network and processes, each panel saying what it shows and what to do when it looks bad.
"""

from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.panels import Row, gauge, stat, thresholds, timeseries

BUSY = thresholds("green", (80, "orange"), (90, "red"))
FULL = thresholds("green", (80, "orange"), (90, "red"))
LIST = ("mean", "max", "lastNotNull")

dashboard = Dashboard(
    key="system",
    title="System",
    description="Hosts running Airflow: CPU, memory, disk, network and processes.",
    tags=("system", "host"),
    variables=[DimensionVariable(HOST)],
    links=[DashboardLink("Docker containers", "docker")],
    rows=[
        Row(
            "Overview",
            [
                gauge("CPU busy", host.cpu_busy, min=0, max=100, thresholds=BUSY),
                gauge("Memory used", host.memory_used, min=0, max=100, thresholds=BUSY),
                gauge("Fullest disk", host.disk_used_max, min=0, max=100, thresholds=FULL),
                stat("Load 1m", host.load1, width=3, decimals=2),
                stat("CPU cores", host.cpu_cores, width=3, decimals=0),
                stat("Memory total", host.memory_total, width=3),
                stat("Uptime", host.uptime, width=3, decimals=1,
                     thresholds=thresholds("orange", (3600, "green"))),
            ],
        ),
        Row(
            "CPU",
            [
                timeseries("CPU busy", host.cpu_busy, width=8, min=0, max=100, thresholds=BUSY, legend_calcs=LIST),
                timeseries("CPU by mode", host.cpu_user, host.cpu_system, host.cpu_iowait, host.cpu_steal, width=8,
                           min=0, description="Where CPU time goes, in percent of all cores. " + " ".join(
                               s.description.split(". ", 1)[1] for s in (host.cpu_user, host.cpu_system, host.cpu_iowait, host.cpu_steal))),
                timeseries("Load average", host.load1, host.load5, host.load15, width=8, min=0,
                           description=host.load1.description.replace("1-minute load average", "Load averages over 1, 5 and 15 minutes")),
                timeseries("Load 1m per core", host.load1_per_core, min=0,
                           thresholds=thresholds("green", (1, "orange"), (2, "red"))),
                timeseries("Pressure stall (PSI)", host.cpu_pressure, host.memory_pressure, host.io_pressure, min=0,
                           thresholds=thresholds("green", (10, "orange"), (25, "red"))),
            ],
        ),
        Row(
            "Memory",
            [
                timeseries("Memory used", host.memory_used, width=8, min=0, max=100, thresholds=BUSY, legend_calcs=LIST),
                timeseries("Memory", host.memory_used_bytes, host.memory_available, host.memory_cached, width=8, min=0),
                timeseries("Swap used", host.swap_used, width=8, min=0),
            ],
        ),
        Row(
            "Disk",
            [
                timeseries("Disk space used", host.disk_used, width=8, min=0, max=100, thresholds=FULL, legend_calcs=("lastNotNull",)),
                timeseries("Disk space free", host.disk_free, width=8, min=0),
                timeseries("Inodes used", host.inodes_used, width=8, min=0, max=100, thresholds=FULL),
                timeseries("Disk throughput", host.disk_read_bytes, host.disk_write_bytes, width=8, min=0),
                timeseries("Disk IOPS", host.disk_reads, host.disk_writes, width=8, min=0),
                timeseries("Disk I/O time", host.disk_io_time, width=8, min=0, max=100, thresholds=BUSY),
            ],
        ),
        Row(
            "Network",
            [
                timeseries("Network traffic", host.net_receive, host.net_transmit, min=0, legend_calcs=LIST,
                           description="Bits received (in) and sent (out) per second on each interface, loopback "
                           "excluded. Flat at the link speed means the network is the bottleneck."),
                timeseries("Network errors and drops", host.net_receive_errors, host.net_transmit_errors,
                           host.net_receive_drops, host.net_transmit_drops, min=0,
                           thresholds=thresholds("green", (1, "red"))),
            ],
        ),
        Row(
            "Processes",
            [
                timeseries("Processes", host.procs_running, host.procs_blocked, width=8, min=0),
                timeseries("Context switches and forks", host.context_switches, host.forks, width=8, min=0),
                timeseries("File descriptors used", host.file_descriptors, width=8, min=0, max=100,
                           thresholds=thresholds("green", (70, "orange"), (90, "red"))),
            ],
        ),
    ],
)
