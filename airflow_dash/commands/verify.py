"""`airflow-dash verify`: thin wrapper over airflow_dash.live (run every panel query against a live datasource)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from airflow_dash.backends import BACKENDS
from airflow_dash.commands.common import dashboards_dir_option, load_settings
from airflow_dash.errors import UserError

if TYPE_CHECKING:
    from airflow_dash.live.runner import LiveDatasource


# The same names as datasources/*.yaml and telegraf.conf; INFLUX_* were verify's names before 0.1.
ENVIRONMENT = {
    "url": {"prometheus": "PROMETHEUS_URL", "flux": "INFLUXDB_URL", "influxql": "INFLUXQL_URL"},
    "database": {"influxql": "INFLUXQL_DATABASE"},
    "user": {"influxql": "INFLUXQL_USER"},
    "password": {"influxql": "INFLUXQL_PASSWORD"},
    "org": {"flux": "INFLUXDB_ORG"},
    "bucket": {"flux": "INFLUXDB_BUCKET"},
    "token": {"flux": "INFLUXDB_TOKEN"},
}
DEPRECATED = {"INFLUXQL_USER": "INFLUX_USER", "INFLUXQL_PASSWORD": "INFLUX_PASSWORD", "INFLUXDB_ORG": "INFLUX_ORG",
              "INFLUXDB_BUCKET": "INFLUX_BUCKET", "INFLUXDB_TOKEN": "INFLUX_TOKEN"}


def _from_environment(option: str, backend: str, given: str | None) -> str | None:
    """An option's value, else its environment variable for this backend (old INFLUX_* names with a warning)."""
    variable = ENVIRONMENT[option].get(backend)
    if given is not None or variable is None:
        return given
    if os.environ.get(variable):
        return os.environ[variable]
    old = DEPRECATED.get(variable)
    if old and os.environ.get(old):
        click.echo(f"warning: {old} is deprecated, set {variable} instead", err=True)
        return os.environ[old]
    return None


@click.command()
@click.option("--backend", required=True, type=click.Choice(sorted(BACKENDS)), help="Which build to verify.")
@click.option("--url", help="The datasource base URL [env PROMETHEUS_URL, INFLUXDB_URL or INFLUXQL_URL, by backend].")
@click.option("--database", help="InfluxQL: the database, Telegraf's [env INFLUXQL_DATABASE].")
@click.option("--user", help="InfluxQL: user [env INFLUXQL_USER].")
@click.option("--password", help="InfluxQL: password [env INFLUXQL_PASSWORD; never printed].")
@click.option("--org", help="Flux: organization [env INFLUXDB_ORG].")
@click.option("--bucket", help="Flux: bucket for v.defaultBucket [env INFLUXDB_BUCKET].")
@click.option("--token", help="Flux: API token [env INFLUXDB_TOKEN; never printed].")
@click.option("--scrape-interval", default="15s", show_default=True, help="Prometheus: the datasource's scrape interval.")
@click.option("--last", help="Time range ending now (e.g. 30m, 6h); default each dashboard's own range.")
@dashboards_dir_option
@click.argument("names", nargs=-1)
def verify(backend: str, url: str | None, database: str | None, user: str | None, password: str | None,
           org: str | None, bucket: str | None, token: str | None, scrape_interval: str, last: str | None,
           dashboards_dir: Path | None, names: tuple[str, ...]) -> None:
    """Run every panel query of the dashboards NAMES (default all), built for BACKEND, against a live datasource.

    Variables are looked up live (chained ones in order), macros are expanded as Grafana would, and a table of
    panels with errors or no data is printed. Exit 1 if there is any. Connection values default to the
    environment variables the datasource files use.
    """
    from airflow_dash.build import compile_dashboards
    from airflow_dash.live import FluxLive, InfluxQLLive, PrometheusLive
    from airflow_dash.live.verify import format_results, has_problems, verify_compiled
    from airflow_dash.scrub import register_secret
    from airflow_dash.settings import http_url

    register_secret(token)
    register_secret(password, user=user)

    url, database, user, password, org, bucket, token = (
        _from_environment(name, backend, value) for name, value in (
            ("url", url), ("database", database), ("user", user), ("password", password), ("org", org),
            ("bucket", bucket), ("token", token)))
    if not url:
        raise UserError(f"--backend {backend} needs --url (or {ENVIRONMENT['url'][backend]})")
    try:
        url = http_url(url)
    except ValueError as exc:
        raise UserError(f"--url (or {ENVIRONMENT['url'][backend]}): {exc}") from None
    datasource: LiveDatasource
    if backend == "prometheus":
        datasource = PrometheusLive(url, scrape_interval=scrape_interval)
    elif backend == "influxql":
        if not database:
            raise UserError("--backend influxql needs --database (or INFLUXQL_DATABASE)")
        datasource = InfluxQLLive(url, database, user=user, password=password)
    else:
        if not (org and token):
            raise UserError("--backend flux needs --org (or INFLUXDB_ORG) and a token (--token or INFLUXDB_TOKEN)")
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
