"""DAG and task ids survive the collectors: no leaks, no mis-maps, on the TaskGroup / dotted-id captures.

The captures `airflow{3,2}-influxdb-tags.tsv` were recorded with Airflow's `statsd_influxdb_enabled`, so each
id-carrying line also holds the true ids as tags: `team.etl_groups` (a dotted DAG id) with the TaskGroup tasks
`grp.extract`, `grp.inner.transform`, `grp.inner.flaky`. That truth, not our expectations, is what the
mapped labels are checked against:

- tags mode (recommended): labels come from the tags, exactly; every name that embeds ids is dropped;
- names mode (the same capture with its tags cut off, i.e. plain StatsD): a mapped id must be a true id as the
  name spells it (Airflow 3 writes dots as `__`, Airflow 2.10 keeps them); where a name cannot be split
  (Airflow 2.10 TaskGroup tasks) it is dropped, never split wrongly.

These run on our test-grade evaluators of the two collectors; tests/test_statsd_ids_real.py replays the same
captures through the real statsd_exporter and Telegraf.
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from airflow_dash.catalog.airflow_metrics import METRICS, NAMES, TAGS
from airflow_dash.collectors.prometheus import statsd_relabeling
from airflow_dash.collectors.statsd_exporter import StatsdExporterMapper, statsd_mapping
from airflow_dash.collectors.telegraf import TelegrafStatsdPipeline
from tests.statsd_capture import FIXTURE_DIR, Capture, influx_tags, parse_capture

TAGGED = {path.name.split("-")[0]: path for path in sorted(FIXTURE_DIR.glob("airflow*-influxdb-tags.tsv"))}
ID_LABELS = ("dag_id", "task_id")
DOTTED_DAG, GROUP_TASK = "team.etl_groups", "grp.inner.flaky"
OUR_LABELS = {"dag_id", "task_id", "state", "pool", "executor", "bundle", "dag_file", "queue", "triggerer", "operator"}
# Tags Airflow sends beside the ids: bounded values (a run type, a status word, a file of the DAG folder).
AIRFLOW_EXTRA_TAGS = {"run_type", "status", "action", "file_path", "hostname", "name", "bundle_name",
                      "executor_class_name", "task_type"}


@lru_cache(maxsize=None)
def capture(version: str) -> Capture:
    if version not in TAGGED:
        pytest.fail(f"tests/fixtures/statsd/{version}-influxdb-tags.tsv is missing (scripts/record-airflow-statsd.sh)")
    return parse_capture(TAGGED[version])


def true_ids(cap: Capture) -> set[tuple[str, str]]:
    """(dag_id, task_id) as Airflow itself tagged them."""
    pairs = set()
    for sample in cap.samples:
        tags = influx_tags(sample.name)
        if "dag_id" in tags and "task_id" in tags:
            pairs.add((tags["dag_id"], tags["task_id"]))
    return pairs


def relabel(labels: dict[str, str], metric: str) -> dict[str, str]:
    """Our prometheus.yml's metric_relabel_configs for the statsd job (a test-grade reading of them)."""
    import re

    out = dict(labels, __name__=metric)
    for rule in statsd_relabeling(TAGS):
        value = ";".join(out.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule["regex"], value)
        if match:
            out[rule["target_label"]] = match.expand(rule["replacement"].replace("$1", r"\1"))
    out.pop("__name__")
    return {k: v for k, v in out.items() if v}


@lru_cache(maxsize=None)
def mapped(version: str, mode: str) -> tuple:
    """(collector, sample, metric, labels) for every sample a collector keeps (each distinct name once)."""
    return tuple(_mapped(version, mode))


def _mapped(version: str, mode: str):
    cap = capture(version)
    unique = {(s.name, s.type): s for s in cap.samples}
    cap = Capture(cap.header, list(unique.values()), cap.header_lines)
    events = cap.samples if mode == TAGS else cap.plain().samples
    statsd, telegraf = StatsdExporterMapper(statsd_mapping(mode=mode)), TelegrafStatsdPipeline(mode=mode)
    for original, sample in zip(cap.samples, events):
        result = statsd.map(sample.name, sample.type)
        if not result.dropped:
            labels = relabel(dict(result.labels), result.name) if mode == TAGS else dict(result.labels)
            yield "statsd_exporter", original, result.name, labels
        point = telegraf.map(sample.name)
        if point is not None:
            yield "telegraf", original, point.measurement, dict(point.tags)


@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_captures_hold_what_they_were_recorded_for(version):
    cap = capture(version)
    assert cap.influxdb_tags
    pairs = true_ids(cap)
    assert {(DOTTED_DAG, "grp.extract"), (DOTTED_DAG, "grp.inner.transform"), (DOTTED_DAG, GROUP_TASK)} <= pairs
    finishes = {(t.get("task_id"), t.get("state")) for s in cap.samples if s.name.startswith("airflow.ti.finish,")
                for t in [influx_tags(s.name)] if s.value}
    assert (GROUP_TASK, "up_for_retry") in finishes and (GROUP_TASK, "success") in finishes  # the retry
    assert ("wait_deferred", "deferred") in finishes  # the deferrable task went to the triggerer
    names = {s.name.split(",")[0] for s in cap.samples}
    assert "airflow.triggerer_heartbeat" in names and "airflow.dagrun.duration.failed" in names  # a failing run
    assert any(influx_tags(s.name).get("pool_name") == "etl_pool" for s in cap.samples)


@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_tags_mode_maps_ids_exactly_as_airflow_tagged_them(version):
    seen = {"statsd_exporter": set(), "telegraf": set()}
    for collector, sample, metric, labels in mapped(version, TAGS):
        tags = influx_tags(sample.name)
        assert set(labels) <= OUR_LABELS | AIRFLOW_EXTRA_TAGS, (collector, sample.name, labels)
        for label in ID_LABELS:
            if label in labels:
                assert labels[label] == tags.get(label), (collector, sample.name, labels)  # from a tag, never a name
        assert "__" not in "".join(labels.get(label, "") for label in ID_LABELS), (collector, sample.name)
        if "dag_id" in labels and "task_id" in labels:
            seen[collector].add((metric, labels["dag_id"], labels["task_id"]))
        for renamed in ("pool_name", "operator_name"):
            assert renamed not in labels, (collector, sample.name, labels)
    for collector, found in seen.items():
        pairs = {(d, t) for _, d, t in found}
        assert (DOTTED_DAG, GROUP_TASK) in pairs and (DOTTED_DAG, "grp.extract") in pairs, collector
        metrics = {m for m, d, t in found if (d, t) == (DOTTED_DAG, GROUP_TASK)}
        assert any("ti_finish" in m for m in metrics) and any("task_duration" in m for m in metrics), (collector, metrics)


@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_names_mode_never_mis_splits_an_id(version):
    truth = true_ids(capture(version))
    spelled = {(d.replace(".", "__"), t.replace(".", "__")) for d, t in truth} | truth
    dags = {d for d, _ in spelled}
    kept_groups = set()
    for collector, sample, metric, labels in mapped(version, NAMES):
        tags = influx_tags(sample.name)
        if "dag_id" in labels:
            assert labels["dag_id"] in dags, (collector, sample.name, labels)
            if "dag_id" in tags:  # the line's own truth (Airflow 2.10 tags its legacy names too)
                assert labels["dag_id"] in (tags["dag_id"], tags["dag_id"].replace(".", "__")), (collector, sample.name)
        if "dag_id" in labels and "task_id" in labels:
            assert (labels["dag_id"], labels["task_id"]) in spelled, (collector, sample.name, labels)
            if labels["task_id"].startswith("grp"):
                kept_groups.add((collector, labels["dag_id"], labels["task_id"]))
    if version == "airflow3":  # Airflow 3 writes dots as `__`: TaskGroup tasks map, spelled that way
        assert ("statsd_exporter", "team__etl_groups", "grp__inner__flaky") in kept_groups
        assert ("telegraf", "team__etl_groups", "grp__inner__flaky") in kept_groups
    else:  # Airflow 2.10 keeps the dots: such names are dropped (tags mode is the way to see them)
        assert not kept_groups


@pytest.mark.parametrize("version", ["airflow3", "airflow2"])
def test_tags_mode_loses_no_metric_names_mode_shows(version):
    for collector in ("statsd_exporter", "telegraf"):
        tags = {m for c, _, m, _ in mapped(version, TAGS) if c == collector}
        names = {m for c, _, m, _ in mapped(version, NAMES) if c == collector}
        assert names <= tags, (collector, sorted(names - tags))


def test_every_tagged_family_is_a_known_metric():
    """Tags mode keeps a tagged name only for a metric of the table (never one per DAG or operator)."""
    known = {m.prometheus_name for m in METRICS} | {m.telegraf_measurement for m in METRICS}
    for version in TAGGED:
        for mode in (TAGS, NAMES):
            for collector, sample, metric, _ in mapped(version, mode):
                assert metric in known, (version, mode, collector, sample.name, metric)
