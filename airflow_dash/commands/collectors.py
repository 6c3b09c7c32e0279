"""`airflow-dash collectors`: thin wrapper over airflow_dash.collectors.write_collectors."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default="collectors", show_default=True,
              help="Directory for statsd_mapping.yml, telegraf.conf and prometheus.yml.")
@click.option("--prefix", default="airflow", show_default=True, help="Airflow's [metrics] statsd_prefix.")
@click.option("--host-name", default="airflow-host", show_default=True, envvar="HOST_NAME",
              help="Host name Prometheus gives node_exporter and cAdvisor series (Telegraf uses $HOST_NAME too).")
@click.option("--statsd-mode", type=click.Choice(["tags", "names"]), default="tags", show_default=True,
              help="How Airflow sends DAG/task ids. tags (recommended): set [metrics] statsd_influxdb_enabled = True; "
              "ids arrive as tags, TaskGroup and dotted ids intact. names: plain StatsD, ids inside the names "
              "(Airflow 2.10 TaskGroup tasks are dropped: a name cannot say where a dotted id ends).")
def collectors(out: Path, prefix: str, host_name: str, statsd_mode: str) -> None:
    """Write statsd_exporter, Telegraf and Prometheus configs generated from the metric catalog."""
    from airflow_dash.collectors import write_collectors

    for path in write_collectors(out, prefix, host_name, statsd_mode):
        click.echo(f"wrote {path}")
    if statsd_mode == "tags":
        click.echo("Airflow: [metrics] statsd_on = True, statsd_prefix = " + prefix + ", statsd_influxdb_enabled = True")
