"""Turn a real Airflow StatsD capture into what each backend would store, through OUR collector configs.

Two pipelines, both fed by `tests.statsd_capture.Capture` and both using the generated collector
configuration (never a hand-written copy of it):

Prometheus (`prometheus_samples`): every line goes through `StatsdExporterMapper` (statsd_exporter's
mapping semantics applied to the mapping file our generator writes), and the exporter's state is
"scraped" every `SCRAPE_S` seconds. Choices, following statsd_exporter (README + pkg/line):
- metrics exist from their first event on (no pre-declared zero series), and never expire (ttl 0);
- counters: value / sample rate is added; negative increments are dropped (the exporter refuses
  them); exposed as `<name>_total` (OpenMetrics) with the cumulative value;
- gauges: absolute value replaces, `+N`/`-N` adds to the current value;
- timers (`ms`): observed in seconds (value / 1000), `1 / rate` times for sampled lines; `h`/`d`
  observed as sent. Exposed per the mapping's observer type: a summary (`_sum`, `_count` and the
  quantiles, computed over the observations of the last `max_age`, 10 min by default, NaN when none,
  as client_golang does) or a histogram (cumulative `_bucket{le}` incl. `+Inf`, `_sum`, `_count`);
- the scrape grid starts at the first line and ends one scrape after the last, shifted so the capture
  ends `end_offset_s` before now (backfilled blocks must lie inside retention).

InfluxDB (`telegraf_lines`): every bucket goes through `TelegrafTemplateEvaluator` (our templates,
Telegraf's template matcher), then is aggregated the way Telegraf's statsd input flushes with our
settings (interval 10 s aligned to the clock, delete_counters/delete_gauges/delete_timings = true):
- counters: field `value`, the sum of `value / rate` over the interval (integer, float_counters=false);
- gauges: field `value`, the last value in the interval (`+N`/`-N` adjust the cached value);
- timers: fields `mean`, `upper`, `lower`, `count`, `sum`, `stddev` (population), `median` and
  `<P>_percentile` for our percentiles 50/90/95/99 (Telegraf's RunningStats: sorted values, index
  int(n * p / 100) clamped), each value added `int(1 / rate)` times; values stay in milliseconds;
- tags: those of the template, plus `metric_type` (counter/gauge/timing) and the agent's `host`.
"""

from __future__ import annotations

from airflow_dash.escaping import line_protocol_key
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from tests.statsd_capture import Capture, Sample

SCRAPE_S = 15.0
FLUSH_S = 10.0
HOST = "airflow-capture"
DEFAULT_QUANTILES = (0.5, 0.9, 0.99)
SUMMARY_MAX_AGE_S = 600.0
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TELEGRAF_PERCENTILES = (50.0, 90.0, 95.0, 99.0)  # our telegraf.conf (airflow_metrics.TELEGRAF_PERCENTILES)


# ---------------------------------------------------------------------------------------------
# what the evaluators give us (adapted from the collectors package, see `default_mappers`)


@dataclass(frozen=True)
class PromMapping:
    """Where one StatsD line lands in statsd_exporter: metric name, labels, and for timers the observer."""

    name: str
    labels: Mapping[str, str]
    observer: str = "summary"  # summary | histogram (timers only)
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    max_age_s: float = SUMMARY_MAX_AGE_S
    value_scale: float = 1.0  # statsd_exporter: ms timers are observed in seconds (0.001)


@dataclass(frozen=True)
class TelegrafMapping:
    """Where one StatsD bucket lands in Telegraf: measurement, tags, and the field (prefix) name."""

    measurement: str
    tags: Mapping[str, str]
    field: str = "value"


PromMapper = Callable[[Sample], "PromMapping | None"]
TelegrafMapper = Callable[[Sample], "TelegrafMapping | None"]


def our_prometheus_mapper(prefix: str = "airflow") -> PromMapper:
    """The mapping file our generator writes, read back as YAML and evaluated by `StatsdExporterMapper`."""
    from airflow_dash.collectors.statsd_exporter import StatsdExporterMapper, statsd_mapping_yaml

    mapper = StatsdExporterMapper.from_yaml(statsd_mapping_yaml(prefix))

    def map_sample(sample: Sample) -> PromMapping | None:
        mapped = mapper.map(sample.name, sample.type)
        if mapped.dropped:
            return None
        # Prometheus drops empty labels on ingestion (the naming table's "no such label" constants).
        labels = {k: v for k, v in mapped.labels.items() if v != ""}
        return PromMapping(mapped.name, labels, mapped.observer_type,
                           tuple(float(q) for q in mapped.quantiles) or DEFAULT_QUANTILES,
                           tuple(float(b) for b in mapped.buckets) or DEFAULT_BUCKETS,
                           value_scale=mapped.value_scale)

    return map_sample


def our_telegraf_mapper(prefix: str = "airflow") -> TelegrafMapper:
    """Our telegraf.conf's statsd templates, tagdrop and renames, through `TelegrafStatsdPipeline`."""
    from airflow_dash.collectors.telegraf import TelegrafStatsdPipeline

    pipeline = TelegrafStatsdPipeline(prefix)

    def map_sample(sample: Sample) -> TelegrafMapping | None:
        point = pipeline.map(sample.name)
        if point is None:
            return None
        return TelegrafMapping(point.measurement, dict(point.tags), point.field)

    return map_sample


# ---------------------------------------------------------------------------------------------
# Prometheus (statsd_exporter)


def _observations(sample: Sample, scale: float) -> tuple[float, int]:
    return sample.value * scale, max(1, int(round(1.0 / sample.rate)))


def _summary_quantile(values: Sequence[float], q: float) -> float:
    """client_golang's summary quantile (targeted CKMS; exact for small streams): rank ceil(q*n)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class _PromSeries:
    kind: str  # counter | gauge | summary | histogram
    mapping: PromMapping
    value: float = 0.0
    total: float = 0.0
    count: float = 0.0
    observed: list[tuple[float, float]] = field(default_factory=list)  # (t, value) for summaries
    buckets: dict[float, float] = field(default_factory=dict)
    points: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))

    def apply(self, sample: Sample) -> None:
        if self.kind == "counter":
            increment = sample.value / sample.rate
            if increment >= 0:  # statsd_exporter: "counter must be non-negative value"
                self.value += increment
        elif self.kind == "gauge":
            self.value = self.value + sample.value if sample.relative else sample.value
        else:
            value, times = _observations(sample, self.mapping.value_scale)
            self.total += value * times
            self.count += times
            if self.kind == "summary":
                self.observed.extend([(sample.t, value)] * times)
            else:
                for le in self.mapping.buckets:
                    if value <= le:
                        self.buckets[le] = self.buckets.get(le, 0.0) + times

    def scrape(self, t: float, ts: float) -> None:
        if self.kind in ("counter", "gauge"):
            self.points[""].append((ts, self.value))
            return
        self.points["_sum"].append((ts, self.total))
        self.points["_count"].append((ts, self.count))
        if self.kind == "summary":
            recent = [v for (at, v) in self.observed if at > t - self.mapping.max_age_s]
            for q in self.mapping.quantiles:
                self.points[f"q{q!r}"].append((ts, _summary_quantile(recent, q)))
        else:
            for le in self.mapping.buckets:
                self.points[f"le{le!r}"].append((ts, self.buckets.get(le, 0.0)))
            self.points["le+Inf"].append((ts, self.count))

    def samples(self) -> list[tuple[str, dict, str, list[tuple[float, float]]]]:
        name, labels = self.mapping.name, dict(self.mapping.labels)
        if self.kind in ("counter", "gauge"):
            return [(name, labels, self.kind, self.points[""])]
        out = [(f"{name}_sum", labels, self.kind, self.points["_sum"]),
               (f"{name}_count", labels, self.kind, self.points["_count"])]
        for key, points in self.points.items():
            if key.startswith("q"):
                out.append((name, {**labels, "quantile": _le_text(float(key[1:]))}, "summary", points))
            elif key.startswith("le"):
                le = key[2:]
                out.append((f"{name}_bucket", {**labels, "le": le if le == "+Inf" else _le_text(float(le))},
                            "histogram", points))
        return out


def _le_text(value: float) -> str:
    return repr(float(value))


def _replayed(capture: Capture, end_offset_s: float, now: float | None, step_s: float) -> tuple[list[Sample], float, float, float]:
    """The capture's events in time order (sets left out), their first and last capture times, and the shift
    that puts `last + step_s` at `end_offset_s` before `now` (default: the wall clock)."""
    events = sorted((s for s in capture.samples if s.type != "s"), key=lambda s: s.t)
    if not events:
        raise ValueError("capture has no samples")
    now = time.time() if now is None else now
    first, last = events[0].t, events[-1].t
    return events, first, last, (now - end_offset_s) - (last + step_s)


_PROM_KIND = {"c": "counter", "g": "gauge"}


def prometheus_samples(
    capture: Capture, mapper: PromMapper, end_offset_s: float = 180.0, now: float | None = None,
) -> tuple[list[tuple[str, dict, str, list[tuple[float, float]]]], float, float]:
    """OpenMetrics-ready samples of the capture as Prometheus would have scraped them.

    Returns `(samples, start, end)`: samples for `tests.servers.openmetrics_from_samples`, and the
    unix time range they cover."""
    events, first, last, shift = _replayed(capture, end_offset_s, now, SCRAPE_S)
    series: dict[tuple, _PromSeries] = {}
    index = 0
    t = first
    while t <= last + SCRAPE_S:
        while index < len(events) and events[index].t <= t:
            sample = events[index]
            index += 1
            mapping = mapper(sample)
            if mapping is None:
                continue
            kind = _PROM_KIND.get(sample.type) or mapping.observer
            key = (mapping.name, tuple(sorted(mapping.labels.items())))
            entry = series.get(key)
            if entry is None:
                entry = series[key] = _PromSeries(kind, mapping)
            if entry.kind != kind:
                continue  # statsd_exporter refuses a second type for one series (logged, dropped)
            entry.apply(sample)
        for entry in series.values():
            entry.scrape(t, round(t + shift, 3))
        t += SCRAPE_S
    samples = [s for entry in series.values() for s in entry.samples() if s[3]]
    return samples, first + shift, t - SCRAPE_S + shift


# ---------------------------------------------------------------------------------------------
# InfluxDB (Telegraf statsd input)


@dataclass
class _TelegrafAggregate:
    kind: str  # counter | gauge | timing
    counter: float = 0.0
    gauge: float = 0.0
    values: list[float] = field(default_factory=list)

    def fields(self, prefix: str) -> dict[str, object]:
        p = "" if prefix == "value" else prefix + "_"
        if self.kind == "counter":
            return {prefix: int(self.counter)}
        if self.kind == "gauge":
            return {prefix: float(self.gauge)}
        values = sorted(self.values)
        n = len(values)
        mean = sum(values) / n
        variance = sum((v - mean) ** 2 for v in values) / n
        out: dict[str, object] = {
            f"{p}mean": mean, f"{p}upper": values[-1], f"{p}lower": values[0], f"{p}count": n,
            f"{p}sum": float(sum(values)), f"{p}stddev": math.sqrt(variance),
            f"{p}median": values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2,
        }
        for percentile in TELEGRAF_PERCENTILES:
            index = min(max(int(n * percentile / 100.0), 0), n - 1)
            out[f"{p}{int(percentile)}_percentile"] = values[index]
        return out


_TELEGRAF_KIND = {"c": "counter", "g": "gauge", "ms": "timing", "h": "histogram", "d": "distribution"}


def telegraf_points(
    capture: Capture, mapper: TelegrafMapper, end_offset_s: float = 180.0, now: float | None = None,
    host: str = HOST,
) -> tuple[list[tuple[str, dict[str, str], dict[str, object], int]], float, float]:
    """`(measurement, tags, fields, unix_ns)` per Telegraf flush, and the unix time range covered."""
    events, first, last, shift = _replayed(capture, end_offset_s, now, FLUSH_S)
    shift -= (first + shift) % FLUSH_S  # flushes are aligned to the wall clock (round_interval)
    by_flush: dict[int, dict[tuple, _TelegrafAggregate]] = defaultdict(dict)
    for sample in events:
        mapping = mapper(sample)
        if mapping is None:
            continue
        kind = _TELEGRAF_KIND[sample.type]
        tags = {**mapping.tags, "metric_type": kind, "host": host}
        key = (mapping.measurement, tuple(sorted(tags.items())), mapping.field, kind)
        flush = int(math.floor((sample.t + shift) / FLUSH_S) + 1)  # the flush after the line arrives
        entry = by_flush[flush].get(key)
        if entry is None:
            # delete_gauges: a relative gauge after a flush starts again from 0, as in Telegraf.
            entry = by_flush[flush][key] = _TelegrafAggregate(kind if kind in ("counter", "gauge") else "timing")
        if entry.kind == "counter":
            entry.counter += sample.value / sample.rate
        elif entry.kind == "gauge":
            entry.gauge = entry.gauge + sample.value if sample.relative else sample.value
        else:
            entry.values.extend([sample.value] * max(1, int(1.0 / sample.rate)))
    points = []
    for flush, entries in sorted(by_flush.items()):
        ts = int(flush * FLUSH_S * 1e9)
        merged: dict[tuple, dict[str, object]] = defaultdict(dict)
        for (measurement, tags, field_name, _), entry in entries.items():
            merged[(measurement, tags)].update(entry.fields(field_name))
        for (measurement, tags), fields in merged.items():
            points.append((measurement, dict(tags), fields, ts))
    start = min(p[3] for p in points) / 1e9
    end = max(p[3] for p in points) / 1e9
    return points, start, end


def _field_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    return repr(float(value))


def line_protocol(points: Iterable[tuple[str, Mapping[str, str], Mapping[str, object], int]]) -> list[str]:
    lines = []
    for measurement, tags, fields, ts in points:
        key = line_protocol_key(measurement)
        tag_text = "".join(f",{line_protocol_key(k)}={line_protocol_key(v)}" for k, v in sorted(tags.items()) if v != "")
        field_text = ",".join(f"{line_protocol_key(k)}={_field_value(v)}" for k, v in sorted(fields.items()))
        lines.append(f"{key}{tag_text} {field_text} {ts}")
    return lines
