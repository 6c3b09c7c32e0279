"""Shared fixtures: real servers (Prometheus, node_exporter, InfluxDB 1.x; statsd_exporter, Telegraf, InfluxDB 2) and the Grafana target."""

pytest_plugins = ["tests.influxdb_server", "tests.servers", "tests.grafana_fixtures", "tests.components"]

import pytest


@pytest.fixture(autouse=True)
def _private_check_cache(tmp_path_factory, monkeypatch):
    """Each test (and every CLI it starts) gets an empty query-check cache, never the user's own."""
    monkeypatch.setenv("AIRFLOW_DASH_CHECK_CACHE", str(tmp_path_factory.mktemp("check-cache")))
