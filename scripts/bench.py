#!/usr/bin/env python3
"""Benchmarks as paired ratios on one machine (shared machines are noisy: no absolute thresholds anywhere).

Every measured row alternates our command and its yardstick run by run (which goes first alternates too) and
reports the median of the per-pair ratios with their spread (min-max). Yardsticks do the set-up ours does:
the grafanalib compile builds its objects inside the timer. Publish limits are computed from the number of
dashboards (N x latency / concurrency), not from the number of requests we happen to send. The README's
"Benchmarks" section explains each row. Writes the table as JSON (`--json`, default bench-results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY = 0.02  # seconds from a request's arrival at the emulator to its answer (a round trip)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
IMPORT_FLOOR = "import grafanalib.core, click"


# --- measuring ----------------------------------------------------------------------------------------------


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def paired(measured: Callable[[], object], yardstick: Callable[[], object], pairs: int,
           scale: tuple[float, float] = (1.0, 1.0)) -> dict:
    """Run `measured` and `yardstick` alternately `pairs` times; ratios are measured/yardstick per pair
    (each time divided by its `scale` first, e.g. a dashboard count)."""
    ours, theirs = [], []
    for index in range(pairs):
        if index % 2 == 0:
            ours.append(timed(measured) / scale[0])
            theirs.append(timed(yardstick) / scale[1])
        else:
            theirs.append(timed(yardstick) / scale[1])
            ours.append(timed(measured) / scale[0])
    ratios = [a / b for a, b in zip(ours, theirs)]
    return {"measured_s": statistics.median(ours), "yardstick_s": statistics.median(theirs),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios), "pairs": pairs}


def repeated(measured: Callable[[], float], limit: float, runs: int) -> dict:
    """For rows whose yardstick is a computed limit: `measured` returns its own time."""
    times = [measured() for _ in range(runs)]
    ratios = [t / limit for t in times]
    return {"measured_s": statistics.median(times), "yardstick_s": limit, "ratio": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios), "pairs": runs}


def row(name: str, yardstick: str, result: dict, target: str | None, met: bool | None, **extra) -> dict:
    rounded = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}
    print(f"  {name}: ratio {rounded.get('ratio', '-')} (target {target or '-'})", file=sys.stderr, flush=True)
    return {"benchmark": name, "yardstick": yardstick, **rounded, "target": target, "met": met, **extra}


def run_process(*command: str, env: dict | None = None, cwd: Path = ROOT) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env or BENCH_ENV)


# Both sides run with bytecode caches, as installed packages have them (pip writes them for grafanalib and
# click). PYTHONDONTWRITEBYTECODE, set on some machines, would leave only our editable checkout recompiling
# every module on every run: the package is byte-compiled once instead, as a wheel install would be.
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def byte_compile() -> None:
    run_process(sys.executable, "-m", "compileall", "-q", "airflow_dash", "dashboards", "alerts")


# --- build --------------------------------------------------------------------------------------------------


def bench_build(rows: list[dict], pairs: int) -> None:
    cli = (sys.executable, "-m", "airflow_dash.cli")
    floor = lambda: run_process(sys.executable, "-c", IMPORT_FLOOR)  # noqa: E731
    byte_compile()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        warm = {**BENCH_ENV, "AIRFLOW_DASH_CHECK_CACHE": str(scratch / "warm-cache")}
        out = str(scratch / "out")
        run_process(*cli, "build", "--out", out, env=warm)  # fills the caches and the output directory
        rebuild = paired(lambda: run_process(*cli, "build", "--out", out, env=warm), floor, pairs)
        rows.append(row("unchanged re-build (validated, cache warm)", "import floor", rebuild, "<= 1.5", rebuild["ratio"] <= 1.5))

        # One dashboards module edited (touched) before every run: the build runs, its checks come from the cache.
        project = scratch / "project"
        (project / "dashboards").mkdir(parents=True)
        team = project / "dashboards" / "team.py"
        team.write_text("import dataclasses\nfrom airflow_dash.bundled import system\n"
                        "dashboard = dataclasses.replace(system.dashboard, key='team-system', title='Team system')\n")
        edited_out = str(scratch / "out-edited")
        run_process(*cli, "build", "--out", edited_out, env=warm, cwd=project)

        def edited_build() -> None:
            os.utime(team)
            run_process(*cli, "build", "--out", edited_out, env=warm, cwd=project)

        edited = paired(edited_build, floor, pairs)
        rows.append(row("re-build after editing one module (check cache warm)", "import floor", edited, None, None))

        colds = iter(range(10**6))

        def cold_build() -> None:  # an empty cache every run: every query is checked, Flux in node
            env = {**BENCH_ENV, "AIRFLOW_DASH_CHECK_CACHE": str(scratch / f"cold-cache-{next(colds)}")}
            run_process(*cli, "build", "--out", str(scratch / "cold-out"), env=env)

        cold = paired(cold_build, floor, pairs)
        rows.append(row("cold validated build (empty cache)", "import floor", cold, "<= 3", cold["ratio"] <= 3))
        fast = paired(lambda: run_process(*cli, "build", "--no-validate", "--no-cache", "--out", out, env=warm), floor, pairs)
        rows.append(row("build --no-validate --no-cache (compile and write only)", "import floor", fast, None, None))
        help_ = paired(lambda: run_process(*cli, "--help"), floor, pairs)
        rows.append(row("airflow-dash --help", "import floor", help_, None, None))


# --- compile ------------------------------------------------------------------------------------------------


def generated_dashboards(count: int, folders: int = 1):
    from airflow_dash.catalog import host
    from airflow_dash.catalog.dimensions import HOST
    from airflow_dash.dashboard import Dashboard, DimensionVariable
    from airflow_dash.panels import Row, stat, thresholds, timeseries

    busy = thresholds("green", (80, "orange"), (90, "red"))
    return [
        Dashboard(
            key=f"gen-{i}",
            title=f"Generated {i}",
            folder=f"Team {i % folders}" if folders > 1 else None,
            variables=[DimensionVariable(HOST)],
            rows=[
                Row("Overview", [stat("CPU now", host.cpu_busy, thresholds=busy), stat("Memory now", host.memory_used)]),
                Row("Detail", [timeseries(f"CPU {j}", host.cpu_busy) for j in range(3)] + [timeseries("Memory", host.memory_used)]),
            ],
        )
        for i in range(count)
    ]


def ours_compile(count: int) -> Callable[[], object]:
    from airflow_dash.compile import compile_all

    return lambda: [c.to_json() for c in compile_all(generated_dashboards(count), ["prometheus"])]


def grafanalib_specs(count: int) -> list[dict]:
    """What a grafanalib user would write for the same dashboards, as literals: titles, query strings,
    units, sizes. Taken from our output once, outside any timer (in their code these are constants)."""
    from airflow_dash.compile import compile_all

    specs = []
    for compiled in compile_all(generated_dashboards(count), ["prometheus"]):
        model = compiled.model
        variable = model["templating"]["list"][1]
        panels = []
        for panel in model["panels"]:
            spec = {"type": panel["type"], "title": panel["title"], "gridPos": panel["gridPos"]}
            if panel["type"] != "row":
                defaults = panel["fieldConfig"]["defaults"]
                spec.update(unit=defaults.get("unit", ""), description=panel.get("description", ""),
                            targets=[(t["expr"], t.get("legendFormat", ""), t["refId"]) for t in panel["targets"]],
                            thresholds=[(s["value"], s["color"]) for s in defaults["thresholds"]["steps"]])
            panels.append(spec)
        specs.append({"title": compiled.title, "uid": compiled.uid, "tags": model["tags"], "panels": panels,
                      "variable": (variable["name"], variable["query"], variable["label"])})
    return specs


def grafanalib_compile(specs: list[dict]) -> Callable[[], object]:
    """grafanalib builds its objects from the literals inside the timer, then `to_json_data` + dumps."""
    import grafanalib.core as G
    from grafanalib._gen import DashboardEncoder

    datasource = {"type": "prometheus", "uid": "${datasource}"}

    def build_one(spec: dict) -> G.Dashboard:
        panels = []
        for p in spec["panels"]:
            grid = G.GridPos(**p["gridPos"])
            if p["type"] == "row":
                panels.append(G.RowPanel(title=p["title"], gridPos=grid))
                continue
            targets = [G.Target(expr=expr, legendFormat=legend, refId=ref, datasource=datasource) for expr, legend, ref in p["targets"]]
            steps = [G.Threshold(color, index, value if value is not None else 0.0) for index, (value, color) in enumerate(p["thresholds"])]
            common = dict(title=p["title"], description=p["description"], dataSource=datasource, targets=targets,
                          gridPos=grid, thresholds=steps)
            if p["type"] == "stat":
                panels.append(G.Stat(format=p["unit"], **common))
            else:
                panels.append(G.TimeSeries(unit=p["unit"], **common))
        name, query, label = spec["variable"]
        templating = G.Templating([G.Template(name="datasource", type="datasource", query="prometheus", default=""),
                                   G.Template(name=name, query=query, label=label, dataSource=datasource, includeAll=True, multi=True)])
        return G.Dashboard(title=spec["title"], uid=spec["uid"], tags=spec["tags"], panels=panels, templating=templating,
                           timezone="browser", sharedCrosshair=True)

    return lambda: [json.dumps(build_one(s).to_json_data(), cls=DashboardEncoder, sort_keys=True, indent=2) for s in specs]


def bench_compile(rows: list[dict], pairs: int) -> None:
    specs = grafanalib_specs(1000)
    ours_compile(50)(), grafanalib_compile(specs[:50])()  # warm up imports and caches on both sides
    result = paired(ours_compile(1000), grafanalib_compile(specs), pairs)
    rows.append(row("compile 1,000 dashboards (definitions -> JSON text)", "grafanalib: objects + to_json_data + dumps",
                    result, "<= 1.2", result["ratio"] <= 1.2))
    linear = paired(ours_compile(5000), ours_compile(100), max(3, pairs // 2), scale=(5000, 100))
    rows.append(row("compile per dashboard at 5,000 vs at 100 (1 = linear)", "same at 100", linear,
                    "0.9 - 1.1", 0.9 <= linear["ratio"] <= 1.1))


# --- publish ------------------------------------------------------------------------------------------------

# The emulator runs in its own process: in-process, it would share the client's GIL and skew the ratio.
# It stands for a Grafana on another machine behind a 20 ms network, whose answers do not wait for this
# machine's other work: so it asks for a higher CPU priority (where allowed), or on a loaded machine every
# answer would also wait for the scheduler to wake the emulator's latency timer, and the publisher would be
# charged for it. The publisher runs at normal priority: its own CPU and wake-ups under load are measured.
EMULATOR_NICE = -10
_EMULATOR_SERVER = """
import json, os, sys
from airflow_dash.testing.grafana_emulator import GrafanaEmulator
try:
    os.nice(int(sys.argv[2]))
except OSError:  # not permitted here: normal priority, and the results say so
    pass
nice = os.nice(0)
with GrafanaEmulator() as grafana:
    grafana.faults.latency = float(sys.argv[1])
    print(json.dumps({"url": grafana.url, "token": grafana.admin_token, "nice": nice}), flush=True)
    for command in sys.stdin:
        methods = [r.method for r in grafana.requests]
        grafana.reset_requests()
        print(json.dumps(methods), flush=True)
"""

# The publishing client, in a process of its own so its peak RSS is its own. Its peak is the kernel's high-water
# mark of this process's memory (VmHWM): ru_maxrss would carry over the bench's own peak (Linux keeps it across
# the exec of a spawned child), so every row measured after the compile rows read the same ~300 MiB.
_PUBLISHER = """
import json, resource, sys, time


def peak_kib():
    try:
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    except (OSError, StopIteration):  # not Linux: ru_maxrss, which may include the parent's peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


sys.path.insert(0, sys.argv[1])
from bench import generated_dashboards
from airflow_dash.compile import compile_all
from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards
from airflow_dash.build import deferred_dashboards
url, token, count, folders, concurrency = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
deferred = sys.argv[7] == "deferred"  # compiled one at a time inside publish (streamed) instead of all first
definitions = generated_dashboards(count, folders)
compiled = (deferred_dashboards if deferred else compile_all)(definitions, ["prometheus"])
options = PublishOptions(root_folder="Airflow", concurrency=concurrency)
before = peak_kib()
with GrafanaClient(url, token=token) as client:
    start = time.perf_counter()
    publish_dashboards(client, compiled, options)
    elapsed = time.perf_counter() - start
    print(json.dumps({"first_s": elapsed}), flush=True)
    sys.stdin.readline()  # the bench collects the first publish's requests
    start = time.perf_counter()
    publish_dashboards(client, compiled, options)
    print(json.dumps({"republish_s": time.perf_counter() - start, "rss_before_publish_kib": before,
                      "rss_peak_kib": peak_kib()}), flush=True)
"""


EMULATOR_PRIORITY: dict[str, int] = {}  # the niceness the emulator got, for the results


class EmulatorProcess:
    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _EMULATOR_SERVER, str(latency), str(EMULATOR_NICE)], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=BENCH_ENV)
        info = json.loads(self.process.stdout.readline())
        self.url, self.token = info["url"], info["token"]
        EMULATOR_PRIORITY["nice"] = info["nice"]

    def take_requests(self) -> list[str]:
        """Methods of the requests served since the last call."""
        self.process.stdin.write("requests\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def publish_once(count: int, folders: int, concurrency: int, deferred: bool = False) -> dict:
    """A first publish and a no-op republish of `count` generated dashboards to a fresh emulator; `deferred`:
    each compiled when publish asks for it (the streamed pipeline), not all before."""
    grafana = EmulatorProcess(LATENCY)
    try:
        publisher = subprocess.Popen(
            [sys.executable, "-c", _PUBLISHER, str(ROOT / "scripts"), grafana.url, grafana.token, str(count), str(folders),
             str(concurrency), "deferred" if deferred else "compiled"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=BENCH_ENV)
        first = json.loads(publisher.stdout.readline())
        first_requests = grafana.take_requests()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        second = json.loads(publisher.stdout.readline())
        publisher.wait(timeout=60)
        second_requests = grafana.take_requests()
    finally:
        grafana.close()
    return {**first, **second,
            "first_reads": sum(m not in WRITES for m in first_requests), "first_writes": sum(m in WRITES for m in first_requests),
            "republish_reads": sum(m not in WRITES for m in second_requests), "republish_writes": sum(m in WRITES for m in second_requests)}


def bench_publish(rows: list[dict], runs: int) -> None:
    byte_compile()  # as for build: modules publish imports on first use are not compiled inside the timer
    count = 500
    for concurrency, target in ((1, 1.5), (8, 2.0)):
        results = []

        def measure() -> float:
            results.append(publish_once(count, 1, concurrency))
            return results[-1]["first_s"]

        limit = count * LATENCY / concurrency
        result = repeated(measure, limit, runs)
        rows.append(row(f"first publish of {count} dashboards, c={concurrency}", f"N x {LATENCY * 1000:.0f} ms / {concurrency}",
                        result, f"<= {target}", result["ratio"] <= target,
                        requests={k: v for k, v in results[-1].items() if k.endswith(("reads", "writes"))}))
        last = results[-1]
        noop_met = last["republish_reads"] <= count and last["republish_writes"] == 0
        rows.append(row(f"no-op republish of {count} dashboards, c={concurrency}", "N reads, 0 writes",
                        {"measured_s": last["republish_s"], "reads": last["republish_reads"], "writes": last["republish_writes"]},
                        f"reads <= {count}, writes 0", noop_met))
    small, large = publish_once(500, 10, 8), publish_once(2000, 10, 8)
    growth = {name: (r["rss_peak_kib"] - r["rss_before_publish_kib"]) / 1024 for name, r in (("500", small), ("2000", large))}
    rows.append(row("publish 2,000 dashboards across 10 folders, c=8", f"N x {LATENCY * 1000:.0f} ms / 8",
                    {"measured_s": large["first_s"], "yardstick_s": 2000 * LATENCY / 8, "ratio": large["first_s"] / (2000 * LATENCY / 8)},
                    "<= 2", large["first_s"] / (2000 * LATENCY / 8) <= 2.0,
                    peak_rss_mib=round(large["rss_peak_kib"] / 1024, 1),
                    rss_growth_while_publishing_mib={k: round(v, 1) for k, v in growth.items()},
                    requests={k: v for k, v in large.items() if k.endswith(("reads", "writes"))}))
    # Streamed: definitions compiled one at a time inside publish, so the peak is the whole process's.
    small, large = publish_once(500, 10, 8, deferred=True), publish_once(2000, 10, 8, deferred=True)
    peaks = {name: r["rss_peak_kib"] / 1024 for name, r in (("500", small), ("2000", large))}
    flat = peaks["2000"] / peaks["500"]
    rows.append(row("peak RSS, streamed publish of 2,000 vs 500 dashboards (definitions to Grafana), c=8", "same for 500",
                    {"measured_s": large["first_s"], "ratio": flat}, "<= 1.3 (roughly flat)", flat <= 1.3,
                    peak_rss_mib={k: round(v, 1) for k, v in peaks.items()},
                    requests={k: v for k, v in large.items() if k.endswith(("reads", "writes"))}))


# --- report -------------------------------------------------------------------------------------------------


def print_table(rows: list[dict]) -> None:
    width = max(len(r["benchmark"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'ours':>8}  {'yardstick':>9}  {'ratio':>6}  {'spread':>11}  {'target':>10}  met")
    for r in rows:
        ours = f"{r['measured_s']:.3f}s" if "measured_s" in r else ""
        yard = f"{r['yardstick_s']:.3f}s" if "yardstick_s" in r else ""
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        spread = f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}" if "ratio_min" in r else ""
        if "reads" in r:
            ratio, spread = "", f"{r['reads']}r/{r['writes']}w"
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        print(f"{r['benchmark']:<{width}}  {ours:>8}  {yard:>9}  {ratio:>6}  {spread:>11}  {r['target'] or '':>10}  {met}")
        for key in ("peak_rss_mib", "rss_growth_while_publishing_mib", "requests"):
            if key in r:
                print(f"{'':<{width}}    {key}: {r[key]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    parser.add_argument("--pairs", type=int, default=7, help="paired runs per row (publish rows use half, at least 3)")
    parser.add_argument("--only", choices=("build", "compile", "publish"), action="append", help="run only these groups")
    args = parser.parse_args()
    groups = args.only or ["build", "compile", "publish"]
    rows: list[dict] = []
    if "build" in groups:
        bench_build(rows, args.pairs)
    if "compile" in groups:
        bench_compile(rows, args.pairs)
    if "publish" in groups:
        bench_publish(rows, max(3, args.pairs // 2))
    print_table(rows)
    document = {"rows": rows, "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                          "load_average": [round(x, 2) for x in os.getloadavg()],
                                          **({"emulator_nice": EMULATOR_PRIORITY["nice"]} if EMULATOR_PRIORITY else {})}}
    Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
