"""Telegraf-shaped line protocol for tests: what Telegraf's system and Docker inputs write to InfluxDB.

Measurements, tags, fields and field types follow the input READMEs in
shared/reference/content/telegraf/telegraf-inputs-{cpu,mem,disk,diskio,net,system,processes,swap,kernel}-README.md
and docker/telegraf-inputs-docker-README.md, with Telegraf's defaults:
- every point carries the agent's `host` tag (`hostname = "$HOST_NAME"`);
- inputs.system with the default `include = ["legacy"]`: three `system` points per gather (load/users/cpus,
  `uptime`, `uptime_format`);
- inputs.kernel with `collect = ["psi"]` adds the `pressure` measurement (resource/type tags);
- inputs.net reports up interfaces except loopback, plus the protocol counters under `interface=all`;
- inputs.disk drops tmpfs/overlay/squashfs... by its default `ignore_fs`; inputs.diskio reports every
  device of /proc/diskstats (whole disks, partitions, loop devices);
- inputs.docker with `perdevice_include = ["cpu"]` and `total_include = ["cpu", "blkio", "network"]`:
  per-CPU and `cpu-total` CPU points, `network=total` and `device=total` points.

Counters grow at a steady, slightly jittered rate; gauges wander. `system_points` / `docker_points` return
`Point`s; `to_line_protocol` renders them; `schema(points)` lists measurement -> (tags, fields).
"""

from __future__ import annotations

from airflow_dash.escaping import line_protocol_key
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

HOSTS = ("airflow-scheduler-1", "airflow-worker-1")
STEP_S = 10
CPUS = ("cpu0", "cpu1")
CONTAINERS = {
    "airflow-scheduler-1": ("airflow-scheduler", "airflow-webserver", "postgres", "redis"),
    "airflow-worker-1": ("airflow-worker", "airflow-triggerer"),
}
IMAGES = {
    "airflow-scheduler": ("apache/airflow", "2.10.5"),
    "airflow-webserver": ("apache/airflow", "2.10.5"),
    "airflow-worker": ("apache/airflow", "2.10.5"),
    "airflow-triggerer": ("apache/airflow", "2.10.5"),
    "postgres": ("postgres", "16"),
    "redis": ("redis", "7.2"),
}
GIB = 1024**3


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, int | float | bool | str]
    time_s: int


def _field_value(value: int | float | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_line_protocol(points: Iterable[Point]) -> list[str]:
    lines = []
    for point in points:
        tags = "".join(f",{line_protocol_key(k)}={line_protocol_key(v)}" for k, v in sorted(point.tags.items()))
        fields = ",".join(f"{line_protocol_key(k)}={_field_value(v)}" for k, v in point.fields.items())
        lines.append(f"{line_protocol_key(point.measurement)}{tags} {fields} {int(point.time_s) * 1_000_000_000}")
    return lines


def schema(points: Iterable[Point]) -> dict[str, tuple[set[str], dict[str, type]]]:
    """measurement -> (tag keys, {field: python type}) over all points."""
    result: dict[str, tuple[set[str], dict[str, type]]] = {}
    for point in points:
        tags, fields = result.setdefault(point.measurement, (set(), {}))
        tags.update(point.tags)
        for name, value in point.fields.items():
            known = fields.setdefault(name, type(value))
            if known is not type(value):
                raise AssertionError(f"{point.measurement}.{name}: {known.__name__} and {type(value).__name__}")
    return result


def _times(start_s: int, end_s: int, step_s: int) -> list[int]:
    return list(range(int(start_s) - int(start_s) % step_s, int(end_s) + 1, step_s))


class _Counter:
    """A monotonically growing integer counter with a jittered per-second rate."""

    def __init__(self, rng: random.Random, start: int, per_second: float) -> None:
        self.rng, self.value, self.per_second = rng, start, per_second

    def step(self, seconds: int) -> int:
        self.value += int(self.per_second * seconds * self.rng.uniform(0.6, 1.4))
        return self.value


def _counters(rng: random.Random, rates: Mapping[str, float]) -> dict[str, _Counter]:
    return {name: _Counter(rng, rng.randint(10_000, 1_000_000), rate) for name, rate in rates.items()}


def system_points(start_s: float, end_s: float, hosts: Iterable[str] = HOSTS, step_s: int = STEP_S, seed: int = 7) -> list[Point]:
    """cpu, mem, disk, diskio, net, system, processes, swap, kernel and pressure points for each host."""
    rng = random.Random(seed)
    out: list[Point] = []
    for host in hosts:
        out.extend(_host_points(rng, host, _times(int(start_s), int(end_s), step_s), step_s))
    return out


def _host_points(rng: random.Random, host: str, times: list[int], step_s: int) -> Iterator[Point]:
    base = {"host": host}
    cpu_time = {cpu: {m: rng.uniform(1e3, 1e5) for m in _CPU_MODES} for cpu in ("cpu-total", *CPUS)}
    disks = {  # name -> (serial or None, counter rates)
        "vda": "BTRFS0001",
        "vda1": "BTRFS0001",
        "vdb": "DATA0002",
        "loop0": None,
    }
    diskio = {name: _counters(rng, _DISKIO_RATES if not name.startswith("loop") else {k: 0.0 for k in _DISKIO_RATES}) for name in disks}
    nics = {name: _counters(rng, _NET_RATES) for name in ("eth0", "docker0")}
    protocol = _counters(rng, {"tcp_activeopens": 2, "tcp_passiveopens": 3, "tcp_retranssegs": 0.2, "udp_indatagrams": 5})
    kernel = _counters(rng, {"context_switches": 4000, "disk_pages_in": 20, "disk_pages_out": 50, "interrupts": 3000,
                             "processes_forked": 12})
    pressure = {(res, kind): _Counter(rng, rng.randint(1_000_000, 9_000_000), rate)
                for res, kind, rate in (("cpu", "some", 80_000.0), ("cpu", "full", 0.0), ("memory", "some", 5_000.0),
                                        ("memory", "full", 2_000.0), ("io", "some", 30_000.0), ("io", "full", 10_000.0))}
    boot_time = times[0] - rng.randint(86_400, 30 * 86_400)
    total_mem = 16 * GIB
    swap_total = 2 * GIB
    filesystems = {"/": ("ext4", "vda1", 100 * GIB), "/data": ("xfs", "vdb", 500 * GIB)}
    for t in times:
        # cpu: cumulative times per mode (seconds) and usage in percent, for cpu-total and each CPU.
        for cpu in ("cpu-total", *CPUS):
            usage = {"user": rng.uniform(10, 40), "system": rng.uniform(3, 10), "iowait": rng.uniform(0, 5),
                     "steal": rng.uniform(0, 2), "nice": 0.0, "irq": 0.0, "softirq": rng.uniform(0, 1),
                     "guest": 0.0, "guest_nice": 0.0}
            usage["idle"] = max(0.0, 100.0 - sum(usage.values()))
            share = 1 if cpu != "cpu-total" else len(CPUS)
            for mode in _CPU_MODES:
                cpu_time[cpu][mode] += usage[mode] / 100 * step_s * share
            fields: dict = {f"time_{m}": round(cpu_time[cpu][m], 2) for m in _CPU_MODES}
            fields["time_active"] = round(sum(v for m, v in cpu_time[cpu].items() if m not in ("idle", "iowait")), 2)
            fields.update({f"usage_{m}": float(usage[m]) for m in _CPU_MODES})
            fields["usage_active"] = float(100.0 - usage["idle"] - usage["iowait"])
            yield Point("cpu", {**base, "cpu": cpu}, fields, t)
        # mem
        available = int(total_mem * rng.uniform(0.3, 0.6))
        free, cached, buffered = int(available * 0.4), int(available * 0.5), 200 * 1024**2
        used = total_mem - free - cached - buffered
        yield Point("mem", base, {
            "active": used, "available": available, "available_percent": available / total_mem * 100,
            "buffered": buffered, "cached": cached, "commit_limit": 10 * GIB, "committed_as": 6 * GIB,
            "dirty": 4096 * rng.randint(0, 100), "free": free, "high_free": 0, "high_total": 0,
            "huge_pages_free": 0, "huge_page_size": 2 * 1024**2, "huge_pages_total": 0, "inactive": cached,
            "low_free": 0, "low_total": 0, "mapped": 300 * 1024**2, "page_tables": 30 * 1024**2,
            "shared": 50 * 1024**2, "slab": 400 * 1024**2, "sreclaimable": 300 * 1024**2,
            "sunreclaim": 100 * 1024**2, "swap_cached": 0, "swap_free": swap_total - 128 * 1024**2,
            "swap_total": swap_total, "total": total_mem, "used": used, "used_percent": used / total_mem * 100,
            "vmalloc_chunk": 0, "vmalloc_total": 32 * 1024**4, "vmalloc_used": 40 * 1024**2,
            "write_back": 0, "write_back_tmp": 0,
        }, t)  # fmt: skip
        # disk (tmpfs/overlay are dropped by Telegraf's default ignore_fs, so none are written)
        for path, (fstype, device, size) in filesystems.items():
            used_b = int(size * rng.uniform(0.4, 0.7))
            free_b = size - used_b
            inodes_total = size // (16 * 1024)
            inodes_used = int(inodes_total * rng.uniform(0.1, 0.3))
            yield Point("disk", {**base, "fstype": fstype, "device": device, "path": path, "mode": "rw"}, {
                "free": free_b, "total": size, "used": used_b, "used_percent": used_b / (used_b + free_b) * 100,
                "inodes_free": inodes_total - inodes_used, "inodes_total": inodes_total,
                "inodes_used": inodes_used, "inodes_used_percent": inodes_used / inodes_total * 100,
            }, t)  # fmt: skip
        # diskio
        for name, serial in disks.items():
            tags = {**base, "name": name} | ({"serial": serial} if serial else {})
            fields = {field: counter.step(step_s) for field, counter in diskio[name].items()}
            fields["iops_in_progress"] = rng.randint(0, 3)
            yield Point("diskio", tags, fields, t)
        # net: interfaces, then the protocol counters under interface=all
        for name, counters in nics.items():
            fields = {field: counter.step(step_s) for field, counter in counters.items()}
            fields["speed"] = 10000 if name == "eth0" else -1
            yield Point("net", {**base, "interface": name}, fields, t)
        yield Point("net", {**base, "interface": "all"}, {k: c.step(step_s) for k, c in protocol.items()}, t)
        # system, legacy include: three points
        yield Point("system", base, {
            "load1": rng.uniform(0.2, 3.0), "load5": rng.uniform(0.5, 2.5), "load15": rng.uniform(0.5, 2.0),
            "n_users": 1, "n_unique_users": 1, "n_cpus": len(CPUS), "n_physical_cpus": 1,
        }, t)  # fmt: skip
        yield Point("system", base, {"uptime": t - boot_time}, t)
        days, rest = divmod(t - boot_time, 86_400)
        yield Point("system", base, {"uptime_format": f"{days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d}"}, t)
        # processes
        running, blocked = rng.randint(1, 6), rng.randint(0, 2)
        sleeping = rng.randint(150, 250)
        yield Point("processes", base, {
            "blocked": blocked, "running": running, "sleeping": sleeping, "stopped": 0,
            "total": running + blocked + sleeping + 40, "zombie": 0, "dead": 0, "idle": 40, "paging": 0,
            "parked": 0, "total_threads": 900,
        }, t)  # fmt: skip
        # swap
        swap_used = 128 * 1024**2
        yield Point("swap", base, {
            "free": swap_total - swap_used, "total": swap_total, "used": swap_used,
            "used_percent": swap_used / swap_total * 100, "in": 4096 * 10, "out": 4096 * 30,
        }, t)  # fmt: skip
        # kernel (+ pressure with collect = ["psi"])
        fields = {"boot_time": boot_time, **{k: c.step(step_s) for k, c in kernel.items()}, "entropy_avail": 256}
        yield Point("kernel", base, fields, t)
        # linux_sysctl_fs (fs.file-nr, fs.file-max...)
        yield Point("linux_sysctl_fs", base, {
            "file-nr": rng.randint(2000, 6000), "file-max": 9223372036854775807 // 2**40, "inode-nr": 80000,
            "inode-free-nr": 20000, "aio-nr": 0, "aio-max-nr": 65536, "dentry-nr": 150000,
        }, t)  # fmt: skip
        for (resource, kind), counter in pressure.items():
            avg = counter.per_second / 1e4
            yield Point("pressure", {**base, "resource": resource, "type": kind}, {
                "avg10": avg, "avg60": avg, "avg300": avg, "total": counter.step(step_s),
            }, t)  # fmt: skip


_CPU_MODES = ("user", "system", "idle", "nice", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
_DISKIO_RATES = {
    "reads": 20, "writes": 60, "read_bytes": 800_000, "write_bytes": 2_000_000, "read_time": 30,
    "write_time": 90, "io_time": 120, "weighted_io_time": 150, "merged_reads": 2, "merged_writes": 10,
}  # fmt: skip
_NET_RATES = {
    "bytes_sent": 200_000, "bytes_recv": 500_000, "packets_sent": 300, "packets_recv": 500, "err_in": 0.05,
    "err_out": 0.02, "drop_in": 0.1, "drop_out": 0.05,
}  # fmt: skip


# --- Docker -------------------------------------------------------------------------------------------------

_MEM_FIELDS = (
    "total_pgmajfault", "cache", "mapped_file", "total_inactive_file", "pgpgout", "rss", "total_mapped_file",
    "writeback", "unevictable", "pgpgin", "total_unevictable", "pgmajfault", "total_rss", "total_rss_huge",
    "total_writeback", "total_inactive_anon", "rss_huge", "hierarchical_memory_limit", "total_pgfault",
    "total_active_file", "active_anon", "total_active_anon", "total_pgpgout", "total_cache", "inactive_anon",
    "active_file", "pgfault", "inactive_file", "total_pgpgin", "max_usage", "usage", "failcnt", "limit",
)  # fmt: skip


def docker_points(start_s: float, end_s: float, containers: Mapping[str, Iterable[str]] | None = None,
                  step_s: int = STEP_S, seed: int = 11) -> list[Point]:
    """docker, docker_container_{mem,cpu,net,blkio,status} points for each host's containers."""
    rng = random.Random(seed)
    out: list[Point] = []
    for host, names in (containers or CONTAINERS).items():
        out.extend(_docker_host_points(rng, host, tuple(names), _times(int(start_s), int(end_s), step_s), step_s))
    return out


def _docker_host_points(rng: random.Random, host: str, names: tuple[str, ...], times: list[int], step_s: int) -> Iterator[Point]:
    engine = {"host": host, "engine_host": host, "server_version": "27.3.1"}
    host_memory = 16 * GIB
    state = {}
    for name in names:
        state[name] = {
            "id": "%064x" % rng.getrandbits(256),
            "started_at": (times[0] - rng.randint(600, 86_400)) * 1_000_000_000,
            "cpu_ns": _Counter(rng, rng.randint(10**9, 10**12), 3e8),
            "cpu_user": _Counter(rng, 10**9, 2e8),
            "cpu_kernel": _Counter(rng, 10**9, 5e7),
            "throttled_periods": _Counter(rng, 100, 0.5),
            "throttled_time": _Counter(rng, 10**8, 2e7),
            "periods": _Counter(rng, 10_000, 10),
            "net": _counters(rng, {"rx_bytes": 50_000, "tx_bytes": 30_000, "rx_packets": 80, "tx_packets": 60,
                                   "rx_errors": 0.01, "tx_errors": 0.01, "rx_dropped": 0.05, "tx_dropped": 0.02}),
            "blkio_bytes": _counters(rng, {"read": 100_000, "write": 400_000}),
            "blkio_ops": _counters(rng, {"read": 5, "write": 20}),
            "limit": 4 * GIB if name.startswith("airflow-worker") else host_memory,
        }
    for t in times:
        yield Point("docker", engine, {
            "n_used_file_descriptors": 60, "n_cpus": 4, "n_containers": len(names) + 1,
            "n_containers_running": len(names), "n_containers_stopped": 1, "n_containers_paused": 0,
            "n_images": 7, "n_goroutines": 80, "n_listener_events": 0,
        }, t)  # fmt: skip
        yield Point("docker", {**engine, "unit": "bytes"}, {"memory_total": host_memory}, t)
        for name in names:
            s = state[name]
            image, version = IMAGES.get(name, (name, "latest"))
            tags = {**engine, "container_image": image, "container_name": name, "container_status": "running",
                    "container_version": version}
            usage = int(rng.uniform(0.2, 0.8) * min(s["limit"], 2 * GIB))
            mem: dict = {field: rng.randint(0, 10_000) for field in _MEM_FIELDS}
            mem.update({"usage": usage, "limit": s["limit"], "max_usage": usage + GIB // 8,
                        "hierarchical_memory_limit": 9223372036854771712, "failcnt": 0})
            mem["usage_percent"] = usage / s["limit"] * 100
            mem["container_id"] = s["id"]
            yield Point("docker_container_mem", tags, mem, t)
            total_before = s["cpu_ns"].value
            total = s["cpu_ns"].step(step_s)
            yield Point("docker_container_cpu", {**tags, "cpu": "cpu-total"}, {
                "throttling_periods": s["periods"].step(step_s),
                "throttling_throttled_periods": s["throttled_periods"].step(step_s),
                "throttling_throttled_time": s["throttled_time"].step(step_s),
                "usage_in_kernelmode": s["cpu_kernel"].step(step_s), "usage_in_usermode": s["cpu_user"].step(step_s),
                "usage_system": t * 4 * 1_000_000_000, "usage_total": total,
                "usage_percent": (total - total_before) / (step_s * 1e9) * 100, "container_id": s["id"],
            }, t)  # fmt: skip
            for index, cpu in enumerate(CPUS):
                yield Point("docker_container_cpu", {**tags, "cpu": cpu},
                            {"usage_total": total // len(CPUS) + index, "container_id": s["id"]}, t)
            net = {field: counter.step(step_s) for field, counter in s["net"].items()}
            yield Point("docker_container_net", {**tags, "network": "total"}, {**net, "container_id": s["id"]}, t)
            read_b, write_b = s["blkio_bytes"]["read"].step(step_s), s["blkio_bytes"]["write"].step(step_s)
            read_o, write_o = s["blkio_ops"]["read"].step(step_s), s["blkio_ops"]["write"].step(step_s)
            blkio = {}
            for prefix, (read, write) in (("io_service_bytes_recursive", (read_b, write_b)),
                                          ("io_serviced_recursive", (read_o, write_o))):
                blkio.update({f"{prefix}_async": read + write, f"{prefix}_read": read, f"{prefix}_sync": 0,
                              f"{prefix}_total": read + write, f"{prefix}_write": write})
            yield Point("docker_container_blkio", {**tags, "device": "total"}, {**blkio, "container_id": s["id"]}, t)
            yield Point("docker_container_status", tags, {
                "container_id": s["id"], "oomkilled": False, "pid": 1000 + len(name), "exitcode": 0,
                "started_at": s["started_at"], "finished_at": 0,
                "uptime_ns": t * 1_000_000_000 - s["started_at"],
            }, t)  # fmt: skip
