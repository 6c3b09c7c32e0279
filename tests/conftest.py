"""Shared fixtures: real servers (Prometheus, node_exporter, InfluxDB 1.x; statsd_exporter, Telegraf, InfluxDB 2) and
the Grafana target.

A user's publishing environment (GRAFANA_URL, GRAFANA_TOKEN, the datasource variables, AIRFLOW_DASH_* settings)
must never steer the suite, nor its subprocesses: it is removed before any test runs. Only the suite's own
opt-ins stay (AIRFLOW_DASH_TEST_*, AIRFLOW_DASH_REFERENCE) and where the Flux checker is (AIRFLOW_DASH_NODE_MODULES).
"""

import os

KEPT = ("AIRFLOW_DASH_TEST_", "AIRFLOW_DASH_REFERENCE", "AIRFLOW_DASH_NODE_MODULES")
REMOVED = ("GRAFANA_", "AIRFLOW_DASH_", "PROMETHEUS_URL", "INFLUXDB_", "INFLUXQL_", "INFLUX_")
for _name in list(os.environ):
    if _name.startswith(REMOVED) and not _name.startswith(KEPT):
        del os.environ[_name]

pytest_plugins = ["tests.influxdb_server", "tests.servers", "tests.grafana_fixtures", "tests.components"]

import pytest


@pytest.fixture(autouse=True)
def _private_check_cache(tmp_path_factory, monkeypatch):
    """Each test (and every CLI it starts) gets an empty query-check cache, never the user's own."""
    monkeypatch.setenv("AIRFLOW_DASH_CHECK_CACHE", str(tmp_path_factory.mktemp("check-cache")))
