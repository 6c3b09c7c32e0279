"""The real-server fixtures work: node_exporter, live Prometheus, backfilled Prometheus."""

from __future__ import annotations

import time

import pytest
import requests

# Fixtures (node_exporter, prometheus_live, prometheus_backfilled) come from tests/conftest.py.
from tests.servers import escape_label_value, openmetrics_from_samples

pytestmark = pytest.mark.slow


def test_node_exporter_exposes_cpu_seconds(node_exporter):
    text = requests.get(f"{node_exporter}/metrics", timeout=10).text
    assert "\nnode_cpu_seconds_total{" in text
    assert "\nnode_uname_info{" in text


def test_live_prometheus_rate_of_cpu_seconds_has_data(prometheus_live):
    result = prometheus_live.query("rate(node_cpu_seconds_total[5s])")["result"]
    assert result, "rate(node_cpu_seconds_total[5s]) returned no series"
    assert {series["metric"]["job"] for series in result} == {"node"}


def test_live_prometheus_query_range(prometheus_live):
    end = time.time()
    data = prometheus_live.query_range("up", end - 30, end, 1)
    assert data["resultType"] == "matrix"
    assert len(data["result"][0]["values"]) >= 2


def test_escape_label_value_only_touches_backslash_quote_newline():
    assert escape_label_value('a\\b"c\nd{}=,') == 'a\\\\b\\"c\\nd{}=,'


def test_openmetrics_text_groups_families_and_suffixes_counters():
    text = openmetrics_from_samples([
        ("jobs", {"dag": "a"}, "counter", [(20, 2), (10, 1)]),
        ("temp", {}, "gauge", [(10, float("nan"))]),
        ("jobs_total", {"dag": "b"}, "counter", [(10, 5)]),
        ("lat_sum", {}, "summary", [(10, 1.5)]),
        ("lat", {"quantile": "0.5"}, "summary", [(10, 0.1)]),
    ])
    assert text == (
        "# TYPE jobs counter\n"
        'jobs_total{dag="a"} 1.0 10\n'
        'jobs_total{dag="a"} 2.0 20\n'
        'jobs_total{dag="b"} 5.0 10\n'
        "# TYPE temp gauge\n"
        "temp NaN 10\n"
        "# TYPE lat summary\n"
        "lat_sum 1.5 10\n"
        'lat{quantile="0.5"} 0.1 10\n'
        "# EOF\n"
    )


def test_openmetrics_rejects_two_types_for_one_family():
    with pytest.raises(ValueError, match="two types"):
        openmetrics_from_samples([("x", {}, "gauge", [(1, 1)]), ("x", {}, "counter", [(1, 1)])])


def test_backfilled_label_value_with_quote_backslash_newline_round_trips(prometheus_backfilled):
    tricky = 'say "hi"\\path\nnext line'
    now = int(time.time())
    start = now - 3 * 3600  # older than the (empty) head, well inside retention
    points = [(start + 60 * i, float(i)) for i in range(30)]
    prometheus = prometheus_backfilled(openmetrics_from_samples([
        ("airflow_dagrun_total", {"dag_id": tricky}, "counter", points),
        ("airflow_dagrun_total", {"dag_id": "plain"}, "counter", points),
        ("airflow_pool_slots", {"pool": "default"}, "gauge", points),
    ]))
    series = prometheus.series("airflow_dagrun_total", start, now)
    assert sorted(s["dag_id"] for s in series) == sorted([tricky, "plain"])

    at = start + 60 * 29
    result = prometheus.query("airflow_pool_slots", time=at)["result"]
    assert result[0]["value"][1] == "29"
    increase = prometheus.query(
        'increase(airflow_dagrun_total{dag_id="plain"}[10m])', time=at
    )["result"]
    assert float(increase[0]["value"][1]) == pytest.approx(10.0, rel=0.15)
