"""Shared fixtures: real servers (Prometheus, node_exporter, InfluxDB 1.x; statsd_exporter, Telegraf, InfluxDB 2) and the Grafana target."""

pytest_plugins = ["tests.influxdb_server", "tests.servers", "tests.grafana_fixtures", "tests.components"]
