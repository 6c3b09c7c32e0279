"""`airflow-dash verify`: thin wrapper over airflow_dash.live.verify (run every panel query live)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from airflow_dash.errors import UserError


@click.command()
@click.argument("dashboard", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--prometheus", "prometheus_url", help="Prometheus URL (dashboard built for Prometheus).")
@click.option("--influxql", "influxql_url", help="InfluxDB 1.x URL (dashboard built for InfluxQL).")
@click.option("--database", help="InfluxDB 1.x database.")
@click.option("--flux", "flux_url", help="InfluxDB 2.x URL (dashboard built for Flux).")
@click.option("--org", envvar="INFLUX_ORG", help="InfluxDB 2.x organization [env INFLUX_ORG].")
@click.option("--bucket", envvar="INFLUX_BUCKET", help="InfluxDB 2.x bucket [env INFLUX_BUCKET].")
@click.option("--last", "last", default="1h", show_default=True, help="Time range ending now, e.g. 30m, 6h.")
def verify(dashboard, prometheus_url, influxql_url, database, flux_url, org, bucket, last):
    """Run every panel query of a compiled DASHBOARD JSON against one live datasource.

    Exits 1 when a panel errors or finds no data. The InfluxDB 2.x token comes from INFLUX_TOKEN.
    """
    from airflow_dash.live import FluxLive, InfluxQLLive, PrometheusLive, TimeRange
    from airflow_dash.live.verify import format_results, has_problems, verify_dashboard

    chosen = [u for u in (prometheus_url, influxql_url, flux_url) if u]
    if len(chosen) != 1:
        raise UserError("give exactly one of --prometheus, --influxql, --flux")
    if prometheus_url:
        datasource = PrometheusLive(prometheus_url)
    elif influxql_url:
        if not database:
            raise UserError("--influxql needs --database")
        datasource = InfluxQLLive(influxql_url, database)
    else:
        token = os.environ.get("INFLUX_TOKEN")
        if not (org and token):
            raise UserError("--flux needs --org (or INFLUX_ORG) and INFLUX_TOKEN")
        datasource = FluxLive(flux_url, org, token, bucket or "")
    try:
        model = json.loads(dashboard.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{dashboard}: not valid JSON ({exc})") from None
    model = model.get("dashboard", model)
    try:
        time_range = TimeRange.last(last)
    except ValueError as exc:
        raise UserError(f"bad --last {last!r}: {exc}") from None
    results = verify_dashboard(model, datasource, time_range)
    click.echo(format_results(results), nl=False)
    if has_problems(results):
        raise SystemExit(1)
