"""`airflow-dash setup-flux-checker`: install the Flux checker once per user (npm), then prove it works."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("setup-flux-checker")
@click.option("--dir", "target", type=click.Path(file_okay=False, path_type=Path),
              help="Install here instead of the per-user cache (then set node_modules to DIR/node_modules).")
def setup_flux_checker(target: Path | None) -> None:
    """Install @influxdata/flux-lsp-browser (the offline Flux checker) with npm into a per-user cache.

    Needed only for the flux backend; Node.js >= 18 and npm must be installed. Prometheus and InfluxQL
    checks need nothing beyond airflow-dash itself.
    """
    from airflow_dash.validate.flux import FLUX_LSP_NAME, FLUX_LSP_VERSION, check_flux, install_checker, use_node_modules

    node_modules = install_checker(target)
    use_node_modules(node_modules)
    problems = check_flux(['from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart)'])
    if problems != [[]]:
        raise click.ClickException(f"the installed Flux checker rejects a valid query: {problems[0][0].message}")
    click.echo(f"installed {FLUX_LSP_NAME} {FLUX_LSP_VERSION} in {node_modules}")
    if target:
        click.echo(f"set node_modules = \"{node_modules}\" under [tool.airflow-dash] (or AIRFLOW_DASH_NODE_MODULES)")
