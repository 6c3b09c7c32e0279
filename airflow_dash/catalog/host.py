"""Host signals: node_exporter on Prometheus, Telegraf's system inputs on InfluxDB.

Sources: Node Exporter Full (grafana.com 1860), node-mixin, Telegraf dashboard 928, and the Telegraf input
READMEs (cpu, mem, disk, diskio, net, system, processes, swap, kernel). Fixed filters keep what a person
looks at: real filesystems (node_exporter: tmpfs/overlay/squashfs... excluded here; Telegraf's disk input
excludes them by its default `ignore_fs`), whole disks (not partitions, loop or zram devices), and network
interfaces other than loopback (Telegraf's net input skips loopback by default).

>>> from airflow_dash.catalog import host
>>> host.cpu_busy.unit, host.cpu_busy.telegraf.measurement
('percent', 'cpu')
"""

from airflow_dash.catalog.dimensions import DISK, HOST, INTERFACE, MOUNTPOINT
from typing import Any

from airflow_dash.catalog.model import COUNTER, PromScope, Signal, TelegrafSeries
from airflow_dash.query import promql as P
from airflow_dash.query.values import Affine, Regex

# Pseudo and in-memory filesystems: not where Airflow's logs, DAGs or databases live.
PSEUDO_FILESYSTEMS = ("tmpfs", "ramfs", "devtmpfs", "overlay", "squashfs", "aufs", "iso9660", "nsfs", "fuse.lxcfs")
# Whole block devices (no partitions, loop or zram), on node_exporter and Telegraf diskio alike.
WHOLE_DISKS = Regex(r"^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+|dm-[0-9]+|md[0-9]+|rbd[0-9]+|dasd[a-z]+)$")
LOOPBACK = "lo"


def _per_host(**fields: Any) -> Signal:
    """A signal with one series per host, filtered by the host variable (most host signals)."""
    return Signal(dimensions=(HOST,), group_by=(HOST,), **fields)


def _filesystem(s: PromScope, name: str) -> P.Selector:
    return s.metric(name).where_not(fstype=PSEUDO_FILESYSTEMS)


def _disk(s: PromScope, name: str) -> P.Selector:
    return s.metric(name, device=WHOLE_DISKS)


def _nic(s: PromScope, name: str) -> P.Selector:
    return s.metric(name).where_not(device=LOOPBACK)


# --- CPU ----------------------------------------------------------------------------------------------------

cpu_busy = _per_host(
    key="host.cpu_busy",
    title="CPU busy",
    unit="percent",
    description="Share of CPU time not idle, averaged over all cores. Sustained values above 90% delay "
    "Airflow's scheduler loop and task start-up: add cores or lower parallelism.",
    prometheus=lambda s: 100 * (1 - P.avg(P.rate(s.metric("node_cpu_seconds_total", mode="idle"))).by(*s.by)),
    telegraf=TelegrafSeries("cpu", "usage_idle", where={"cpu": "cpu-total"}, transform=Affine(-1, 100)),
)


def _cpu_mode(mode: str, title: str, advice: str) -> Signal:
    return _per_host(
        key=f"host.cpu_{mode}",
        title=f"CPU {title}",
        unit="percent",
        description=f"Share of CPU time spent in {title} mode, averaged over all cores. {advice}",
        prometheus=lambda s: 100 * P.avg(P.rate(s.metric("node_cpu_seconds_total", mode=mode))).by(*s.by),
        telegraf=TelegrafSeries("cpu", f"usage_{mode}", where={"cpu": "cpu-total"}),
        legend="{host} " + mode,
    )


cpu_user = _cpu_mode("user", "user", "High user time is the work itself (task code, the scheduler parsing DAGs).")
cpu_system = _cpu_mode(
    "system", "system", "High system time points at the kernel: many processes forking, syscalls, network I/O."
)
cpu_iowait = _cpu_mode(
    "iowait", "I/O wait", "CPUs idle while waiting for disk: above a few percent the disks are the bottleneck."
)
cpu_steal = _cpu_mode(
    "steal", "steal", "Time the hypervisor gave to other guests: sustained steal means a noisy neighbour or an "
    "oversubscribed VM; move to a larger or dedicated instance."
)

cpu_cores = _per_host(
    key="host.cpu_cores",
    title="CPU cores",
    unit="short",
    description="Logical CPUs of the host. Compare with the load average and Airflow's parallelism.",
    prometheus=lambda s: P.count(s.metric("node_cpu_seconds_total", mode="idle")).by(*s.by),
    telegraf=TelegrafSeries("system", "n_cpus", aggregate="last"),
)


def _load(minutes: int) -> Signal:
    return _per_host(
        key=f"host.load{minutes}",
        title=f"Load {minutes}m",
        unit="short",
        description=f"{minutes}-minute load average: processes running or waiting for CPU or disk. Above the "
        "number of cores, work queues up; check CPU busy and I/O wait.",
        prometheus=lambda s: P.sum(s.metric(f"node_load{minutes}")).by(*s.by),
        telegraf=TelegrafSeries("system", f"load{minutes}"),
        legend="{host} " + f"{minutes}m",
    )


load1 = _load(1)
load5 = _load(5)
load15 = _load(15)

load1_per_core = _per_host(
    key="host.load1_per_core",
    title="Load 1m per core",
    unit="short",
    description="1-minute load average divided by the number of cores. Above 1 processes wait for CPU "
    "(or for disk, in uninterruptible sleep); above 2 for long, Airflow tasks and the scheduler slow down.",
    prometheus=lambda s: P.sum(s.metric("node_load1")).by(*s.by)
    / P.count(s.metric("node_cpu_seconds_total", mode="idle")).by(*s.by),
    telegraf=TelegrafSeries("system", "load1", divide_by="n_cpus"),
)

def _pressure(resource: str, title: str, description: str) -> Signal:
    """Pressure stall information (PSI, "some" line) for one resource, as a percentage of time.

    node_exporter exposes the stalled seconds as a counter; Telegraf's inputs.kernel (collect = ["psi"]) the
    cumulative stalled microseconds as `total`, hence the 1e-4 factor (µs/s → %)."""
    return _per_host(
        key=f"host.{resource}_pressure",
        title=title,
        unit="percent",
        description=description,
        prometheus=lambda s: s.rate_sum(s.metric(f"node_pressure_{resource}_waiting_seconds_total"), 100),
        telegraf=TelegrafSeries(
            "pressure", "total", kind=COUNTER, where={"resource": resource, "type": "some"}, transform=Affine(1e-4)
        ),
        legend="{host} " + resource,
    )


cpu_pressure = _pressure(
    "cpu",
    "CPU pressure",
    "Pressure stall information (PSI): share of time some runnable task waited for a CPU. Sustained values "
    "above 20-30% mean tasks are slowed by CPU contention. Telegraf: inputs.kernel with collect = [\"psi\"].",
)
memory_pressure = _pressure(
    "memory",
    "Memory pressure",
    "PSI: share of time some task stalled waiting for memory (reclaim, swap-in). Anything sustained above a "
    "few percent means the host is short of memory.",
)
io_pressure = _pressure(
    "io",
    "I/O pressure",
    "PSI: share of time some task stalled waiting for block I/O. Sustained high values mean the disks hold "
    "work back: check disk I/O time and IOPS.",
)

# --- memory -------------------------------------------------------------------------------------------------

memory_used = _per_host(
    key="host.memory_used",
    title="Memory used",
    unit="percent",
    description="Memory in use, excluding page cache and reclaimable buffers. Above 90% the kernel starts "
    "reclaiming aggressively and the OOM killer may end Airflow workers.",
    prometheus=lambda s: 100
    * (1 - P.sum(s.metric("node_memory_MemAvailable_bytes")).by(*s.by) / P.sum(s.metric("node_memory_MemTotal_bytes")).by(*s.by)),
    # 100 x (1 - available / total) on both stacks: Telegraf's used_percent is (total - free - buffers - cache)
    # / total, which leaves out unreclaimable cache (shmem, tmpfs) that MemAvailable counts as used.
    telegraf=TelegrafSeries("mem", "available", divide_by="total", transform=Affine(-100.0, 100.0)),
)

memory_total = _per_host(
    key="host.memory_total",
    title="Memory total",
    unit="bytes",
    description="Physical memory of the host: what Airflow workers, the scheduler and the database share.",
    prometheus=lambda s: P.sum(s.metric("node_memory_MemTotal_bytes")).by(*s.by),
    telegraf=TelegrafSeries("mem", "total", aggregate="last"),
)

memory_used_bytes = _per_host(
    key="host.memory_used_bytes",
    title="Memory used",
    unit="bytes",
    description="Memory in use by processes and the kernel (total minus available on node_exporter; "
    "Telegraf's `used`, total minus free, buffers and cache). When it approaches the total, expect swapping "
    "and OOM kills.",
    prometheus=lambda s: P.sum(s.metric("node_memory_MemTotal_bytes")).by(*s.by)
    - P.sum(s.metric("node_memory_MemAvailable_bytes")).by(*s.by),
    telegraf=TelegrafSeries("mem", "used"),
    legend="{host} used",
    caveat="node_exporter: total minus available; Telegraf's `used`: total minus free, buffers and cache, so "
    "unreclaimable cache (shmem, tmpfs) counts as used on Prometheus only.",
)

memory_available = _per_host(
    key="host.memory_available",
    title="Memory available",
    unit="bytes",
    description="Memory the kernel can give to new work without swapping (free plus reclaimable cache). "
    "Near zero, new Airflow task processes get OOM-killed.",
    prometheus=lambda s: P.sum(s.metric("node_memory_MemAvailable_bytes")).by(*s.by),
    telegraf=TelegrafSeries("mem", "available"),
    legend="{host} available",
)

memory_cached = _per_host(
    key="host.memory_cached",
    title="Memory cached",
    unit="bytes",
    description="Page cache and reclaimable kernel slab (free's `cache` column without buffers): file data "
    "and kernel caches kept in memory, given back when processes need it. A shrinking cache under load means "
    "memory is getting tight.",
    # Telegraf's `cached` on Linux is gopsutil's Cached + SReclaimable (as free(1) counts cache): the same sum here.
    prometheus=lambda s: P.sum(s.metric("node_memory_Cached_bytes")).by(*s.by)
    + P.sum(s.metric("node_memory_SReclaimable_bytes")).by(*s.by),
    telegraf=TelegrafSeries("mem", "cached"),
    legend="{host} cached",
)

swap_used = _per_host(
    key="host.swap_used",
    title="Swap used",
    unit="bytes",
    description="Swap space in use. Growing swap while memory is full means the host is short of memory and "
    "tasks slow down a lot; 0 on hosts without swap.",
    prometheus=lambda s: P.sum(s.metric("node_memory_SwapTotal_bytes")).by(*s.by)
    - P.sum(s.metric("node_memory_SwapFree_bytes")).by(*s.by),
    telegraf=TelegrafSeries("swap", "used"),
    legend="{host} swap",
)

# --- filesystems --------------------------------------------------------------------------------------------


def _df_used_percent(size: P.Expr, free: P.Expr, avail: P.Expr) -> P.Expr:
    """df's Use% (Telegraf's `used_percent`): used / (used + available to non-root), used = size - free.

    Blocks reserved for root count neither as used nor as available, so 1 - avail/size (which counts them
    as used) reads far higher on filesystems with a large reservation."""
    used = size - free
    return 100 * used / (used + avail)


disk_used = Signal(
    key="host.disk_used",
    title="Disk space used",
    unit="percent",
    description="Share of each real filesystem in use, as df's Use%: used / (used + available to non-root "
    "users), so space reserved for root counts on neither side. Airflow's task "
    "logs fill disks: above 85% clean logs (airflow db clean, log retention) or grow the volume; at 100% "
    "tasks and the metadata database fail.",
    prometheus=lambda s: _df_used_percent(
        *(P.sum(_filesystem(s, f"node_filesystem_{name}_bytes")).by(*s.by) for name in ("size", "free", "avail"))
    ),
    telegraf=TelegrafSeries("disk", "used_percent"),
    dimensions=(HOST, MOUNTPOINT),
    group_by=(HOST, MOUNTPOINT),
)

disk_used_max = _per_host(
    key="host.disk_used_max",
    title="Fullest disk",
    unit="percent",
    description="Space used on the host's fullest real filesystem. Above 85%, find which mount point in the "
    "Disk row and free space before tasks fail.",
    prometheus=lambda s: P.max(
        _df_used_percent(*(_filesystem(s, f"node_filesystem_{name}_bytes") for name in ("size", "free", "avail")))
    ).by(*s.by),
    telegraf=TelegrafSeries("disk", "used_percent", aggregate="max"),
)

disk_free = Signal(
    key="host.disk_free",
    title="Disk space free",
    unit="bytes",
    description="Space left on each real filesystem for non-root users. Compare with how fast logs and "
    "databases grow.",
    prometheus=lambda s: P.sum(_filesystem(s, "node_filesystem_avail_bytes")).by(*s.by),
    telegraf=TelegrafSeries("disk", "free"),
    dimensions=(HOST, MOUNTPOINT),
    group_by=(HOST, MOUNTPOINT),
)

inodes_used = Signal(
    key="host.inodes_used",
    title="Inodes used",
    unit="percent",
    description="Share of each filesystem's inodes (file entries) in use. Many small task log files can "
    "exhaust inodes while space is left: at 100% no file can be created; delete old logs.",
    prometheus=lambda s: 100
    * (
        1
        - P.sum(_filesystem(s, "node_filesystem_files_free")).by(*s.by)
        / P.sum(_filesystem(s, "node_filesystem_files")).by(*s.by)
    ),
    telegraf=TelegrafSeries("disk", "inodes_used_percent"),
    dimensions=(HOST, MOUNTPOINT),
    group_by=(HOST, MOUNTPOINT),
)

# --- disk I/O -----------------------------------------------------------------------------------------------


def _diskio(key: str, title: str, unit: str, description: str, node_metric: str, telegraf_field: str, direction: str,
            scale: float = 1.0, telegraf_scale: float | None = None) -> Signal:
    return Signal(
        key=f"host.{key}",
        title=title,
        unit=unit,
        description=description,
        prometheus=lambda s: s.rate_sum(_disk(s, node_metric), scale),
        telegraf=TelegrafSeries(
            "diskio", telegraf_field, kind=COUNTER, where={"name": WHOLE_DISKS},
            transform=Affine(scale if telegraf_scale is None else telegraf_scale),
        ),
        dimensions=(HOST, DISK),
        group_by=(HOST, DISK),
        legend="{host} {disk}" + (f" {direction}" if direction else ""),
    )


disk_read_bytes = _diskio(
    "disk_read_bytes", "Disk read", "Bps", "Bytes read per second from each disk. Compare with the disk's "
    "throughput limit (cloud volumes are capped).",
    "node_disk_read_bytes_total", "read_bytes", "read",
)  # fmt: skip
disk_write_bytes = _diskio(
    "disk_write_bytes", "Disk write", "Bps", "Bytes written per second to each disk. Sustained writes near the "
    "disk's limit slow the metadata database and task logs.",
    "node_disk_written_bytes_total", "write_bytes", "write",
)  # fmt: skip
disk_reads = _diskio(
    "disk_reads", "Disk reads", "iops", "Read operations completed per second on each disk. Cloud volumes "
    "have an IOPS quota shared by reads and writes.",
    "node_disk_reads_completed_total", "reads", "read",
)  # fmt: skip
disk_writes = _diskio(
    "disk_writes", "Disk writes", "iops", "Write operations completed per second on each disk. Cloud volumes "
    "have an IOPS quota: flat at a round number means you hit it.",
    "node_disk_writes_completed_total", "writes", "write",
)  # fmt: skip
disk_io_time = _diskio(
    "disk_io_time", "Disk I/O time", "percent", "Share of time each disk was busy with I/O. Near 100% the "
    "disk is saturated (for a single spinning disk; SSDs and arrays serve requests in parallel): expect I/O "
    "wait and slow tasks.",
    "node_disk_io_time_seconds_total", "io_time", "", 100.0, 0.1,  # Telegraf: ms per second x 0.1 = percent
)  # fmt: skip

# --- network ------------------------------------------------------------------------------------------------


# node_exporter's netdev lists every interface; Telegraf's net input skips those not up (IFF_UP, net.go).
NET_DOWN_INTERFACES = ("node_exporter also lists network interfaces that are down, which Telegraf's net input skips: "
                       "on Prometheus they are extra series, at zero.")


def _net(key: str, title: str, unit: str, description: str, node_metric: str, telegraf_field: str, direction: str,
         scale: float = 1.0) -> Signal:
    return Signal(
        key=f"host.{key}",
        title=title,
        unit=unit,
        description=description,
        prometheus=lambda s: s.rate_sum(_nic(s, node_metric), scale),
        telegraf=TelegrafSeries("net", telegraf_field, kind=COUNTER, transform=Affine(scale)),
        dimensions=(HOST, INTERFACE),
        group_by=(HOST, INTERFACE),
        legend="{host} {interface} " + direction,
        caveat=NET_DOWN_INTERFACES,
    )


net_receive = _net(
    "net_receive", "Network receive", "bps", "Bits received per second on each interface (loopback excluded). "
    "Flat at the link speed means the network is the bottleneck.",
    "node_network_receive_bytes_total", "bytes_recv", "in", 8.0,
)  # fmt: skip
net_transmit = _net(
    "net_transmit", "Network transmit", "bps", "Bits sent per second on each interface (loopback excluded).",
    "node_network_transmit_bytes_total", "bytes_sent", "out", 8.0,
)  # fmt: skip
_ERRORS = ("Packets with errors or dropped per second. Should be 0: steady errors point at a bad link, cable "
           "or driver; drops at full buffers (raise ring buffers or reduce traffic).")  # fmt: skip
net_receive_errors = _net(
    "net_receive_errors", "Receive errors", "pps", _ERRORS, "node_network_receive_errs_total", "err_in", "rx errors"
)
net_transmit_errors = _net(
    "net_transmit_errors", "Transmit errors", "pps", _ERRORS, "node_network_transmit_errs_total", "err_out",
    "tx errors",
)
net_receive_drops = _net(
    "net_receive_drops", "Receive drops", "pps", _ERRORS, "node_network_receive_drop_total", "drop_in", "rx drops"
)
net_transmit_drops = _net(
    "net_transmit_drops", "Transmit drops", "pps", _ERRORS, "node_network_transmit_drop_total", "drop_out",
    "tx drops",
)

# --- processes and kernel -----------------------------------------------------------------------------------

# node_exporter reads the kernel's runnable and blocked task counts (/proc/stat procs_running, procs_blocked:
# threads); Telegraf's processes input counts processes by the state in /proc/<pid>/stat, one per process.
RUNNABLE_THREADS = ("Prometheus (node_exporter, /proc/stat) counts threads, Telegraf (/proc/<pid>/stat) counts "
                    "processes, each at its own sampling instant: Prometheus shows more on a host with many "
                    "threads.")

procs_running = _per_host(
    key="host.procs_running",
    title="Processes running",
    unit="short",
    description="Processes running or ready to run. Persistently more than the cores means CPU contention.",
    prometheus=lambda s: P.sum(s.metric("node_procs_running")).by(*s.by),
    telegraf=TelegrafSeries("processes", "running"),
    caveat=RUNNABLE_THREADS,
    legend="{host} running",
)

procs_blocked = _per_host(
    key="host.procs_blocked",
    title="Processes blocked",
    unit="short",
    description="Processes in uninterruptible sleep, usually waiting for disk or NFS. More than a few for "
    "long means storage is slow.",
    prometheus=lambda s: P.sum(s.metric("node_procs_blocked")).by(*s.by),
    telegraf=TelegrafSeries("processes", "blocked"),
    caveat=RUNNABLE_THREADS,
    legend="{host} blocked",
)

context_switches = _per_host(
    key="host.context_switches",
    title="Context switches",
    unit="ops",
    description="Context switches per second. A sudden rise with high system CPU means too many busy "
    "processes or threads (e.g. too many Airflow worker slots for the cores).",
    prometheus=lambda s: s.rate_sum(s.metric("node_context_switches_total")),
    telegraf=TelegrafSeries("kernel", "context_switches", kind=COUNTER),
    legend="{host} context switches",
)

forks = _per_host(
    key="host.forks",
    title="Processes forked",
    unit="ops",
    description="New processes per second. Airflow's local/Celery executors fork a process per task and the "
    "scheduler forks DAG file processors: a jump with no matching task load hints at a crash loop.",
    prometheus=lambda s: s.rate_sum(s.metric("node_forks_total")),
    telegraf=TelegrafSeries("kernel", "processes_forked", kind=COUNTER),
    legend="{host} forks",
)

file_descriptors = _per_host(
    key="host.file_descriptors",
    title="File descriptors used",
    unit="percent",
    description="Allocated file handles as a share of the kernel maximum (fs.file-max). Near 100% new "
    "connections and files fail with 'Too many open files'. node_exporter's filefd collector.",
    prometheus=lambda s: 100
    * P.sum(s.metric("node_filefd_allocated")).by(*s.by)
    / P.sum(s.metric("node_filefd_maximum")).by(*s.by),
    telegraf=TelegrafSeries("linux_sysctl_fs", "file-nr", divide_by="file-max", transform=Affine(100)),
)

uptime = _per_host(
    key="host.uptime",
    title="Uptime",
    unit="s",
    description="Time since the host booted. A reset means a reboot: check whether Airflow's services came "
    "back.",
    prometheus=lambda s: P.sum(s.metric("node_time_seconds")).by(*s.by) - P.sum(s.metric("node_boot_time_seconds")).by(*s.by),
    telegraf=TelegrafSeries("system", "uptime", aggregate="last"),
)
