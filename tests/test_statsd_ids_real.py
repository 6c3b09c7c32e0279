"""The TaskGroup / dotted-id captures through the REAL statsd_exporter and Telegraf, with our generated configs.

Same truth as tests/test_statsd_ids.py (the ids Airflow itself put into tags), now checked on what the real
binaries expose: statsd_exporter's /metrics (our prometheus.yml's relabeling applied), and the series Telegraf
wrote into a real InfluxDB 1.x. Lines go over TCP (the same parsers as UDP, nothing lost in a burst).
"""

from __future__ import annotations

import re
import time

import pytest
import requests

from airflow_dash.catalog.airflow_metrics import METRICS, NAMES, TAGS
from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
from airflow_dash.collectors.telegraf import telegraf_conf
from tests.real_components import component, parse_exposition, send_tcp
from tests.servers import free_port, start_process, wait_until
from tests.statsd_capture import Capture
from tests.test_statsd_ids import DOTTED_DAG, GROUP_TASK, capture, relabel, true_ids

pytestmark = pytest.mark.slow
VERSIONS = ["airflow3", "airflow2"]
PROMETHEUS_NAMES = {m.prometheus_name for m in METRICS}
MEASUREMENTS = {m.telegraf_measurement for m in METRICS}


def _lines(cap: Capture, mode: str) -> list[str]:
    """One line per distinct event (name, type): the mapping, not the values, is under test."""
    events = cap.samples if mode == TAGS else cap.plain().samples
    distinct = {}
    for sample in events:
        value = f"{sample.value:g}" if sample.type != "g" else f"{abs(sample.value):g}"
        distinct[(sample.name, sample.type)] = f"{sample.name}:{value}|{sample.type}"
    return list(distinct.values())


def _base(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in PROMETHEUS_NAMES:
            return name[: -len(suffix)]
    return name


def _check_ids(series: list[tuple[str, dict[str, str]]], cap: Capture, mode: str, version: str) -> None:
    truth = true_ids(cap)
    spelled = truth if mode == TAGS else truth | {(d.replace(".", "__"), t.replace(".", "__")) for d, t in truth}
    dags = {d for d, _ in spelled}
    pairs = set()
    for metric, labels in series:
        if "dag_id" in labels:
            assert labels["dag_id"] in dags, (metric, labels)
        if "dag_id" in labels and "task_id" in labels:
            assert (labels["dag_id"], labels["task_id"]) in spelled, (metric, labels)
            pairs.add((metric, labels["dag_id"], labels["task_id"]))
        if mode == TAGS:
            assert "pool_name" not in labels and "operator_name" not in labels, (metric, labels)
    grouped = {(d, t) for _, d, t in pairs if t.startswith("grp")}
    if mode == TAGS:
        assert (DOTTED_DAG, GROUP_TASK) in grouped and (DOTTED_DAG, "grp.extract") in grouped
    elif version == "airflow3":
        assert ("team__etl_groups", "grp__inner__flaky") in grouped
    else:
        assert not grouped  # Airflow 2.10 names cannot be split: dropped, never mis-split


@pytest.mark.parametrize("mode", [TAGS, NAMES])
@pytest.mark.parametrize("version", VERSIONS)
def test_real_statsd_exporter(version, mode, tmp_path):
    binary = component("statsd_exporter")
    (tmp_path / "mapping.yml").write_text(statsd_mapping_yaml(mode=mode))
    web, tcp, udp = free_port(), free_port(), free_port()
    process = start_process("statsd_exporter", [
        binary, f"--statsd.mapping-config={tmp_path / 'mapping.yml'}", f"--web.listen-address=127.0.0.1:{web}",
        f"--statsd.listen-tcp=127.0.0.1:{tcp}", f"--statsd.listen-udp=127.0.0.1:{udp}"], tmp_path)
    try:
        url = f"http://127.0.0.1:{web}/metrics"
        wait_until(lambda: requests.get(url, timeout=2).ok, process, "statsd_exporter /metrics")
        cap = capture(version)
        lines = _lines(cap, mode)
        send_tcp(tcp, lines)

        def all_lines_read():
            counted = [v for n, _, v in parse_exposition(requests.get(url, timeout=5).text) if n == "statsd_exporter_lines_total"]
            return counted and counted[0] >= len(lines)
        wait_until(all_lines_read, process, "statsd_exporter reading every line")
        # Parsed lines reach the registry in batches (event flush interval): read until nothing changes.
        last = {"text": None, "since": time.monotonic()}

        def flushed():
            text = requests.get(url, timeout=5).text
            text = "\n".join(line for line in text.splitlines() if line.startswith("airflow"))
            if text != last["text"]:
                last.update(text=text, since=time.monotonic())
            return bool(text) and time.monotonic() - last["since"] >= 1.0
        wait_until(flushed, process, "statsd_exporter flushing every event")
        exposed = parse_exposition(requests.get(url, timeout=5).text)
    finally:
        process.stop()
    series = []
    for name, labels, _ in exposed:
        if not name.startswith("airflow"):
            continue
        base = _base(name)
        assert base in PROMETHEUS_NAMES, (name, labels)  # no metric per DAG, task or operator
        labels = {k: v for k, v in labels.items() if k != "le"}
        series.append((base, relabel(labels, base) if mode == TAGS else labels))
    assert {"airflow_ti_finish_total", "airflow_scheduler_heartbeat_total"} <= {m for m, _ in series}
    _check_ids(series, cap, mode, version)


def _series_keys(server, database: str) -> list[tuple[str, dict[str, str]]]:
    answer = server.query(database, "SHOW SERIES")
    rows = (answer["results"][0].get("series") or [{}])[0].get("values") or []
    keys = []
    for (key,) in rows:
        parts = re.split(r"(?<!\\),", key)
        tags = dict(re.split(r"(?<!\\)=", p, 1) for p in parts[1:])
        unescape = lambda s: re.sub(r"\\([,= ])", r"\1", s)  # noqa: E731
        keys.append((unescape(parts[0]), {unescape(k): unescape(v) for k, v in tags.items()}))
    return keys


@pytest.mark.parametrize("mode", [TAGS, NAMES])
@pytest.mark.parametrize("version", VERSIONS)
def test_real_telegraf(version, mode, tmp_path, influxdb_v1):
    binary = component("telegraf")
    database = f"ids_{version}_{mode}"
    influxdb_v1.query(database, f'CREATE DATABASE "{database}"')
    tcp = free_port()
    conf = telegraf_conf(mode=mode)
    airflow = conf[conf.index("[[inputs.statsd]]"):conf.index("###############################################################################\n# Docker")]
    airflow = (airflow.replace('protocol = "udp"', 'protocol = "tcp"')
               .replace('service_address = ":8125"', f'service_address = "127.0.0.1:{tcp}"'))
    (tmp_path / "telegraf.conf").write_text(
        '[agent]\n  interval = "1s"\n  flush_interval = "1s"\n  hostname = "capture-host"\n  omit_hostname = false\n\n'
        + airflow
        + f'\n[[outputs.influxdb]]\n  urls = ["{influxdb_v1.url}"]\n  database = "{database}"\n'
          '  skip_database_creation = true\n')
    process = start_process("telegraf", [binary, "--config", str(tmp_path / "telegraf.conf")], tmp_path)
    try:
        wait_until(lambda: "Started the statsd service" in process.log_tail(20000), process, "telegraf statsd listener")
        cap = capture(version)
        send_tcp(tcp, _lines(cap, mode))
        last = {"count": -1, "since": time.monotonic()}

        def settled():  # every flush written: the series count has not changed for 3 flush intervals
            count = len(_series_keys(influxdb_v1, database))
            if count != last["count"]:
                last.update(count=count, since=time.monotonic())
            return count > 0 and time.monotonic() - last["since"] >= 3.0
        wait_until(settled, process, "telegraf writing every series", timeout_s=60)
    finally:
        process.stop()
    errors = [line for line in process.log_tail(200000).splitlines()
              if " E! " in line and "use of closed network connection" not in line]  # the listener closing on stop
    assert not errors, errors
    series = _series_keys(influxdb_v1, database)
    for measurement, tags in series:
        assert measurement in MEASUREMENTS, (measurement, tags)  # no measurement per DAG, task or operator class
    assert {"airflow_ti_finish", "airflow_scheduler_heartbeat"} <= {m for m, _ in series}
    _check_ids(series, cap, mode, version)


def test_real_statsd_exporter_forgets_a_silent_gauge_but_keeps_a_silent_counter(tmp_path):
    """Our gauge ttl on the real binary (a short one here): a replaced triggerer's gauge must not stay."""
    binary = component("statsd_exporter")
    (tmp_path / "mapping.yml").write_text(statsd_mapping_yaml(mode=TAGS, gauge_ttl="2s"))
    web, tcp = free_port(), free_port()
    process = start_process("statsd_exporter", [
        binary, f"--statsd.mapping-config={tmp_path / 'mapping.yml'}", f"--web.listen-address=127.0.0.1:{web}",
        f"--statsd.listen-tcp=127.0.0.1:{tcp}", f"--statsd.listen-udp=127.0.0.1:{free_port()}"], tmp_path)
    url = f"http://127.0.0.1:{web}/metrics"

    def names():
        return {(n, labels.get("triggerer", "")) for n, labels, _ in parse_exposition(requests.get(url, timeout=5).text)}
    try:
        wait_until(lambda: requests.get(url, timeout=2).ok, process, "statsd_exporter /metrics")
        send_tcp(tcp, ["airflow.triggers.running.old-pod:3|g", "airflow.ti_failures:1|c"])
        wait_until(lambda: ("airflow_triggers_running", "old-pod") in names(), process, "the gauge")
        wait_until(lambda: ("airflow_triggers_running", "old-pod") not in names(), process, "the gauge expiring")
        assert ("airflow_ti_failures_total", "") in names()
    finally:
        process.stop()
