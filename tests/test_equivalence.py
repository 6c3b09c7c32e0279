"""Cross-backend equivalence: every bundled Airflow panel shows the same number on Prometheus, Flux and InfluxQL.

The captures are replayed once (tests/real_pipelines.py) through the real statsd_exporter → Prometheus and the
real Telegraf → InfluxDB 2 and 1.x at the same time. Each panel's compiled queries are then run, with the
dashboard variables resolved and interpolated as Grafana does (`verify_dashboard`), over the same time range,
and each series is reduced to one comparable number per quantity:

- events (`rate` and count panels): the number of events over the range. Run with the panel's window as wide
  as the range (one aligned window of `W`, maxDataPoints 1), so a rate is events / W on every backend;
- mean durations (timer averages, count-weighted): the one value of that window;
- levels (gauges): the value at the end of the range, as the panels show it (native intervals, last value).

What the capture really holds comes from statsd_exporter's own totals, read raw from Prometheus (the final and
first sample of each series): InfluxDB must show exactly that (Flux and InfluxQL read the same Telegraf
flushes); Prometheus must show it less what it cannot see, and only that: what statsd_exporter had counted before
Prometheus' first scrape of a new series (`rate()` needs two samples). That exception is stated in the signals'
caveat (panel descriptions, `list --verbose`) and asserted here per row. The tolerances are in `TOLERANCE`,
each with its reason. The table is printed in the test report (terminal summary) and written to
`equivalence.txt` in pytest's base temp dir.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog.airflow import FIRST_SCRAPE
from airflow_dash.catalog.model import COUNTER, DELTA, Signal, TelegrafSeries, Unsupported
from airflow_dash.discovery import load_dashboards
from airflow_dash.live import TimeRange, verify_dashboard
from airflow_dash.live.interpolate import parse_duration_ms, round_interval_ms
from airflow_dash.live.verify import VARIABLES_ROW, iter_panels
from airflow_dash.panels import Panel
from tests.real_pipelines import AIRFLOW_KEYS, REPLAYS, SCRAPE, SYSTEM_KEYS, Pipelines, compiled, report, sources
from tests.cli import run_cli as run
from tests.test_real_data_airflow import DASHBOARDS_DIR, finite_points

pytestmark = pytest.mark.slow

BACKEND_NAMES = ("prometheus", "flux", "influxql")
ROOT = Path(__file__).resolve().parent.parent
EVENTS, COUNT, MEAN, LEVEL = "events", "count", "mean", "level"

# Allowed differences, per quantity, and why.
TOLERANCE = {
    # Flux and InfluxQL read the same points (one Telegraf writes both): only float rounding may differ.
    "influx": 1e-9,
    # InfluxDB vs the capture's own totals (statsd_exporter's counters, read raw): the same integers summed,
    # means divided by 1000 (ms to s) in a different order: float rounding only.
    "capture": 1e-8,
    # Prometheus' rate()/increase() over a window wider than the data extrapolates the sampled increase: at the
    # start towards the counter's zero by up to 1.1 average sample intervals (else half of one), at the end by
    # half of one (the window ends after the queries). For a series sampled n times the excess over what it saw
    # is at most 1.6/(n-1) of it; n is read from Prometheus (count_over_time, the fewest samples among the series
    # summed into one). Never below: the window holds every sample.
    "prometheus_events_excess": "1.6/(n-1)",
    # sum(rate(_sum)) / sum(rate(_count)): the two are sampled at the same times, so their extrapolation factors
    # differ only at the start (each towards its own zero), by at most the same bound.
    "prometheus_mean": "1.6/(n-1)",
    # A gauge's last value is the last value Airflow set, on every backend: exact.
    "level": 1e-9,
}


def _kind(signal: Signal, prometheus_text: str) -> str:
    telegraf = signal.telegraf
    if "increase(" in prometheus_text:
        return COUNT
    if isinstance(telegraf, TelegrafSeries):
        if telegraf.kind in (DELTA, COUNTER):
            return EVENTS
        if telegraf.divide_by:
            return MEAN
        return LEVEL
    raise AssertionError(f"{signal.key}: no rule says which quantity it is")


@dataclass(frozen=True)
class Target:
    """One query of one panel: the signal, and its ref id on each backend (None where unsupported)."""

    dashboard: str
    row: str
    panel: str
    signal: Signal
    refs: dict[str, str | None]


def _targets(key: str) -> list[Target]:
    dashboard = next(d for d in load_dashboards(DASHBOARDS_DIR) if d.key == key)
    out = []
    for row in dashboard.rows:
        for panel in row.panels:
            if not isinstance(panel, Panel):
                continue
            refs: dict[str, list[str]] = {b: [] for b in BACKEND_NAMES}
            per_query = []
            for query in panel.queries:
                mine = {}
                for backend in BACKEND_NAMES:
                    if isinstance(BACKENDS[backend].render(query.signal, {}), Unsupported):
                        mine[backend] = None
                    else:
                        mine[backend] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(refs[backend])]
                        refs[backend].append(mine[backend])
                per_query.append((query.signal, mine))
            for signal, mine in per_query:
                out.append(Target(key, row.title, panel.title, signal, mine))
    return out


# --- running the compiled dashboards -------------------------------------------------------------------------

def _window_s(p: Pipelines, last_data: float) -> tuple[int, TimeRange] | None:
    """The narrowest window W (a Grafana interval) whose aligned bucket [kW, (k+1)W) holds the whole replay with
    a margin; None when the replay straddles 00:00 UTC (every such bucket boundary)."""
    first, last = p.window.start - 30, last_data + 30
    for hours in (1, 2, 3, 12, 24):
        w = hours * 3600
        assert round_interval_ms(w * 1000) == w * 1000
        if math.floor(first / w) == math.floor(last / w):
            start = math.floor(first / w) * w
            return w, TimeRange(start, start + w)
    return None


def _one_window_model(model: dict) -> dict:
    """The dashboard with every panel asking for one data point: `$__interval` becomes the whole range."""
    model = copy.deepcopy(model)
    for _, panel in iter_panels(model):
        panel["maxDataPoints"] = 1
    return model


def _results(p: Pipelines, keys: tuple[str, ...], key: str, backend: str, time_range: TimeRange,
             one_window: bool = False) -> dict[tuple[str, str, str], list]:
    """The live results of dashboard `key` (compiled with `keys`) on `backend`, per (row, panel, ref id)."""
    model = compiled(keys)[(key, backend)]
    results = verify_dashboard(_one_window_model(model) if one_window else model, sources(p, backend), time_range)
    by_target: dict[tuple[str, str, str], list] = {}
    for result in results:
        if result.row_title != VARIABLES_ROW:
            by_target.setdefault((result.row_title, result.panel_title, result.ref_id), []).append(result)
    return by_target


# --- what the capture holds: statsd_exporter's totals, raw from Prometheus ------------------------------------

_RATE_SELECTOR = re.compile(r"(?:rate|increase)\((\w+(?:\{[^}]*\})?)\[")


def _instant(p: Pipelines, expr: str, at: float) -> dict[tuple, float]:
    body = requests.get(f"{p.prometheus.url}/api/v1/query", params={"query": expr, "time": at}, timeout=30).json()
    assert body["status"] == "success", (expr, body)
    return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in body["data"]["result"]}


def _truth(p: Pipelines, signal: Signal, prometheus_text: str, w: int, at: float) -> tuple[dict, dict, dict]:
    """Per series (the signal's group-by labels): all the capture's events (or its mean), what Prometheus can
    see of them, and the fewest samples of a raw series in it (the extrapolation bound)."""
    selectors = _RATE_SELECTOR.findall(prometheus_text)
    by = ", ".join(d.prometheus_label for d in signal.group_by)

    def totals(fn: str, selector: str) -> dict[tuple, float]:
        return _instant(p, f"sum by ({by}) ({fn}({selector}[{w}s]))", at)

    samples = _instant(p, f"min by ({by}) (count_over_time({selectors[-1]}[{w}s]))", at)
    if len(selectors) == 1:  # events: final counter values, and what the first scrape already held
        final, first = totals("max_over_time", selectors[0]), totals("min_over_time", selectors[0])
        return final, {k: v - first.get(k, 0.0) for k, v in final.items()}, samples
    assert len(selectors) == 2 and selectors[0].split("{")[0].endswith("_sum"), prometheus_text
    s1, s0 = totals("max_over_time", selectors[0]), totals("min_over_time", selectors[0])
    c1, c0 = totals("max_over_time", selectors[1]), totals("min_over_time", selectors[1])
    every = {k: s1[k] / c1[k] for k in c1 if c1[k]}
    seen = {k: (s1[k] - s0.get(k, 0.0)) / (c1[k] - c0.get(k, 0.0)) for k in c1 if c1[k] - c0.get(k, 0.0)}
    return every, seen, samples


# --- reduction ---------------------------------------------------------------------------------------------------

def _key(signal: Signal, labels: dict[str, str]) -> tuple:
    return tuple(sorted((d.prometheus_label, labels.get(d.prometheus_label, "")) for d in signal.group_by))


def _reduce(kind: str, signal: Signal, results, w: float) -> dict[tuple, float]:
    """Per series key: events (rates times the window `w` they are per second of), counts, or the last value."""
    out: dict[tuple, float] = {}
    for result in results:
        assert result.error is None, (result.panel_title, result.error)
        for series in result.series:
            values = finite_points(series)
            if not values:
                continue
            key = _key(signal, series.label_map)
            if kind == EVENTS:
                total = sum(v for _, v in values) * w
            elif kind == COUNT:
                total = sum(v for _, v in values)
            else:
                total = max(values)[1]  # the last point (one window for means; the end of the range for levels)
            # Prometheus' `or` fallback and InfluxDB's per-host series may give one key twice: only for levels,
            # which are then summed like the panel's sum/avg across reporters would not; flag it instead.
            assert key not in out or kind in (EVENTS, COUNT), (signal.key, key)
            out[key] = out.get(key, 0.0) + total
    return out


# --- the comparison -----------------------------------------------------------------------------------------

@dataclass
class Row:
    capture: str
    target: Target
    kind: str
    values: dict[str, dict[tuple, float]] = field(default_factory=dict)
    truth: dict[tuple, float] = field(default_factory=dict)
    seen: dict[tuple, float] = field(default_factory=dict)
    samples: dict[tuple, float] = field(default_factory=dict)

    def extrapolation(self, key: tuple) -> float:
        """Prometheus' largest relative excess from extrapolation for this series: 1.6/(n-1)."""
        return 1.6 / max(self.samples.get(key, 2.0) - 1.0, 1.0)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool = True  # statsd_exporter received every line: its totals are the capture's

    def total(self, backend: str) -> str:
        values = self.values.get(backend)
        if values is None:
            return "-"
        if not values:
            return "none"
        if self.kind in (EVENTS, COUNT):
            return f"{sum(values.values()):.6g}"
        if len(values) == 1:
            return f"{next(iter(values.values())):.6g}"
        return f"{len(values)}: sum {sum(values.values()):.6g}"


def _close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def _compare(row: Row) -> None:
    kind, values = row.kind, row.values
    keys = set().union(*(set(v) for v in values.values()))
    for key in sorted(keys):
        influx = {b: values[b].get(key) for b in ("flux", "influxql") if b in values}
        name = ",".join(f"{k}={v}" for k, v in key) or "(one series)"
        if len(influx) == 2 and not (None not in influx.values() and _close(influx["flux"], influx["influxql"], TOLERANCE["influx"])):
            if not (kind in (EVENTS, COUNT) and all((v or 0.0) == 0.0 for v in influx.values())):
                row.problems.append(f"{name}: Flux {influx['flux']} vs InfluxQL {influx['influxql']}")
        if kind in (EVENTS, COUNT, MEAN) and row.truth:
            truth, seen = row.truth.get(key), row.seen.get(key)
            for backend, value in influx.items() if row.complete else ():
                expected = truth if truth is not None else 0.0 if kind != MEAN else None
                got = value if value is not None else (0.0 if kind != MEAN else None)
                if expected is None and got is None:
                    continue
                if expected is None or got is None or not _close(got, expected, TOLERANCE["capture"]):
                    row.problems.append(f"{name}: {backend} {got} but the capture holds {expected}")
            if "prometheus" in values:
                got = values["prometheus"].get(key)
                if kind == MEAN:
                    if seen is None and got is None:
                        if truth is not None:
                            row.notes.append(f"{name}: Prometheus saw no observation after the first scrape")
                        continue
                    if seen is None or got is None or not _close(got, seen, row.extrapolation(key)):
                        row.problems.append(f"{name}: Prometheus {got}, expected {seen} (capture {truth})")
                    elif not _close(got, truth, row.extrapolation(key)):
                        row.notes.append(f"{name}: Prometheus {got:.4g} vs capture {truth:.4g} (first scrape)")
                else:
                    got = got or 0.0
                    expected = seen or 0.0
                    excess = row.extrapolation(key)
                    if not (expected - 1e-6 <= got <= expected * (1 + excess) + 1e-6):
                        row.problems.append(f"{name}: Prometheus {got:.4g}, expected {expected:.4g} "
                                            f"(capture {truth or 0.0:.4g} less the first scrapes)")
                    elif truth and got < truth * (1 - 1e-6):
                        row.notes.append(f"{name}: Prometheus {got:.4g} of {truth:.4g} (first scrape)")
        if kind == LEVEL:
            present = {b: v.get(key) for b, v in values.items() if row.complete or b != "prometheus"}
            numbers = [v for v in present.values() if v is not None]
            if None in present.values() or not all(_close(n, numbers[0], TOLERANCE["level"]) for n in numbers):
                row.problems.append(f"{name}: last values {present}")


def _series_filter(target: Target, row: Row) -> None:
    """Prometheus' top-k panels show a subset of the series: compare only those."""
    if "topk(" in BACKENDS["prometheus"].render(target.signal, {}).query:
        shown = set(row.values.get("prometheus", {}))
        for backend in row.values:
            row.values[backend] = {k: v for k, v in row.values[backend].items() if k in shown}
        row.truth = {k: v for k, v in row.truth.items() if k in shown}
        row.seen = {k: v for k, v in row.seen.items() if k in shown}
        row.notes.append("Prometheus shows the 10 slowest: compared on those")


@pytest.fixture(scope="module")
def table(pipelines) -> list[Row]:
    rows: list[Row] = []
    for cap_name in REPLAYS:
        p = pipelines[cap_name]
        last_data = p.window.end + 20  # the final flush and scrapes are in before the fixture returns
        window = _window_s(p, last_data)
        for key in AIRFLOW_KEYS:
            native = {b: _results(p, AIRFLOW_KEYS, key, b, p.time_range) for b in BACKEND_NAMES}
            one = {b: _results(p, AIRFLOW_KEYS, key, b, window[1], True) for b in BACKEND_NAMES} if window else None
            for target in _targets(key):
                prom_text = BACKENDS["prometheus"].render(target.signal, {}).query \
                    if target.refs["prometheus"] else ""
                kind = _kind(target.signal, prom_text)
                row = Row(cap_name, target, kind, complete=p.exporter_lines == p.window.lines)
                if kind != LEVEL and window is None:
                    row.notes.append("not compared: the replay straddles 00:00 UTC, a boundary of every window")
                    rows.append(row)
                    continue
                source = native if kind == LEVEL else one
                w = window[0] if window else 0
                for backend in BACKEND_NAMES:
                    ref = target.refs[backend]
                    if ref is None:
                        continue
                    results = source[backend].get((target.row, target.panel, ref), [])
                    # A rate is per second of its window: W on InfluxDB, $__rate_interval (W + the 1 s scrape
                    # interval) on Prometheus.
                    per = w + parse_duration_ms(SCRAPE) / 1000 if backend == "prometheus" else w
                    row.values[backend] = _reduce(kind, target.signal, results, per)
                if kind != LEVEL and target.refs["prometheus"]:
                    interpolated = source["prometheus"][(target.row, target.panel, target.refs["prometheus"])][0].interpolated
                    row.truth, row.seen, row.samples = _truth(p, target.signal, interpolated, w, window[1].end)
                _series_filter(target, row)
                _compare(row)
                rows.append(row)
    lines = {name: (pipelines[name].exporter_lines, pipelines[name].window.lines) for name in REPLAYS}
    report("Cross-backend equivalence (tests/test_equivalence.py)", format_table(rows, lines))
    return rows


def format_table(rows: list[Row], received: dict[str, tuple[float, int]]) -> str:
    header = ("CAPTURE", "DASHBOARD/PANEL", "SIGNAL", "KIND", "PROMETHEUS", "FLUX", "INFLUXQL", "CAPTURE", "VERDICT")
    lines = []
    for row in rows:
        truth = f"{sum(row.truth.values()):.6g}" if row.truth and row.kind in (EVENTS, COUNT) else (
            f"{next(iter(row.truth.values())):.6g}" if len(row.truth) == 1 else
            f"{len(row.truth)}: sum {sum(row.truth.values()):.6g}" if row.truth else "-")
        verdict = "DIFFERS" if row.problems else "agrees"
        lines.append((row.capture, f"{row.target.dashboard}/{row.target.panel}", row.target.signal.key.removeprefix("airflow."),
                      row.kind, row.total("prometheus"), row.total("flux"), row.total("influxql"), truth, verdict))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [header, *lines]]
    out.append("")
    out.append("CAPTURE: statsd_exporter's own totals, read raw from Prometheus; lines it "
               "received: " + ", ".join(f"{n} {int(got)}/{sent}" for n, (got, sent) in received.items())
               + " (where loopback UDP lost some, InfluxDB is compared with neither them nor Prometheus)")
    out.append("Tolerances: " + "; ".join(f"{k} {v}" for k, v in TOLERANCE.items()))
    for row in rows:
        for text in row.problems:
            out.append(f"DIFFERS {row.capture} {row.target.panel} [{row.target.signal.key}]: {text}")
    notes = sum(len(r.notes) for r in rows)
    out.append(f"{notes} notes (Prometheus' first-scrape losses and top-k subsets), e.g.:")
    out.extend(f"  {r.capture} {r.target.panel}: {n}" for r in rows for n in r.notes[:1])
    return "\n".join(out)


def test_every_panel_agrees_across_backends(table):
    problems = [f"{r.capture} {r.target.dashboard}/{r.target.panel} [{r.target.signal.key}]: {text}"
                for r in table for text in r.problems]
    assert problems == [], "\n".join(problems)


def test_prometheus_shortfalls_are_stated_in_the_caveat(table):
    """A row where Prometheus shows less than the capture holds (its first scrape) is exempt only because the
    signal's caveat says so, in the panel description and `list --verbose`."""
    exempt = [row for row in table if any("first scrape" in note for note in row.notes)]
    assert exempt, "the replays have new series on Prometheus: some row must show the first-scrape shortfall"
    for row in exempt:
        assert FIRST_SCRAPE in row.target.signal.caveat, (row.target.signal.key, row.notes[:2])


def test_the_table_compares_something_on_every_backend(table):
    evaluated = [r for r in table if not any(n.startswith("not compared") for n in r.notes)]
    for backend in BACKEND_NAMES:
        compared = [r for r in evaluated if r.values.get(backend)]
        assert len(compared) >= len(evaluated) // 2, backend
    assert sum(1 for r in table if r.kind == LEVEL and r.values.get("prometheus")) >= 20


# --- the System dashboard: node_exporter → Prometheus vs Telegraf's system inputs → Flux / InfluxQL ----------
#
# Both collectors read this very host over the same range, but not at the same instants: node_exporter when
# Prometheus scrapes (every second), Telegraf when it gathers (every 10 s). There are no totals to compare with:
# a host quantity is a level (memory, disk, cores, uptime, load, processes) or a rate of a kernel counter
# (CPU time, disk and network bytes, context switches), and both move between the two sampling instants on a
# busy machine. So each series is compared by what it took over the range where all three backends have points:
# its values on every backend must span overlapping intervals [min, max]. The tolerance is the quantity's own
# variability, measured in the same run; a constant (cores, memory total, a quiet disk) has min = max on every
# side, and must then be equal (to float rounding: bytes divided into percent in another order).
# What a signal's caveat lets differ (asserted: the caveat is in its panel descriptions and `list --verbose`):
# - DOWN_INTERFACES: series only Prometheus has, at zero throughout (interfaces that are down, Telegraf skips
#   them); the interfaces both have are compared like any other series;
# - OTHER_QUANTITY: the values (threads on Prometheus, processes on Telegraf): shown in the table, not asserted.
DOWN_INTERFACES, OTHER_QUANTITY = "down interfaces", "another quantity"
SYSTEM_EXEMPT = {
    **{f"host.{k}": DOWN_INTERFACES for k in ("net_receive", "net_transmit", "net_receive_errors",
                                              "net_transmit_errors", "net_receive_drops", "net_transmit_drops")},
    "host.procs_running": OTHER_QUANTITY,
    "host.procs_blocked": OTHER_QUANTITY,
}
SYSTEM_TOLERANCE = {
    "overlap": "max of the three minima <= min of the three maxima, over the common span of points",
    "rounding": 1e-9,
}


@dataclass
class SystemRow:
    target: Target
    spans: dict[str, dict[tuple, tuple[float, float, int]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exempt(self) -> str | None:
        return SYSTEM_EXEMPT.get(self.target.signal.key)

    def figure(self, backend: str) -> str:
        spans = self.spans.get(backend)
        if spans is None:
            return "-"
        if not spans:
            return "none"
        parts = [f"{lo:.4g}" if lo == hi else f"{lo:.4g}..{hi:.4g}" for lo, hi, _ in (spans[k] for k in sorted(spans))]
        return parts[0] if len(parts) == 1 else f"{len(parts)} series: " + " ".join(parts[:3]) + (
            " ..." if len(parts) > 3 else "")


def _system_key(signal: Signal, backend: str, labels: dict[str, str]) -> tuple:
    name = (lambda d: d.prometheus_label) if backend == "prometheus" else (lambda d: d.telegraf_tag)
    return tuple((d.name, labels.get(name(d), "")) for d in signal.group_by)


def _system_points(signal: Signal, backend: str, results) -> dict[tuple, list[tuple[float, float]]]:
    out: dict[tuple, list[tuple[float, float]]] = {}
    for result in results:
        assert result.error is None, (result.panel_title, result.error)
        for series in result.series:
            values = finite_points(series)
            if values:
                out.setdefault(_system_key(signal, backend, series.label_map), []).extend(values)
    return out


def _system_compare(row: SystemRow, points: dict[str, dict[tuple, list[tuple[float, float]]]]) -> None:
    keys = set().union(*(set(v) for v in points.values()))
    for key in sorted(keys):
        name = ",".join(f"{k}={v}" for k, v in key) or "(one series)"
        present = {b: points[b].get(key) for b in points}
        if any(not v for v in present.values()):
            lacking = {b for b, v in present.items() if not v}
            if row.exempt == DOWN_INTERFACES and lacking == {"flux", "influxql"} \
                    and all(x == 0.0 for _, x in present["prometheus"]):
                row.notes.append(f"{name}: only on Prometheus, at zero ({len(present['prometheus'])} points)")
                continue
            row.problems.append(f"{name}: no points on " + ", ".join(b for b, v in present.items() if not v))
            continue
        start = max(min(t for t, _ in v) for v in present.values())
        end = min(max(t for t, _ in v) for v in present.values())
        for backend, values in present.items():
            common = [x for t, x in values if start <= t <= end] or [x for _, x in values]
            row.spans.setdefault(backend, {})[key] = (min(common), max(common), len(common))
        spans = [row.spans[b][key] for b in present]
        low, high = max(s[0] for s in spans), min(s[1] for s in spans)
        slack = SYSTEM_TOLERANCE["rounding"] * max(abs(low), abs(high), 1.0)
        if low > high + slack:
            row.problems.append(f"{name}: ranges do not overlap: " + ", ".join(
                f"{b} {row.spans[b][key][0]:.6g}..{row.spans[b][key][1]:.6g} ({row.spans[b][key][2]} points)"
                for b in present))


@pytest.fixture(scope="module")
def system_table(pipelines) -> list[SystemRow]:
    p = pipelines[next(iter(REPLAYS))]
    results = {b: _results(p, SYSTEM_KEYS, "system", b, p.time_range) for b in BACKEND_NAMES}
    rows = []
    for target in _targets("system"):
        row = SystemRow(target)
        points = {b: _system_points(target.signal, b, results[b].get((target.row, target.panel, ref), []))
                  for b, ref in target.refs.items() if ref is not None}
        _system_compare(row, points)
        rows.append(row)
    report("Cross-backend equivalence, System (tests/test_equivalence.py)", format_system_table(rows))
    return rows


def format_system_table(rows: list[SystemRow]) -> str:
    header = ("ROW/PANEL", "SIGNAL", "PROMETHEUS", "FLUX", "INFLUXQL", "VERDICT")
    lines = [(f"{r.target.row}/{r.target.panel}", r.target.signal.key.removeprefix("host."), r.figure("prometheus"),
              r.figure("flux"), r.figure("influxql"),
              ("exempt (caveat)" if r.exempt == OTHER_QUANTITY else "DIFFERS") if r.problems else
              "not compared (caveat)" if r.exempt == OTHER_QUANTITY else
              f"agrees ({len(r.notes)} down interfaces exempt)" if r.notes else "agrees")
             for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in [header, *lines]]
    out.append("")
    out.append("Figures: min..max of each series over the span where all three backends have points. "
               "Tolerance: " + "; ".join(f"{k}: {v}" for k, v in SYSTEM_TOLERANCE.items()))
    out.extend(f"{'exempt' if r.exempt == OTHER_QUANTITY else 'DIFFERS'} {r.target.panel} [{r.target.signal.key}]: {t}"
               for r in rows for t in r.problems)
    out.extend(f"exempt {r.target.panel} [{r.target.signal.key}]: {t}" for r in rows for t in r.notes)
    out.extend(f"caveat {key} ({how}): {next(r.target.signal.caveat for r in rows if r.target.signal.key == key)}"
               for key, how in SYSTEM_EXEMPT.items())
    return "\n".join(out)


def test_every_system_panel_agrees_across_backends(system_table):
    problems = [f"{r.target.row}/{r.target.panel} [{r.target.signal.key}]: {text}"
                for r in system_table for text in r.problems if r.exempt != OTHER_QUANTITY]
    assert problems == [], "\n".join(problems)
    compared = [r for r in system_table if r.exempt != OTHER_QUANTITY and r.spans]
    assert len(compared) >= 30 and all(set(r.spans) == set(BACKEND_NAMES) for r in compared), len(compared)


def test_system_exemptions_are_stated_in_the_caveat(system_table):
    """Each exempt System signal says why in its caveat: in the panel description on every backend, and in
    `list --verbose`; a note (an interface only node_exporter lists, zero throughout) stands only on signals
    exempt for down interfaces. Whether a host has such interfaces is the host's: not asserted."""
    rows = {r.target.signal.key: r for r in system_table}
    assert set(SYSTEM_EXEMPT) <= set(rows)
    verbose = run("list", "--verbose", cwd=ROOT)
    assert verbose.returncode == 0, verbose.stderr
    for key in SYSTEM_EXEMPT:
        caveat = rows[key].target.signal.caveat
        assert caveat, key
        assert caveat in verbose.stdout, key
        for backend in BACKEND_NAMES:
            panel = next(p for _, p in iter_panels(compiled(SYSTEM_KEYS)[("system", backend)])
                         if p.get("title") == rows[key].target.panel)
            assert f"Across stacks: {caveat}" in panel.get("description", ""), (key, backend)
    for row in system_table:
        assert not row.notes or row.exempt == DOWN_INTERFACES, (row.target.signal.key, row.notes)
