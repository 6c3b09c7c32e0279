"""statsd_exporter: our mapping file, generated from the naming table, and a test-grade evaluator of it.

Generated mapping (`statsd_mapping(prefix)`):
- one glob mapping per table pattern, more specific patterns first (statsd_exporter: first match wins among
  globs, list specific matches before wildcards), each with `match_metric_type` = the table's StatsD type, so a
  name sent with another type never lands in (and conflicts with) a metric of the wrong type;
- explicit `action: drop` globs for the deliberate drops (3.x plain names duplicating per-id names);
- regex mappings (`operator_failures_<Op>`) which statsd_exporter evaluates after every glob;
- last, a regex catch-all dropping every other `<prefix>.` name: unknown Airflow names may embed DAG ids, task
  ids or file names, so they are not let through as one metric per DAG (allow-list). Names outside the prefix
  keep statsd_exporter's default (escaped name, no labels).
Timers are histograms (`defaults.observer_type`) with per-family buckets, in seconds.

`StatsdExporterMapper` applies such a file the way statsd_exporter documents it (README "Metric Mapping and
Configuration"): `*` matches exactly one dot-free component, `$n`/`${n}` are captures, globs in file order before
regexes in file order, first match wins, `match_metric_type` restricts a mapping to counter/gauge/observer,
`action: drop`, unmatched names escaped to `[a-zA-Z0-9_]`, `ms` timer values divided by 1000. It is TEST-GRADE:
InfluxDB-style `,k=v` tags only (no DogStatsD/Librato/SignalFX), no cache, no ttl, no `glob_disable_ordering`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import yaml

from airflow_dash import fast_yaml
from airflow_dash.catalog.airflow_metrics import (
    COUNTER, GAUGE, NAMES, TAGS, TIMER, Pattern, dropped_in, prometheus_metrics,
)

DEFAULT_PREFIX = "airflow"
# Airflow re-sends every gauge periodically (pools every 5 s, executor every heartbeat, task-instance states every
# running_metrics_interval = 30 s, triggerer and DAG processing every loop): a gauge silent for this long belongs
# to a process that is gone (a replaced triggerer pod's hostname), and must not keep its last value forever.
# Counters and timers never expire: a sparse failure counter that vanished would lose its next increment.
GAUGE_TTL = "10m"
_METRIC_TYPE = {COUNTER: "counter", GAUGE: "gauge", TIMER: "observer"}
_STATSD_TO_EXPORTER = {"c": "counter", "g": "gauge", "ms": "observer", "h": "observer", "d": "observer"}

# statsd_exporter pkg/mapper: what a glob `match` and a metric `name` may look like.
_GLOB_LINE = re.compile(r"^(\*|[a-zA-Z_](-?[a-zA-Z0-9_])*)(\.\*|\.[a-zA-Z0-9_](-?[a-zA-Z0-9_])*)*$")
_NAME = re.compile(r"^([a-zA-Z_]|\$\{?\d+\}?)([a-zA-Z0-9_]|\$\{?\d+\}?)*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")


def _glob(prefix: str, pattern: Pattern) -> tuple[str, dict[str, str]]:
    """The glob `match` for a pattern and its labels with `$n` references."""
    components = [prefix] if prefix else []
    labels: dict[str, str] = {}
    n = 0
    for part in pattern.parts:
        if part.prefix:
            raise ValueError(f"{pattern.template}: embedded placeholders need a regex mapping")
        if part.literal is None:
            assert part.label is not None  # a placeholder always names its label (parse_pattern)
            n += 1
            components.append("*")
            labels[part.label] = f"${n}"
        else:
            components.append(part.literal)
            if part.label:
                labels[part.label] = part.literal
    labels.update(pattern.constants)
    return ".".join(components), labels


def _specificity(match: str) -> tuple[int, ...]:
    # statsd_exporter: "List more specific matches before wildcards, from left to right".
    return tuple(0 if c != "*" else 1 for c in match.split("."))


def _dropped_glob(prefix: str, template: str) -> str | None:
    parts: list[str] = []
    for component in template.split("."):
        if component.startswith("<") and component.endswith(">"):
            parts.append("*")
        elif "<" in component:
            return None
        else:
            parts.append(component)
    return ".".join([prefix, *parts] if prefix else parts)


def statsd_mapping(prefix: str = DEFAULT_PREFIX, mode: str = NAMES, gauge_ttl: str = GAUGE_TTL) -> dict[str, Any]:
    """The mapping config as a dict (see the module docstring). `mode` is how Airflow sends ids (`tags`:
    statsd_exporter turns Airflow's InfluxDB-style tags into labels; `names`: globs cut them out of names)."""
    globs: list[tuple[tuple[int, ...], int, dict[str, Any]]] = []
    regexes: list[dict[str, Any]] = []
    order = 0
    for metric in prometheus_metrics():
        regex = metric.regex_for(mode)
        if regex:
            captured = [p.label for p in metric.patterns[0].parts if p.label]
            regexes.append({
                "match": rf"^{re.escape(prefix)}\.{regex}$" if prefix else rf"^{regex}$",
                "match_type": "regex",
                "match_metric_type": _METRIC_TYPE[metric.statsd_type],
                "name": metric.prometheus_name,
                "labels": {label: f"${i + 1}" for i, label in enumerate(captured)},
                "help": metric.description,
            })
            continue
        for pattern in metric.patterns_for(mode):
            match, labels = _glob(prefix, pattern)
            entry: dict[str, Any] = {"match": match, "match_metric_type": _METRIC_TYPE[metric.statsd_type],
                                     "name": metric.prometheus_name}
            if labels:
                entry["labels"] = labels
            if metric.statsd_type == TIMER:
                entry["histogram_options"] = {"buckets": list(metric.buckets)}
            if metric.statsd_type == GAUGE:
                entry["ttl"] = gauge_ttl
            entry["help"] = metric.description
            globs.append((_specificity(match), order, entry))
            order += 1
    for dropped in dropped_in(mode):
        if "prometheus" not in dropped.stacks:
            continue
        dropped_match = _dropped_glob(prefix, dropped.pattern)
        if dropped_match is None or dropped.statsd_type == "any":
            continue
        globs.append((_specificity(dropped_match), order, {"match": dropped_match, "action": "drop", "name": "dropped",
                                                   "help": dropped.reason}))
        order += 1
    globs.sort(key=lambda item: (item[0], item[1]))
    catch_all = {"match": rf"^{re.escape(prefix)}\..*$" if prefix else ".", "match_type": "regex",
                 "action": "drop", "name": "dropped",
                 "help": "unknown Airflow name: dropped, it may embed DAG/task ids (allow-list)"}
    return {
        "defaults": {"observer_type": "histogram", "match_type": "glob", "ttl": "0s"},
        "mappings": [entry for _, _, entry in globs] + regexes + [catch_all],
    }


HEADER = """\
# statsd_exporter mapping for Apache Airflow, generated by `airflow-dash collectors` -- do not edit.
# Globs: first match wins, specific before wildcards; regexes run after all globs; the last rule drops every
# other Airflow name (allow-list: unknown names may embed DAG/task ids). Timers are histograms in seconds.
"""


TAGS_HEADER = """\
# Tags mode (recommended): set Airflow's [metrics] statsd_influxdb_enabled = True. Ids (dag_id, task_id, pool...)
# arrive as InfluxDB-style tags and become labels as they are, dots included (TaskGroups, dotted DAG ids); names
# embedding ids are dropped. Airflow's tag names pool_name/operator_name/task_type are renamed to our labels by
# the metric_relabel_configs of the generated prometheus.yml.
"""


def statsd_mapping_yaml(prefix: str = DEFAULT_PREFIX, mode: str = NAMES, gauge_ttl: str = GAUGE_TTL) -> str:
    header = HEADER + (TAGS_HEADER if mode == TAGS else "")
    return header + fast_yaml.safe_dump(statsd_mapping(prefix, mode, gauge_ttl), sort_keys=False, width=120)


# ---------------------------------------------------------------------------------------------------------
# evaluator (test-grade)

@dataclass(frozen=True)
class MappedMetric:
    """Where one StatsD event lands: `dropped`, or a Prometheus metric name, labels and observer settings."""

    name: str
    labels: Mapping[str, str]
    dropped: bool = False
    matched: bool = True  # False: no mapping matched (default escaping)
    observer_type: str = "summary"
    buckets: tuple[float, ...] = ()
    quantiles: tuple[float, ...] = ()
    value_scale: float = 1.0  # ms timers: 0.001

    def exposed_names(self, metric_type: str) -> tuple[str, ...]:
        """The sample names Prometheus stores for this metric (counters: `_total` exactly once)."""
        if metric_type == "counter":
            return (self.name if self.name.endswith("_total") else self.name + "_total",)
        if metric_type == "gauge":
            return (self.name,)
        if self.observer_type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name, f"{self.name}_sum", f"{self.name}_count")


_DEFAULT_QUANTILES = (0.5, 0.9, 0.99)
_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def escape_metric_name(name: str) -> str:
    """statsd_exporter's EscapeMetricName: non-[a-zA-Z0-9_] become `_`, a leading digit gets a `_` prefix."""
    if not name:
        return name
    out = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return "_" + out if out[0].isdigit() else out


def _expand(template: str, groups: list[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        index = int(match.group(1) or match.group(2))
        return groups[index] if index < len(groups) else ""
    return re.sub(r"\$\{(\d+)\}|\$(\d+)", repl, template)


class MappingConfigError(ValueError):
    pass


@dataclass
class _Rule:
    raw: Mapping[str, Any]
    regex: re.Pattern[str]
    is_glob: bool


@dataclass
class StatsdExporterMapper:
    """statsd_exporter's mapping semantics over a mapping config (dict or YAML text). Test-grade."""

    config: Mapping[str, Any]
    _globs: list[_Rule] = field(init=False, default_factory=list)
    _regexes: list[_Rule] = field(init=False, default_factory=list)

    @classmethod
    def from_yaml(cls, text: str) -> StatsdExporterMapper:
        return cls(yaml.safe_load(text) or {})

    def __post_init__(self) -> None:
        defaults = self.config.get("defaults") or {}
        self.defaults = defaults
        for raw in self.config.get("mappings") or []:
            kind = raw.get("match_type") or defaults.get("match_type") or "glob"
            match = str(raw.get("match", ""))
            if "name" not in raw or not raw["name"]:
                raise MappingConfigError(f"line {match!r} does not define a metric name")
            if raw.get("action", "map") not in ("map", "drop"):
                raise MappingConfigError(f"invalid action {raw.get('action')!r}")
            if raw.get("match_metric_type") not in (None, "counter", "gauge", "observer"):
                raise MappingConfigError(f"invalid match_metric_type {raw.get('match_metric_type')!r}")
            if raw.get("action", "map") == "map" and not _NAME.match(str(raw["name"])):
                raise MappingConfigError(f"metric name {raw['name']!r} does not match the naming rules")
            for label in raw.get("labels") or {}:
                if not _LABEL.match(label):
                    raise MappingConfigError(f"invalid label key {label!r}")
            if kind == "glob":
                if not _GLOB_LINE.match(match):
                    raise MappingConfigError(f"invalid match {match!r}")
                regex = "^" + r"\.".join("([^.]*)" if c == "*" else re.escape(c) for c in match.split(".")) + "$"
                self._globs.append(_Rule(raw, re.compile(regex), True))
            elif kind == "regex":
                self._regexes.append(_Rule(raw, re.compile(match), False))
            else:
                raise MappingConfigError(f"invalid match type {kind!r}")

    def map(self, name: str, statsd_type: str) -> MappedMetric:
        """Map one event (`name` with optional InfluxDB-style `,k=v` tags, StatsD type `c`/`g`/`ms`/`h`/`d`).
        Tags become labels; a mapping's own labels win over a tag of the same name."""
        name, *raw_tags = name.split(",")
        tags = dict(t.split("=", 1) for t in raw_tags if "=" in t)
        mapped = self._map(name, statsd_type)
        if not tags or mapped.dropped:
            return mapped
        return replace(mapped, labels={**tags, **mapped.labels})

    def _map(self, name: str, statsd_type: str) -> MappedMetric:
        kind = _STATSD_TO_EXPORTER[statsd_type]
        for rule in [*self._globs, *self._regexes]:
            wanted = rule.raw.get("match_metric_type")
            if wanted and wanted != kind:
                continue
            match = rule.regex.fullmatch(name) if rule.is_glob else rule.regex.search(name)
            if not match:
                continue
            groups = [match.group(0), *(g or "" for g in match.groups())]
            if rule.raw.get("action") == "drop":
                return MappedMetric(str(rule.raw["name"]), {}, dropped=True)
            metric_name = escape_metric_name(_expand(str(rule.raw["name"]), groups))
            labels = {k: _expand(str(v), groups) for k, v in (rule.raw.get("labels") or {}).items()}
            return self._observer(MappedMetric(metric_name, labels), rule.raw, statsd_type)
        return self._observer(MappedMetric(escape_metric_name(name), {}, matched=False), {}, statsd_type)

    def _observer(self, mapped: MappedMetric, raw: Mapping[str, Any], statsd_type: str) -> MappedMetric:
        if _STATSD_TO_EXPORTER[statsd_type] != "observer":
            return mapped
        observer = raw.get("observer_type") or self.defaults.get("observer_type") or "summary"
        histogram = {**(self.defaults.get("histogram_options") or {}), **(raw.get("histogram_options") or {})}
        summary = {**(self.defaults.get("summary_options") or {}), **(raw.get("summary_options") or {})}
        buckets = tuple(histogram.get("buckets") or self.defaults.get("buckets") or _DEFAULT_BUCKETS)
        quantiles = tuple(q["quantile"] for q in summary.get("quantiles") or []) or _DEFAULT_QUANTILES
        return MappedMetric(mapped.name, mapped.labels, observer_type=observer, buckets=buckets, quantiles=quantiles,
                            value_scale=0.001 if statsd_type == "ms" else 1.0, matched=mapped.matched)
