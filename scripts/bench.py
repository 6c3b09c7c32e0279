#!/usr/bin/env python3
"""Benchmarks, as ratios measured side by side in one run (machines are shared and noisy: no absolute
thresholds anywhere). Prints a table and writes it as JSON.

1. `airflow-dash build` of every bundled dashboard as a whole process vs the floor
   `python -c "import grafanalib.core, click"` (and with --no-validate).
2. Compiling 1,000 generated dashboards with airflow-dash vs grafanalib's own `to_json_data` + `json.dumps`
   on the same definitions; and 100 vs 1,000 dashboards, to show growth is linear.
3. Validating every bundled query offline vs one node process start (Flux is checked in one batch).
4. Publishing every bundled dashboard to the Grafana emulator with 20 ms injected latency, concurrency 1 and 8,
   vs the limit N x latency / concurrency; request counts of a first publish and of a no-op republish.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(function, repeat: int = 3) -> float:
    """Median wall time of `repeat` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(*command: str) -> None:
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)


def bench_build_process(rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as out:
        floor = timed(lambda: run(sys.executable, "-c", "import grafanalib.core, click"))
        build = timed(lambda: run(sys.executable, "-m", "airflow_dash.cli", "build", "--out", out))
        build_fast = timed(lambda: run(sys.executable, "-m", "airflow_dash.cli", "build", "--no-validate", "--out", out))
        help_ = timed(lambda: run(sys.executable, "-m", "airflow_dash.cli", "--help"))
    rows.append(row("build process (validated) vs import floor", build, floor))
    rows.append(row("build process (--no-validate) vs import floor", build_fast, floor))
    rows.append(row("airflow-dash --help vs import floor", help_, floor))


def generated_dashboards(count: int):
    from airflow_dash.catalog import host
    from airflow_dash.catalog.dimensions import HOST
    from airflow_dash.dashboard import Dashboard, DimensionVariable
    from airflow_dash.panels import Row, stat, timeseries

    return [
        Dashboard(
            key=f"gen-{i}",
            title=f"Generated {i}",
            variables=[DimensionVariable(HOST)],
            rows=[
                Row("Overview", [stat("CPU now", host.cpu_busy), stat("Memory now", host.memory_used)]),
                Row("Detail", [timeseries(f"CPU {j}", host.cpu_busy) for j in range(3)] + [timeseries("Memory", host.memory_used)]),
            ],
        )
        for i in range(count)
    ]


def grafanalib_equivalent(compiled):
    """The same dashboards as grafanalib objects (targets pre-rendered), serialized grafanalib's way."""
    import grafanalib.core as G

    boards = []
    for c in compiled:
        panels = []
        for p in c.model["panels"]:
            if p["type"] == "row":
                panels.append(G.RowPanel(title=p["title"], gridPos=G.GridPos(**p["gridPos"])))
                continue
            targets = [G.Target(expr=t.get("expr", t.get("query", "")), refId=t["refId"], legendFormat=t.get("legendFormat", "")) for t in p["targets"]]
            cls = G.Stat if p["type"] == "stat" else G.TimeSeries
            panels.append(cls(title=p["title"], targets=targets, gridPos=G.GridPos(**p["gridPos"])))
        boards.append(G.Dashboard(title=c.title, uid=c.uid, panels=panels))
    return boards


def bench_compile(rows: list[dict]) -> None:
    from grafanalib._gen import DashboardEncoder

    from airflow_dash.compile import compile_all

    small, large = generated_dashboards(100), generated_dashboards(1000)
    boards = grafanalib_equivalent(compile_all(large, ["prometheus"]))  # also warms up imports and caches
    ours_100 = timed(lambda: [c.to_json() for c in compile_all(small, ["prometheus"])])
    ours_1000 = timed(lambda: [c.to_json() for c in compile_all(large, ["prometheus"])])
    theirs_1000 = timed(lambda: [json.dumps(b.to_json_data(), cls=DashboardEncoder, sort_keys=True, indent=2) for b in boards])
    rows.append(row("compile 1,000 dashboards: airflow-dash vs grafanalib to_json_data+dumps", ours_1000, theirs_1000))
    rows.append(row("compile 1,000 vs 100 dashboards (10 = linear)", ours_1000, ours_100))


def bench_validate(rows: list[dict]) -> None:
    from airflow_dash.build import compile_dashboards, find_invalid_queries
    from airflow_dash.validate import flux as flux_checker

    compiled = compile_dashboards(dashboards_dir=ROOT / "dashboards")
    queries = sum(len(c.queries) for c in compiled)
    before = flux_checker.node_launch_count()
    validate = timed(lambda: find_invalid_queries(compiled))
    launches = (flux_checker.node_launch_count() - before) / 3
    node_start = timed(lambda: run("node", "-e", ""))
    rows.append(row(f"validate all {queries} bundled queries vs one node start ({launches:.0f} node launch/run)", validate, node_start))


# The emulator runs in its own process: in-process, it would share the client's GIL and skew the ratio.
_EMULATOR_SERVER = """
import json, sys
from airflow_dash.testing.grafana_emulator import GrafanaEmulator
with GrafanaEmulator() as grafana:
    grafana.faults.latency = float(sys.argv[1])
    print(json.dumps({"url": grafana.url, "token": grafana.admin_token}), flush=True)
    for command in sys.stdin:
        methods = [r.method for r in grafana.requests]
        grafana.reset_requests()
        print(json.dumps(methods), flush=True)
"""


class EmulatorProcess:
    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _EMULATOR_SERVER, str(latency)], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info = json.loads(self.process.stdout.readline())
        self.url, self.token = info["url"], info["token"]

    def take_requests(self) -> list[str]:
        """Methods of the requests served since the last call."""
        self.process.stdin.write("requests\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def bench_publish(rows: list[dict], counts: dict) -> None:
    from airflow_dash.build import compile_dashboards
    from airflow_dash.grafana.client import GrafanaClient
    from airflow_dash.grafana.publish import PublishOptions, publish_dashboards

    compiled = compile_dashboards(dashboards_dir=ROOT / "dashboards")
    latency = 0.02
    writes = ("POST", "PUT", "DELETE")
    for concurrency in (1, 8):
        grafana = EmulatorProcess(latency)
        try:
            with GrafanaClient(grafana.url, token=grafana.token) as client:
                options = PublishOptions(root_folder="Airflow", concurrency=concurrency)
                start = time.perf_counter()
                publish_dashboards(client, compiled, options)
                elapsed = time.perf_counter() - start
                first = grafana.take_requests()
                publish_dashboards(client, compiled, options)
                second = grafana.take_requests()
        finally:
            grafana.close()
        limit = len(first) * latency / concurrency
        rows.append(row(f"first publish of {len(compiled)} dashboards at concurrency {concurrency} vs N x 20ms / {concurrency}", elapsed, limit))
        counts[f"concurrency {concurrency}"] = {
            "first publish requests": len(first),
            "first publish writes": sum(m in writes for m in first),
            "republish requests": len(second),
            "republish writes": sum(m in writes for m in second),
        }


def row(name: str, measured: float, baseline: float) -> dict:
    return {"benchmark": name, "measured_s": round(measured, 4), "baseline_s": round(baseline, 4), "ratio": round(measured / baseline, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    args = parser.parse_args()
    rows: list[dict] = []
    counts: dict = {}
    bench_build_process(rows)
    bench_compile(rows)
    bench_validate(rows)
    bench_publish(rows, counts)
    width = max(len(r["benchmark"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'measured':>9}  {'baseline':>9}  {'ratio':>6}")
    for r in rows:
        print(f"{r['benchmark']:<{width}}  {r['measured_s']:>8.3f}s  {r['baseline_s']:>8.3f}s  {r['ratio']:>6.2f}")
    print("\nrequest counts:")
    for name, value in counts.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
    Path(args.json).write_text(json.dumps({"rows": rows, "request_counts": counts}, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
