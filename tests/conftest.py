"""Shared fixtures: real servers (Prometheus, node_exporter, InfluxDB 1.x) and the Grafana target."""

pytest_plugins = ["tests.influxdb_server", "tests.servers", "tests.grafana_fixtures"]
