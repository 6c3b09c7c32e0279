"""The `airflow-dash` command line.

Commands live in `airflow_dash.commands.<name>` and are imported only when run, so `airflow-dash build` does
not pay for requests, influxdb-client or Pillow. Commands stay thin: the library does the work.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys

import click

from airflow_dash.errors import AirflowDashError

# command name -> "module:attribute"; kept in one table so `--help` can list them without importing them.
COMMANDS: dict[str, str] = {
    "build": "airflow_dash.commands.build:build",
    "list": "airflow_dash.commands.build:list_dashboards",
    "collectors": "airflow_dash.commands.collectors:collectors",
    "verify": "airflow_dash.commands.verify:verify",
    "publish": "airflow_dash.commands.publish:publish",
    "diff": "airflow_dash.commands.publish:diff",
    "pull": "airflow_dash.commands.publish:pull",
    "import": "airflow_dash.commands.importing:import_dashboard",
    "config": "airflow_dash.commands.publish:config",
    "lint": "airflow_dash.commands.lint:lint",
    "preview": "airflow_dash.commands.preview:preview",
    "setup-flux-checker": "airflow_dash.commands.setup_flux:setup_flux_checker",
    "init": "airflow_dash.commands.init:init",
}

SHORT_HELP: dict[str, str] = {
    "build": "Compile dashboards to Grafana JSON.",
    "list": "List dashboards and the backends they compile for.",
    "collectors": "Write statsd_exporter, Telegraf and Prometheus configs from the metric catalog.",
    "verify": "Run every panel query against a live datasource and report panels without data.",
    "publish": "Publish datasources, folders and dashboards to Grafana safely.",
    "diff": "Show what differs between compiled dashboards and Grafana or a git revision.",
    "pull": "Export live dashboards from Grafana as formatted JSON.",
    "import": "Write a dashboards/ module from an existing dashboard JSON (or --uid).",
    "config": "Show the effective settings and where each comes from.",
    "lint": "Check dashboards for mistakes reviewers care about.",
    "preview": "Render dashboard layouts to SVG/PNG and an index.html.",
    "setup-flux-checker": "Install the offline Flux checker (npm) into a per-user cache.",
    "init": "Create a dashboards repository: pyproject, dashboards/, datasources/, Makefile, CI.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # not built yet in this checkout
            raise
        command: click.Command = getattr(module, attribute)  # COMMANDS names click commands only
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table, so `--help` imports no command module.
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--context", "context_name", metavar="NAME", default=None,
              help="Named context ([tool.airflow-dash.contexts.NAME]: Grafana URL, org, folder, credentials).")
@click.version_option(package_name="airflow-dash")
@click.pass_context
def cli(ctx: click.Context, debug: bool, context_name: str | None) -> None:
    """Grafana dashboards for Apache Airflow, as code: build, check, preview and publish them."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if context_name:
        from airflow_dash.settings import select_context

        select_context(context_name)


def _scrub_output() -> None:
    """Everything printed from here on passes the one scrubber (see airflow_dash.scrub)."""
    from airflow_dash.scrub import SCRUBBER, ScrubbingStream

    SCRUBBER.register_environment(os.environ)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, ScrubbingStream):
            setattr(sys, name, ScrubbingStream(stream))


def _one_line_click_error(exc: click.ClickException) -> str:
    """Click's message (a usage error: which option, which value) as one line, like every other error; the
    usage text Click prints above it becomes a pointer to --help."""
    message = " ".join(exc.format_message().split())
    context = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and context is not None:
        message += f" (see '{context.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> None:
    """Console entry point: library errors become one line on stderr and an exit code."""
    _scrub_output()
    # The interpreter's shutdown runs the cyclic collector over every object the command made (~25 ms after a
    # build) just before the process exits and frees them all: frozen objects are left out of those passes.
    # At exit only, so a caller that runs main in its own process (tests) keeps its collector as it was.
    atexit.unregister(gc.freeze)  # once, however often main runs in one process
    atexit.register(gc.freeze)
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # standalone_mode=False returns ctx.exit() codes instead of exiting: pass them on.
        sys.exit(cli.main(args=args, prog_name="airflow-dash", standalone_mode=False) or 0)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # click wraps Ctrl-C as Abort
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        no_args_is_help = getattr(click.exceptions, "NoArgsIsHelpError", ())  # Click >= 8.2, bare `airflow-dash`
        if isinstance(exc, no_args_is_help) and isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(exc.ctx.get_help(), err=True)
        else:
            click.echo(f"error: {_one_line_click_error(exc)}", err=True)
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except AirflowDashError as exc:
        if debug:  # the traceback, and the exit code the command has without --debug
            import traceback

            traceback.print_exc()
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
