"""statsd_exporter: README examples through our evaluator, and our generated mapping over real captures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml

from airflow_dash.catalog.airflow_metrics import METRICS
from airflow_dash.collectors.statsd_exporter import (
    MappingConfigError, StatsdExporterMapper, statsd_mapping, statsd_mapping_yaml,
)
from tests.reference import CONTENT
from tests.statsd_capture import FIXTURE_DIR, parse_capture

SIMULATION = CONTENT / "telegraf" / "airflow-statsd-template-simulation.tsv"
# Airflow's documented metric names (facts, kept in the repository): type, tagged name, legacy dotted name.
METRIC_NAMES = Path(__file__).parent / "fixtures" / "airflow_metric_names.tsv"
CAPTURES = sorted(FIXTURE_DIR.glob("airflow*.tsv"))

# --- README examples -----------------------------------------------------------------------------------------

README_GLOB = """
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "*.signup.*.*"
  name: "signup_events_total"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
"""


def test_readme_glob_examples():
    mapper = StatsdExporterMapper.from_yaml(README_GLOB)
    m = mapper.map("test.dispatcher.FooProcessor.send.success", "c")
    assert (m.name, dict(m.labels)) == ("dispatcher_events_total", {
        "processor": "FooProcessor", "action": "send", "outcome": "success", "job": "test_dispatcher"})
    m = mapper.map("foo_product.signup.facebook.failure", "c")
    assert (m.name, dict(m.labels)) == ("signup_events_total", {
        "provider": "facebook", "outcome": "failure", "job": "foo_product_server"})
    m = mapper.map("test.web-server.foo.bar", "c")
    assert (m.name, dict(m.labels), m.matched) == ("test_web_server_foo_bar", {}, False)


def test_readme_name_references_and_regex():
    mapper = StatsdExporterMapper.from_yaml("""
mappings:
- match: "test.*.*.counter"
  name: "${2}_total"
  labels:
    provider: "$1"
""")
    m = mapper.map("test.a.b.counter", "c")
    assert (m.name, dict(m.labels)) == ("b_total", {"provider": "a"})
    mapper = StatsdExporterMapper.from_yaml(r"""
mappings:
- match: "(.*)\\.(.*)--(.*)\\.status\\.(.*)\\.count"
  match_type: regex
  name: "request_total"
  labels:
    hostname: "$1"
    exec: "$2"
    protocol: "$3"
    code: "$4"
""")
    m = mapper.map("host1.foo--http.status.200.count", "c")
    assert dict(m.labels) == {"hostname": "host1", "exec": "foo", "protocol": "http", "code": "200"}


def test_glob_star_is_one_component_and_globs_before_regex():
    mapper = StatsdExporterMapper.from_yaml("""
mappings:
- match: ".*"
  match_type: regex
  name: "by_regex"
- match: "a.*"
  name: "by_glob"
""")
    assert mapper.map("a.b", "c").name == "by_glob"  # globs first whatever the order
    assert mapper.map("a.b.c", "c").name == "by_regex"  # `*` does not cross a dot


def test_drop_action_match_metric_type_and_timer_seconds():
    mapper = StatsdExporterMapper.from_yaml("""
mappings:
- match: "test.timing.*.*.*"
  name: "my_timer"
  labels: {provider: "$2", outcome: "$3", job: "${1}_server"}
- match: "test.foo.*"
  name: "test_foo"
  match_metric_type: counter
  labels: {provider: "$1"}
- match: "."
  match_type: regex
  action: drop
  name: "dropped"
""")
    timer = mapper.map("test.timing.a.b.c", "ms")
    assert timer.name == "my_timer" and timer.value_scale == 0.001 and timer.observer_type == "summary"
    assert timer.quantiles == (0.5, 0.9, 0.99)
    assert mapper.map("test.timing.a.b.c", "h").value_scale == 1.0  # h/d are not converted
    assert mapper.map("test.foo.x", "c").name == "test_foo"
    assert mapper.map("test.foo.x", "g").dropped  # wrong type: falls through to the drop
    assert mapper.map("anything.else", "c").dropped


def test_invalid_glob_is_refused():
    with pytest.raises(MappingConfigError):
        StatsdExporterMapper.from_yaml('mappings:\n- match: "airflow.operator_failures_*"\n  name: "x"\n')


# --- our mapping -----------------------------------------------------------------------------------------------

def test_generated_mapping_is_valid_statsd_exporter_syntax():
    config = yaml.safe_load(statsd_mapping_yaml())
    assert set(config) == {"defaults", "mappings"}
    allowed = {"match", "match_type", "match_metric_type", "name", "labels", "action", "help",
               "observer_type", "histogram_options", "ttl"}
    for entry in config["mappings"]:
        assert set(entry) <= allowed, entry
        assert entry["name"]
    StatsdExporterMapper(config)  # validates match lines, names, label names
    # the last rule is the catch-all drop of the Airflow prefix
    assert config["mappings"][-1]["action"] == "drop" and config["mappings"][-1]["match_type"] == "regex"


def test_same_metric_name_same_label_names():
    names: dict[str, set] = {}
    for metric in METRICS:
        if metric.prometheus:
            names.setdefault(metric.prometheus_name, set()).add(metric.labels)
    assert all(len(v) == 1 for v in names.values()), names


def _reference_names() -> list[tuple[str, str, str]]:
    """(version, unprefixed name, statsd type) of the reference simulation's buckets (3.3.2 capture + 2.x-style);
    none when the third-party reference material is absent (the captures in the repository still count)."""
    rows = []
    if not SIMULATION.is_file():
        return rows
    for line in SIMULATION.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        bucket, kind = line.split("\t")[:2]
        if "," not in bucket:
            rows.append(("sim", bucket, kind))
    return rows


def _capture_names():
    out = []
    for path in CAPTURES:
        capture = parse_capture(path).plain()  # names mode: tagged captures without their tags
        out.extend((capture.version, name, kind) for name, kind in sorted({(s.name, s.type) for s in capture.samples}))
    return out


def _embedded_values(captures) -> set[str]:
    """DAG ids, task ids, pools, executors, operators, bundles and file names seen in the captures' names."""
    mapper = StatsdExporterMapper(statsd_mapping())
    values = set()
    for _, name, kind in captures:
        values |= {v for v in mapper.map(name, kind).labels.values() if v}
    return values


@pytest.mark.skipif(not CAPTURES, reason="no StatsD capture yet")
def test_every_captured_name_is_mapped_or_deliberately_dropped():
    mapper = StatsdExporterMapper(statsd_mapping())
    names = _capture_names()
    known = {m.prometheus_name for m in METRICS}
    dropped = set()
    for version, name, kind in names:
        result = mapper.map(name, kind)
        assert result.matched, f"{version}: {name} fell through to statsd_exporter's default"
        if result.dropped:
            dropped.add(name)
        else:
            assert result.name in known, name
    assert {"etl_orders", "billing_report", "etl_pool", "LocalExecutor"} <= _embedded_values(names)
    print("dropped:", sorted(dropped))


@pytest.mark.skipif(not CAPTURES, reason="no StatsD capture yet")
def test_no_prometheus_name_embeds_an_id():
    mapper = StatsdExporterMapper(statsd_mapping())
    names = _capture_names() + _reference_names()
    ids = _embedded_values(names)
    # an id that is also a word of our static names (task "start" vs "job_start") cannot be told apart by text:
    # those are checked by the table test (every mapped name is a static table name, no `$n` in any name).
    static = [m.prometheus_name for m in METRICS]
    checked = {v for v in ids if not any(v in n for n in static)}
    assert {"etl_orders", "billing_report", "etl_pool"} <= checked
    for _, name, kind in names:
        result = mapper.map(name, kind)
        if result.dropped:
            continue
        assert result.name in {m.prometheus_name for m in METRICS}, name
        for value in checked:
            assert value not in result.name, (name, result.name, value)
    for entry in statsd_mapping()["mappings"]:
        assert "$" not in entry["name"], entry


def test_reference_names_are_mapped_or_dropped():
    mapper = StatsdExporterMapper(statsd_mapping())
    kinds = {"counter": "c", "gauge": "g", "timer": "ms"}
    lines = [line for line in METRIC_NAMES.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    assert len(rows) > 90
    for row in rows:
        kind = kinds.get(row["type"])
        if not kind:
            continue
        for column in ("tagged_name", "legacy_dotted_name"):
            template = row[column]
            if template in ("-", "") or "|" in template or " " in template:
                continue
            name = "airflow." + re.sub(r"\{(\w+)\}", lambda m: f"x_{m.group(1)}", template)
            result = mapper.map(name, kind)
            assert result.matched, name
            if not result.dropped:
                assert "x_" not in result.name, (name, result.name)


def test_gauges_expire_counters_and_timers_never_do():
    from airflow_dash.collectors.statsd_exporter import GAUGE_TTL

    for mode in ("tags", "names"):
        config = statsd_mapping(mode=mode)
        assert config["defaults"]["ttl"] == "0s"
        for entry in config["mappings"]:
            if entry.get("action") == "drop":
                continue
            assert entry.get("ttl") == (GAUGE_TTL if entry["match_metric_type"] == "gauge" else None), entry
