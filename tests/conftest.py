"""Shared fixtures: real servers (Prometheus, node_exporter, InfluxDB 1.x; statsd_exporter, Telegraf, InfluxDB 2) and
the Grafana target.

A user's publishing environment (GRAFANA_*, the datasource variables, the AIRFLOW_DASH_<KEY> of every setting)
must never steer the suite, nor its subprocesses: it is removed before any test runs. The suite's own opt-ins
(AIRFLOW_DASH_TEST_*, AIRFLOW_DASH_REFERENCE, component overrides) stay, and so does AIRFLOW_DASH_NODE_MODULES
(where the Flux checker is).
"""

import os

from airflow_dash.settings import KEYS

_KEPT = {"AIRFLOW_DASH_NODE_MODULES"}
_REMOVED = {variable for key in KEYS for variable in key.variables} - _KEPT
for _name in list(os.environ):
    if _name in _REMOVED or _name.startswith(("GRAFANA_", "INFLUXDB_", "INFLUXQL_", "INFLUX_")) or _name == "PROMETHEUS_URL":
        del os.environ[_name]

pytest_plugins = ["tests.servers", "tests.influxdb_server", "tests.grafana_fixtures", "tests.components", "tests.real_pipelines"]

import pytest


@pytest.fixture(autouse=True)
def _private_check_cache(tmp_path_factory, monkeypatch):
    """Each test (and every CLI it starts) gets an empty query-check cache, never the user's own."""
    monkeypatch.setenv("AIRFLOW_DASH_CHECK_CACHE", str(tmp_path_factory.mktemp("check-cache")))
