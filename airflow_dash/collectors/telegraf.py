"""Telegraf: our `telegraf.conf`, with `inputs.statsd` templates generated from the naming table, and a
test-grade evaluator of Telegraf's template rules.

Templates (`statsd_templates(prefix)`): one `"<filter> <template>"` per table pattern; literal components become
`measurement` parts, placeholders tag names (`ti.finish.*.*.*` -> `measurement.measurement.measurement.dag_id.
task_id.state`). Telegraf joins measurement parts with `metric_separator = "_"`; where that cannot give the
table's name (`dag.<dag>.<task>.duration` -> `airflow_dag_duration`, hyphens, the 2.x `zombies_killed`) a
`processors.rename` entry (namepass-restricted) renames the measurement.

Drops: Telegraf templates cannot drop, so a dropped name gets a template adding the tag `af_drop=true` and
`[inputs.statsd.tagdrop]` discards it. Telegraf's filter tree does not backtrack and falls back to the default
(filterless) template when a name leaves the tree, so every prefix of every filter gets a drop template, and the
default template drops too (allow-list; the statsd input is Airflow's only). A name that follows a kept filter
to its end but has extra components keeps the filter's template (Telegraf ignores the extra components).

Choices: `delete_counters = true` (counters arrive as per-flush counts: the catalog's DELTA kind),
`delete_gauges = false` (a gauge keeps its last value between Airflow's updates, which come every scheduler
loop or less often), `delete_timings = true` (timer statistics describe one flush), `percentiles = [50, 90, 95,
99]`, `number_workers_threads = 1` (datagrams parsed in the order they arrive, so the last gauge set wins).

`TelegrafTemplateEvaluator` ports Telegraf's matcher (internal/templating: filter tree with exact children before
`*`, no backtracking, default template; Template.Apply: `measurement`, `measurement*`, `field`, `field*`, tag
names, extra `k=v` tags) as documented in docs/TEMPLATE_PATTERN.md. TEST-GRADE: no influx-style tags in bucket
names beyond `,k=v` parsing, no `convert_names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from airflow_dash.catalog.airflow_metrics import (
    NAMES, TAGS, TELEGRAF_PERCENTILES, Pattern, dropped_in, tag_renames, telegraf_metrics,
)

DEFAULT_PREFIX = "airflow"
DROP_TAG = "af_drop"
SEPARATOR = "_"


def _template_for(prefix: str, pattern: Pattern) -> tuple[str, str, str]:
    """(filter, template, natural measurement name) for one table pattern."""
    filters, keywords, names = ([prefix], ["measurement"], [prefix]) if prefix else ([], [], [])
    for part in pattern.parts:
        if part.prefix:
            raise ValueError(f"{pattern.template}: Telegraf templates cannot split a component")
        if part.literal is None:
            assert part.label is not None  # a placeholder always names its label (parse_pattern)
            filters.append("*")
            keywords.append(part.label)
        else:
            filters.append(part.literal)
            if part.label:
                keywords.append(part.label)
            else:
                keywords.append("measurement")
                names.append(part.literal)
    return ".".join(filters), ".".join(keywords), SEPARATOR.join(names)


def _constant_tags(pattern: Pattern) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(pattern.constants.items()) if v)


@dataclass(frozen=True)
class TelegrafPlan:
    templates: tuple[str, ...]
    renames: Mapping[str, str]  # natural measurement -> table measurement
    tag_renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # measurement -> {tag: our tag}


def telegraf_plan(prefix: str = DEFAULT_PREFIX, mode: str = NAMES) -> TelegrafPlan:
    kept: dict[str, str] = {}  # filter -> "filter template [tags]"
    renames: dict[str, str] = {}
    for metric in telegraf_metrics():
        for pattern in metric.patterns_for(mode):
            filt, template, natural = _template_for(prefix, pattern)
            tags = _constant_tags(pattern)
            kept[filt] = " ".join(x for x in (filt, template, tags) if x)
            if natural != metric.telegraf_measurement:
                renames[natural] = metric.telegraf_measurement
    drops: dict[str, str] = {}
    drop_template = f"measurement* {DROP_TAG}=true"
    for dropped in dropped_in(mode):
        if "telegraf" not in dropped.stacks or dropped.statsd_type == "any":
            continue
        components = dropped.pattern.split(".")
        if any("<" in c and not (c.startswith("<") and c.endswith(">")) for c in components):
            continue  # embedded placeholder: dropped by the prefix drops below
        filt = ".".join(([prefix] if prefix else []) + ["*" if c.startswith("<") else c for c in components])
        if filt not in kept:
            drops[filt] = f"{filt} {drop_template}"
    # Every prefix of a kept filter that has no template of its own drops (no backtracking in Telegraf).
    for filt in list(kept):
        components = filt.split(".")
        for i in range(1, len(components)):
            head = ".".join(components[:i])
            if head not in kept and head not in drops:
                drops[head] = f"{head} {drop_template}"
    # A name that follows a kept filter to its end keeps that filter's template whatever follows (Telegraf ignores
    # extra components): `ti.finish.etl.grp.extract.success` (a TaskGroup task on Airflow 2.10) would become
    # dag_id=etl, task_id=grp, state=extract. One more `*` level drops such names instead of mis-splitting them.
    for filt in list(kept):
        longer = filt + ".*"
        if longer not in kept and longer not in drops:
            drops[longer] = f"{longer} {drop_template}"
    templates = tuple(sorted(kept.values())) + tuple(sorted(drops.values())) + (drop_template,)
    return TelegrafPlan(templates, dict(sorted(renames.items())), tag_renames(mode, "telegraf"))


def _toml_list(values: Sequence[str], indent: str = "    ") -> str:
    return "[\n" + "".join(f'{indent}"{v}",\n' for v in values) + "  ]"


def _tag_rename_processor(plan: TelegrafPlan) -> str:
    """Tags mode: Airflow's tag names (pool_name, operator_name...) renamed to our tags, per measurement."""
    if not plan.tag_renames:
        return ""
    natural = {new: old for old, new in plan.renames.items()}
    measurements = sorted({m for final in plan.tag_renames for m in (final, natural.get(final, final))})
    pairs = sorted({(old, new) for renames in plan.tag_renames.values() for old, new in renames.items()})
    body = "".join(f'  [[processors.rename.replace]]\n    tag = "{old}"\n    dest = "{new}"\n' for old, new in pairs)
    return ("\n## Tags mode: Airflow's tag names renamed to the ones the dashboards use.\n[[processors.rename]]\n"
            f"  namepass = [{', '.join(f'{chr(34)}{m}{chr(34)}' for m in measurements)}]\n{body}")


def telegraf_conf(prefix: str = DEFAULT_PREFIX, mode: str = NAMES) -> str:
    plan = telegraf_plan(prefix, mode)
    renames = "".join(
        f'  [[processors.rename.replace]]\n    measurement = "{old}"\n    dest = "{new}"\n'
        for old, new in plan.renames.items())
    namepass = ", ".join(f'"{old}"' for old in plan.renames)
    percentiles = ", ".join(f"{p}.0" for p in TELEGRAF_PERCENTILES)
    statsd_mode = (f"statsd_influxdb_enabled = True (tags mode: ids arrive as `,k=v` tags, dots included)"
                   if mode == TAGS else "statsd_influxdb_enabled = False (names mode: ids inside the names)")
    return f'''# Telegraf for Apache Airflow hosts, generated by `airflow-dash collectors` -- do not edit.
# Needs HOST_NAME, INFLUXDB_URL, INFLUXDB_TOKEN, INFLUXDB_ORG, INFLUXDB_BUCKET in the environment (the names
# datasources/ and `airflow-dash verify` use too).

[agent]
  interval = "10s"
  round_interval = true
  flush_interval = "10s"
  ## Every point gets host=$HOST_NAME (the catalog's `host` dimension).
  hostname = "$HOST_NAME"
  omit_hostname = false

###############################################################################
# Airflow StatsD (statsd_on = True, statsd_host = <this host>, statsd_port = 8125, statsd_prefix = {prefix},
# {statsd_mode})

[[inputs.statsd]]
  protocol = "udp"
  service_address = ":8125"
  ## Counters are written as per-flush counts (queried as sums per window, per second).
  delete_counters = true
  ## Gauges keep their last value between Airflow's updates.
  delete_gauges = false
  ## ...but not forever: Airflow re-sends every gauge at least every 30 s, so one silent for 10 minutes belongs
  ## to a process that is gone (e.g. a replaced triggerer's hostname) and stops being written.
  max_ttl = "10m"
  ## Timer statistics (mean, upper, lower, count, sum, stddev, median, percentiles) describe one flush, in ms.
  delete_timings = true
  delete_sets = true
  percentiles = [{percentiles}]
  percentile_limit = 1000
  ## One parser: with Telegraf's default of 5, datagrams are parsed concurrently and two updates of one gauge
  ## sent back to back can land in the wrong order, so the gauge keeps the older value (StatsD: the last set
  ## wins). Parsing is cheap; one parser keeps up with an Airflow deployment's StatsD traffic.
  number_workers_threads = 1
  metric_separator = "{SEPARATOR}"
  ## DogStatsD tags (Airflow statsd_datadog_enabled); InfluxDB-style `,k=v` tags are always parsed.
  datadog_extensions = false
  ## Generated from the airflow-dash naming table: ids go to tags, never into measurement names. Names the
  ## table does not keep get {DROP_TAG}=true and are discarded by the tagdrop below (allow-list).
  templates = {_toml_list(plan.templates)}

  [inputs.statsd.tagdrop]
    {DROP_TAG} = ["true"]

## Measurement names the template language cannot produce directly.
[[processors.rename]]
  namepass = [{namepass}]
{renames}{_tag_rename_processor(plan)}
###############################################################################
# Docker (containers of this host)

[[inputs.docker]]
  endpoint = "unix:///var/run/docker.sock"
  gather_services = false
  perdevice = false
  perdevice_include = ["cpu", "blkio", "network"]
  total = true
  total_include = ["cpu", "blkio", "network"]
  timeout = "5s"

###############################################################################
# Host

[[inputs.cpu]]
  percpu = false
  totalcpu = true
  collect_cpu_time = false
  report_active = false

[[inputs.mem]]

[[inputs.disk]]
  ignore_fs = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs", "nsfs"]

[[inputs.diskio]]

[[inputs.net]]
  ignore_protocol_stats = true

[[inputs.system]]

[[inputs.processes]]

[[inputs.swap]]

[[inputs.kernel]]
  ## Pressure stall information (/proc/pressure) for the CPU, memory and I/O pressure panels: measurement
  ## `pressure`, field `total` (microseconds stalled). Without it the plugin sends no PSI at all.
  collect = ["psi"]

## fs.file-nr / fs.file-max for the "File descriptors used" panel.
[[inputs.linux_sysctl_fs]]

###############################################################################
# Outputs

[[outputs.influxdb_v2]]
  urls = ["${{INFLUXDB_URL}}"]
  token = "${{INFLUXDB_TOKEN}}"
  organization = "${{INFLUXDB_ORG}}"
  bucket = "${{INFLUXDB_BUCKET}}"

## InfluxDB 1.x instead (InfluxQL): comment out outputs.influxdb_v2 above and use
# [[outputs.influxdb]]
#   urls = ["${{INFLUXQL_URL}}"]
#   database = "${{INFLUXQL_DATABASE}}"
#   skip_database_creation = false
#   # username = "${{INFLUXQL_USER}}"
#   # password = "${{INFLUXQL_PASSWORD}}"
'''


# ---------------------------------------------------------------------------------------------------------
# evaluator (test-grade)

@dataclass(frozen=True)
class Template:
    parts: tuple[str, ...]
    default_tags: Mapping[str, str] = field(default_factory=dict)

    def apply(self, line: str, joiner: str) -> tuple[str, dict[str, str], str]:
        """Telegraf's Template.Apply: (measurement, tags, field)."""
        components = line.split(".")
        tags: dict[str, list[str]] = {k: [v] for k, v in self.default_tags.items()}
        measurement: list[str] = []
        fields: list[str] = []
        if "measurement*" in self.parts and "field*" in self.parts:
            raise ValueError("either 'field*' or 'measurement*' can be used in each template (but not both together)")
        for i, tag in enumerate(self.parts):
            if i >= len(components) or tag == "":
                continue
            if tag == "measurement":
                measurement.append(components[i])
            elif tag == "field":
                fields.append(components[i])
            elif tag == "field*":
                fields.extend(components[i:])
            elif tag == "measurement*":
                measurement.extend(components[i:])
            else:
                tags.setdefault(tag, []).append(components[i])
        return joiner.join(measurement), {k: joiner.join(v) for k, v in tags.items()}, joiner.join(fields)


def _parse_template(text: str) -> tuple[str, Template]:
    """`[filter] template [k=v,...]` -> (filter, Template)."""
    parts = text.split()
    filt, tagstring = "", ""
    if len(parts) >= 2:
        if "=" in parts[1]:
            template, tagstring = parts[0], parts[1]
        else:
            filt, template = parts[0], parts[1]
            if len(parts) > 2:
                tagstring = parts[2]
    else:
        template = parts[0]
    tags = {}
    for kv in filter(None, tagstring.split(",")):
        k, _, v = kv.partition("=")
        tags[k] = v
    return filt, Template(tuple(template.split(".")), tags)


@dataclass
class _Node:
    value: str = ""
    children: list["_Node"] = field(default_factory=list)
    template: Template | None = None

    def insert(self, values: list[str], template: Template) -> None:
        if not values:
            self.template = template
            return
        for child in self.children:
            if child.value == values[0]:
                child.insert(values[1:], template)
                return
        node = _Node(values[0])
        self.children.append(node)
        # exact values in string order, "*" last
        self.children.sort(key=lambda n: (n.value == "*", n.value))
        node.insert(values[1:], template)

    def search(self, parts: list[str]) -> Template | None:
        if not parts or not self.children:
            return self.template
        for child in self.children:
            if child.value == parts[0] and child.value != "*":
                return child.search(parts[1:])
        if self.children[-1].value == "*":
            return self.children[-1].search(parts[1:])
        return self.template


class TelegrafTemplateEvaluator:
    """Telegraf's template engine (graphite parser as used by inputs.statsd). Test-grade port."""

    def __init__(self, templates: Sequence[str], separator: str = SEPARATOR):
        self.separator = separator
        self.root = _Node()
        self.default = Template(("measurement*",))
        specs = [_parse_template(t) for t in templates if t.split()]

        # Telegraf sorts specs: filterless first, then by number of template parts (stable), so for one filter
        # the template with the most parts is inserted last and wins.
        def key(spec: tuple[str, Template]) -> tuple[int, int]:
            return (0 if not spec[0] else 1, len(spec[1].parts))
        for filt, template in sorted(specs, key=key):
            if not filt:
                self.default = template
            else:
                self.root.insert(filt.split("."), template)

    def match(self, name: str) -> Template:
        return self.root.search(name.split(".")) or self.default

    def apply(self, bucket: str) -> tuple[str, dict[str, str], str]:
        """statsd parseName: `,k=v` bucket tags, then the template; (measurement, tags, field)."""
        name, *raw_tags = bucket.split(",")
        bucket_tags = {}
        for kv in raw_tags:
            k, _, v = kv.partition("=")
            if k:
                bucket_tags[k] = v
        measurement, tags, fld = self.match(name).apply(name, self.separator)
        for k, v in bucket_tags.items():
            tags.setdefault(k, v)
        return measurement, tags, fld or "value"


@dataclass(frozen=True)
class TelegrafPoint:
    measurement: str
    tags: Mapping[str, str]
    field: str  # "value", or the field prefix for timers


class TelegrafStatsdPipeline:
    """What our telegraf.conf does with a StatsD bucket: templates, tagdrop, processors.rename. Test-grade."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, mode: str = NAMES):
        plan = telegraf_plan(prefix, mode)
        self.evaluator = TelegrafTemplateEvaluator(plan.templates)
        self.renames = dict(plan.renames)
        self.tag_renames = plan.tag_renames

    def map(self, bucket: str) -> TelegrafPoint | None:
        measurement, tags, fld = self.evaluator.apply(bucket)
        if tags.get(DROP_TAG) == "true":
            return None
        measurement = self.renames.get(measurement, measurement)
        for old, new in (self.tag_renames.get(measurement) or {}).items():
            if old in tags:
                tags[new] = tags.pop(old)
        return TelegrafPoint(measurement, tags, fld)
