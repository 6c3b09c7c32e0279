"""Docker: the containers running Airflow (cAdvisor on Prometheus, Telegraf's docker input on InfluxDB).

Pick a host, then containers on it. Per-container CPU, memory against its limit, network, block I/O and
restarts; the System dashboard shows the host underneath.
"""

from airflow_dash.catalog import docker
from airflow_dash.catalog.dimensions import CONTAINER, DOCKER_HOST
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.panels import Row, stat, thresholds, timeseries

LIST = ("mean", "max", "lastNotNull")

dashboard = Dashboard(
    key="docker",
    title="Docker",
    description="Containers running Airflow: CPU, memory, network, block I/O and restarts.",
    tags=("docker", "containers"),
    variables=[DimensionVariable(DOCKER_HOST), DimensionVariable(CONTAINER, depends_on=(DOCKER_HOST,))],
    links=[DashboardLink("System (hosts)", "system")],
    rows=[
        Row(
            "Overview",
            [
                stat("Running containers", docker.containers_running, width=4, height=8, decimals=0,
                     thresholds=thresholds("red", (1, "green"))),
                stat("CPU cores", docker.host_cpu_cores, width=4, height=8, decimals=0),
                stat("Host memory", docker.host_memory, width=4, height=8),
                timeseries("Container uptime", docker.uptime, width=12, min=0),
            ],
        ),
        Row(
            "CPU",
            [
                timeseries("Container CPU", docker.cpu_usage, min=0, legend_calcs=LIST),
                timeseries("CPU throttled", docker.cpu_throttled, min=0, thresholds=thresholds("green", (10, "orange"), (50, "red"))),
            ],
        ),
        Row(
            "Memory",
            [
                timeseries("Container memory", docker.memory_usage, width=8, min=0, legend_calcs=LIST),
                timeseries("Memory of limit", docker.memory_limit_used, width=8, min=0, max=100,
                           thresholds=thresholds("green", (80, "orange"), (90, "red"))),
                timeseries("OOM kills", docker.oom_events, width=8, min=0, draw_style="bars", fill_opacity=80,
                           decimals=0, thresholds=thresholds("green", (1, "red")),
                           interval="1m"),  # increase() over the step needs 4 scrapes in it
            ],
        ),
        Row(
            "Network",
            [
                timeseries("Network traffic", docker.net_receive, docker.net_transmit, min=0, legend_calcs=LIST),
                timeseries("Network errors and drops", docker.net_receive_errors, docker.net_transmit_errors,
                           docker.net_receive_drops, docker.net_transmit_drops, min=0,
                           thresholds=thresholds("green", (1, "red"))),
            ],
        ),
        Row(
            "Block I/O",
            [
                timeseries("Block I/O throughput", docker.blkio_read_bytes, docker.blkio_write_bytes, min=0),
                timeseries("Block I/O operations", docker.blkio_reads, docker.blkio_writes, min=0),
            ],
        ),
    ],
)
