"""What every command shares: the settings object and the options that feed it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click

# The backends' names, spelled out so that parsing options imports no backend (an unchanged re-build needs
# none); tests/test_build_cache.py proves they are airflow_dash.backends.BACKENDS'.
BACKEND_NAMES = ("flux", "influxql", "prometheus")

if TYPE_CHECKING:
    from airflow_dash.settings import Settings

Command = TypeVar("Command", bound=Callable[..., Any])


def load_settings(**cli: Any) -> Settings:
    """The settings for this command (pyproject < env < options); also points the Flux checker at the
    configured node_modules, so every command that validates uses the same one."""
    from airflow_dash.settings import load_settings as load
    from airflow_dash.validate.flux import use_node_modules

    settings = load(cli)
    use_node_modules(settings.node_modules)
    return settings


def backend_option(function: Command) -> Command:
    return click.option("--backend", "backends", multiple=True, type=click.Choice(BACKEND_NAMES),
                        help="Backend (repeatable; default the `backends` setting, all three unless set).")(function)


def dashboards_dir_option(function: Command) -> Command:
    return click.option("--dashboards-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Your dashboard modules [setting dashboards_dir, default dashboards/]; the bundled "
                        "dashboards are included unless the `bundled` setting says otherwise.")(function)
