"""Collector configs generated from the Airflow naming table, and test-grade evaluators of them.

- `statsd_exporter`: `statsd_mapping.yml` + `StatsdExporterMapper`;
- `telegraf`: `telegraf.conf` + `TelegrafTemplateEvaluator` / `TelegrafStatsdPipeline`;
- `prometheus`: `prometheus.yml` (node_exporter, cAdvisor, statsd_exporter).

`write_collectors(out_dir)` writes the three files (backs `airflow-dash collectors`).
"""

from __future__ import annotations

from pathlib import Path

from airflow_dash.errors import writing

FILES = ("statsd_mapping.yml", "telegraf.conf", "prometheus.yml")


def render_collectors(prefix: str = "airflow", host_name: str = "airflow-host", mode: str = "names") -> dict[str, str]:
    """The three files. `mode`: how Airflow sends ids, `tags` (statsd_influxdb_enabled = True, recommended:
    dotted ids survive) or `names` (plain StatsD); see airflow_dash.catalog.airflow_metrics."""
    from airflow_dash.collectors.prometheus import prometheus_yaml
    from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
    from airflow_dash.collectors.telegraf import telegraf_conf

    return {
        "statsd_mapping.yml": statsd_mapping_yaml(prefix, mode),
        "telegraf.conf": telegraf_conf(prefix, mode),
        "prometheus.yml": prometheus_yaml(host_name=host_name, mode=mode),
    }


def write_collectors(
    out_dir: str | Path, prefix: str = "airflow", host_name: str = "airflow-host", mode: str = "names"
) -> list[Path]:
    """Write the three files into `out_dir` (created if missing); UserError if it cannot be written."""
    out = Path(out_dir)
    contents = render_collectors(prefix, host_name, mode)
    written = []
    with writing("collector configs", out):
        out.mkdir(parents=True, exist_ok=True)
        for name, text in contents.items():
            path = out / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
