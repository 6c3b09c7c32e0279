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
def collectors(out, prefix, host_name):
    """Write statsd_exporter, Telegraf and Prometheus configs generated from the metric catalog."""
    from airflow_dash.collectors import write_collectors

    for path in write_collectors(out, prefix, host_name):
        click.echo(f"wrote {path}")
