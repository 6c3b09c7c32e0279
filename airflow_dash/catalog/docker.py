"""Docker container signals: cAdvisor on Prometheus, Telegraf's inputs.docker on InfluxDB.

Sources: cAdvisor's Prometheus metric list (labels `id`, `name`, `image`, `instance`, `job`; `cpu` on CPU
usage, `interface` on network, `device` on filesystem I/O), grafana docker-mixin, dockprom, and Telegraf's
docker input README. cAdvisor also reports cgroups that are not containers (system slices, the root
cgroup): they have no `name`, and every query here keeps named containers only. Telegraf is assumed with
its defaults: `total_include = ["cpu", "blkio", "network"]`, so CPU, network and block I/O are read from the
accumulated series (`cpu="cpu-total"`, `network="total"`, `device="total"`).

CPU is in percent of one core on both stacks (cAdvisor's rate × 100, Telegraf's `usage_percent`): a
container using two cores shows 200%.

>>> from airflow_dash.catalog import docker
>>> docker.cpu_usage.unit, [d.name for d in docker.cpu_usage.group_by], docker.cpu_usage.telegraf.measurement
('percent', ['host', 'container'], 'docker_container_cpu')
"""

from dataclasses import replace
from typing import Any

from airflow_dash.catalog.dimensions import CONTAINER, DOCKER_HOST
from airflow_dash.catalog.model import COUNTER, PromDefinition, PromScope, Signal, TelegrafSeries, Unsupported
from airflow_dash.query import promql as P
from airflow_dash.query.values import INTERVAL, Affine, Regex

NAMED = Regex(".+")  # cAdvisor: only cgroups that are Docker containers carry a name
PER_CONTAINER = (DOCKER_HOST, CONTAINER)


def _named(s: PromScope, name: str) -> P.Selector:
    selector = s.metric(name)
    if "name" not in s.filters:
        selector = selector.where(name=NAMED)
    return selector


def _per_docker_host(**fields: Any) -> Signal:
    """A signal with one series per Docker host, filtered by the host variable (the host's own figures)."""
    return Signal(dimensions=(DOCKER_HOST,), group_by=(DOCKER_HOST,), **fields)


def _per_container(key: str, title: str, unit: str, description: str, prometheus: PromDefinition | Unsupported,
                   telegraf: TelegrafSeries | Unsupported, legend_suffix: str = "") -> Signal:
    return Signal(
        key=f"docker.{key}",
        title=title,
        unit=unit,
        description=description,
        prometheus=prometheus,
        telegraf=telegraf,
        dimensions=PER_CONTAINER,
        group_by=PER_CONTAINER,
        legend="{container}" + (f" {legend_suffix}" if legend_suffix else "") + " @ {host}",
    )


# --- overview -----------------------------------------------------------------------------------------------

containers_running = _per_docker_host(
    key="docker.containers_running",
    title="Running containers",
    unit="short",
    description="Containers running on the host. A drop means Airflow services (scheduler, workers, "
    "webserver, triggerer) stopped or are restarting: check their uptime below and `docker ps -a`.",
    prometheus=lambda s: P.count(_named(s, "container_last_seen")).by(*s.by),
    telegraf=TelegrafSeries("docker", "n_containers_running", aggregate="last"),
)

host_cpu_cores = _per_docker_host(
    key="docker.host_cpu_cores",
    title="CPU cores",
    unit="short",
    description="Logical CPUs the Docker host offers its containers: 100% container CPU is one of them.",
    prometheus=lambda s: P.max(s.metric("machine_cpu_cores")).by(*s.by),
    telegraf=TelegrafSeries("docker", "n_cpus", aggregate="last"),
)

host_memory = _per_docker_host(
    key="docker.host_memory",
    title="Host memory",
    unit="bytes",
    description="Memory of the Docker host: the ceiling for containers without a memory limit.",
    prometheus=lambda s: P.max(s.metric("machine_memory_bytes")).by(*s.by),
    telegraf=TelegrafSeries("docker", "memory_total", aggregate="last"),
)

# --- CPU ----------------------------------------------------------------------------------------------------

cpu_usage = _per_container(
    "cpu_usage", "Container CPU", "percent",
    "CPU used by each container, in percent of one core (200% = two cores busy). A worker pinned at its CPU "
    "limit runs tasks slowly: check throttling, raise the limit or lower worker concurrency.",
    lambda s: s.rate_sum(_named(s, "container_cpu_usage_seconds_total"), 100.0),
    TelegrafSeries("docker_container_cpu", "usage_percent", where={"cpu": "cpu-total"}),
)  # fmt: skip

cpu_throttled = _per_container(
    "cpu_throttled", "CPU throttled", "percent",
    "Share of wall-clock time each container's threads were held back by its CPU quota (--cpus), summed over its "
    "cores: 100% = one core's worth of work waiting every second. Above 0 for long means the limit is too low "
    "for the work: tasks and heartbeats get slower.",
    # Seconds throttled per second x 100 (Telegraf reports nanoseconds: x 1e-7). A rate of time per time in a
    # time unit ("ns") read as a duration: 250 ms meant a quarter of a core waiting every second.
    lambda s: s.rate_sum(_named(s, "container_cpu_cfs_throttled_seconds_total"), 100.0),
    TelegrafSeries("docker_container_cpu", "throttling_throttled_time", kind=COUNTER, where={"cpu": "cpu-total"},
                   transform=Affine(1e-7)),
)  # fmt: skip

# --- memory -------------------------------------------------------------------------------------------------

memory_usage = _per_container(
    "memory_usage", "Container memory", "bytes",
    "Memory used by each container (cAdvisor: working set, what the OOM killer looks at; Telegraf: `usage`, "
    "which also counts page cache). Compare with the limit: at the limit the container is OOM-killed.",
    lambda s: P.sum(_named(s, "container_memory_working_set_bytes")).by(*s.by),
    TelegrafSeries("docker_container_mem", "usage"),
)  # fmt: skip
memory_usage = replace(memory_usage, caveat="cAdvisor's working set leaves reclaimable page cache out; Telegraf's "
                       "docker `usage` counts it, so InfluxDB shows more for containers doing file I/O.")

memory_limit_used = _per_container(
    "memory_limit_used", "Memory of limit", "percent",
    "Memory used as a share of the container's memory limit (cAdvisor: containers with a limit only; "
    "Telegraf: without a limit, Docker reports the host memory as the limit). Above 90% an Airflow worker is "
    "close to being OOM-killed mid-task: raise the limit or lower concurrency.",
    lambda s: 100
    * P.sum(_named(s, "container_memory_working_set_bytes")).by(*s.by)
    / P.sum(_named(s, "container_spec_memory_limit_bytes").gt(0)).by(*s.by),
    TelegrafSeries("docker_container_mem", "usage_percent"),
)  # fmt: skip

oom_events = _per_container(
    "oom_events", "OOM kills", "short",
    "Out-of-memory kills inside each container per interval. Any is bad: a task or service died. Raise the "
    "memory limit or reduce concurrency.",
    # Windows of exactly the step: a wider one ($__rate_interval) counts one kill in several bars, as fractions.
    lambda s: P.sum(P.increase(_named(s, "container_oom_events_total"), INTERVAL)).by(*s.by),
    Unsupported("Telegraf's docker input has only a boolean `oomkilled` of the container's last exit "
                "(docker_container_status), not a count of OOM kills"),
)  # fmt: skip

# --- network ------------------------------------------------------------------------------------------------

_NET = "Bits per second each container receives / sends (all its interfaces)."
net_receive = _per_container(
    "net_receive", "Network receive", "bps", _NET,
    lambda s: s.rate_sum(_named(s, "container_network_receive_bytes_total"), 8.0),
    TelegrafSeries("docker_container_net", "rx_bytes", kind=COUNTER, where={"network": "total"}, transform=Affine(8)),
    "rx",
)  # fmt: skip
net_transmit = _per_container(
    "net_transmit", "Network transmit", "bps", _NET,
    lambda s: s.rate_sum(_named(s, "container_network_transmit_bytes_total"), 8.0),
    TelegrafSeries("docker_container_net", "tx_bytes", kind=COUNTER, where={"network": "total"}, transform=Affine(8)),
    "tx",
)  # fmt: skip

_NET_ERRORS = ("Packets per second with errors or dropped, per container. Should be 0; drops under load mean "
               "full buffers on the Docker bridge.")  # fmt: skip
net_receive_errors = _per_container(
    "net_receive_errors", "Receive errors", "pps", _NET_ERRORS,
    lambda s: s.rate_sum(_named(s, "container_network_receive_errors_total")),
    TelegrafSeries("docker_container_net", "rx_errors", kind=COUNTER, where={"network": "total"}), "rx errors",
)  # fmt: skip
net_transmit_errors = _per_container(
    "net_transmit_errors", "Transmit errors", "pps", _NET_ERRORS,
    lambda s: s.rate_sum(_named(s, "container_network_transmit_errors_total")),
    TelegrafSeries("docker_container_net", "tx_errors", kind=COUNTER, where={"network": "total"}), "tx errors",
)  # fmt: skip
net_receive_drops = _per_container(
    "net_receive_drops", "Receive drops", "pps", _NET_ERRORS,
    lambda s: s.rate_sum(_named(s, "container_network_receive_packets_dropped_total")),
    TelegrafSeries("docker_container_net", "rx_dropped", kind=COUNTER, where={"network": "total"}), "rx drops",
)  # fmt: skip
net_transmit_drops = _per_container(
    "net_transmit_drops", "Transmit drops", "pps", _NET_ERRORS,
    lambda s: s.rate_sum(_named(s, "container_network_transmit_packets_dropped_total")),
    TelegrafSeries("docker_container_net", "tx_dropped", kind=COUNTER, where={"network": "total"}), "tx drops",
)  # fmt: skip

# --- block I/O ----------------------------------------------------------------------------------------------

_BLKIO = {"device": "total"}
blkio_read_bytes = _per_container(
    "blkio_read_bytes", "Block read", "Bps", "Bytes per second each container reads from block devices.",
    lambda s: s.rate_sum(_named(s, "container_fs_reads_bytes_total")),
    TelegrafSeries("docker_container_blkio", "io_service_bytes_recursive_read", kind=COUNTER, where=_BLKIO), "read",
)  # fmt: skip
blkio_write_bytes = _per_container(
    "blkio_write_bytes", "Block write", "Bps",
    "Bytes per second each container writes to block devices. A container writing a lot (logs, a local "
    "database) competes with the metadata database for the disk.",
    lambda s: s.rate_sum(_named(s, "container_fs_writes_bytes_total")),
    TelegrafSeries("docker_container_blkio", "io_service_bytes_recursive_write", kind=COUNTER, where=_BLKIO),
    "write",
)  # fmt: skip
blkio_reads = _per_container(
    "blkio_reads", "Block reads", "iops", "Read operations per second per container.",
    lambda s: s.rate_sum(_named(s, "container_fs_reads_total")),
    TelegrafSeries("docker_container_blkio", "io_serviced_recursive_read", kind=COUNTER, where=_BLKIO), "read",
)  # fmt: skip
blkio_writes = _per_container(
    "blkio_writes", "Block writes", "iops", "Write operations per second per container.",
    lambda s: s.rate_sum(_named(s, "container_fs_writes_total")),
    TelegrafSeries("docker_container_blkio", "io_serviced_recursive_write", kind=COUNTER, where=_BLKIO), "write",
)  # fmt: skip

# --- lifecycle ----------------------------------------------------------------------------------------------

uptime = _per_container(
    "uptime", "Container uptime", "ns",
    "Time since each container (re)started. A drop to 0 is a restart: a crash loop shows as a saw-tooth; read "
    "the container's logs (`docker logs`) and its exit code.",
    # In nanoseconds, Telegraf's unit (see cpu_throttled); Grafana's ns unit scales up to days.
    lambda s: P.max(P.time() - _named(s, "container_start_time_seconds")).by(*s.by) * 1e9,
    TelegrafSeries("docker_container_status", "uptime_ns", aggregate="last"),
)  # fmt: skip
