"""`airflow-dash verify`: thin wrapper over airflow_dash.live (run every panel query against a live datasource)."""

from __future__ import annotations

import click

from airflow_dash.backends import BACKENDS
from airflow_dash.commands.common import dashboards_dir_option, load_settings
from airflow_dash.errors import UserError


@click.command()
@click.option("--backend", required=True, type=click.Choice(sorted(BACKENDS)), help="Which build to verify.")
@click.option("--url", required=True, help="The datasource: Prometheus, InfluxDB 1.x or InfluxDB 2.x base URL.")
@click.option("--database", help="InfluxQL: the database (Telegraf's).")
@click.option("--user", envvar="INFLUX_USER", help="InfluxQL: user [env INFLUX_USER].")
@click.option("--password", envvar="INFLUX_PASSWORD", help="InfluxQL: password [env INFLUX_PASSWORD; never printed].")
@click.option("--org", envvar="INFLUX_ORG", help="Flux: organization [env INFLUX_ORG].")
@click.option("--bucket", envvar="INFLUX_BUCKET", help="Flux: bucket for v.defaultBucket [env INFLUX_BUCKET].")
@click.option("--token", envvar="INFLUX_TOKEN", help="Flux: API token [env INFLUX_TOKEN; never printed].")
@click.option("--scrape-interval", default="15s", show_default=True, help="Prometheus: the datasource's scrape interval.")
@click.option("--last", help="Time range ending now (e.g. 30m, 6h); default each dashboard's own range.")
@dashboards_dir_option
@click.argument("names", nargs=-1)
def verify(backend, url, database, user, password, org, bucket, token, scrape_interval, last, dashboards_dir, names):
    """Run every panel query of the dashboards NAMES (default all), built for BACKEND, against a live datasource.

    Variables are looked up live (chained ones in order), macros are expanded as Grafana would, and a table of
    panels with errors or no data is printed. Exit 1 if there is any.
    """
    from airflow_dash.build import compile_dashboards
    from airflow_dash.live import FluxLive, InfluxQLLive, PrometheusLive
    from airflow_dash.live.verify import format_results, has_problems, verify_compiled
    from airflow_dash.scrub import register_secret

    register_secret(token)
    register_secret(password, user=user)

    if backend == "prometheus":
        datasource = PrometheusLive(url, scrape_interval=scrape_interval)
    elif backend == "influxql":
        if not database:
            raise UserError("--backend influxql needs --database")
        datasource = InfluxQLLive(url, database, user=user, password=password)
    else:
        if not (org and token):
            raise UserError("--backend flux needs --org (or INFLUX_ORG) and a token (--token or INFLUX_TOKEN)")
        datasource = FluxLive(url, org, token, bucket or "")
    settings = load_settings(dashboards_dir=dashboards_dir)
    compiled = compile_dashboards(names, [backend], settings.dashboard_source(), **settings.compile_options([backend]))
    problems = False
    for dashboard, results in verify_compiled(compiled, datasource, last):
        click.echo(f"== {dashboard.title} [{dashboard.uid}]")
        click.echo(format_results(results))
        problems |= has_problems(results)
    if problems:
        raise SystemExit(1)
