"""The metric catalog: what a panel can show, each quantity defined once per stack.

- `airflow_dash.catalog.model`: the vocabulary (`Signal`, `Dimension`, `TelegrafSeries`, `Unsupported`, the
  scopes custom queries receive);
- `host`, `docker`, `airflow`: the bundled signals (node_exporter, cAdvisor and our statsd_exporter mapping
  on Prometheus; Telegraf's inputs and our StatsD templates on InfluxDB);
- `dimensions`: the dimensions they share (`HOST`, `CONTAINER`, ...), which dashboard variables bind to.

>>> from airflow_dash.catalog import host
>>> host.cpu_busy.title, host.cpu_busy.unit, [d.name for d in host.cpu_busy.group_by]
('CPU busy', 'percent', ['host'])
>>> host.cpu_busy.telegraf.measurement, host.cpu_busy.telegraf.field
('cpu', 'usage_idle')
"""
