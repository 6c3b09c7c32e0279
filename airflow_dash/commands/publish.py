"""`airflow-dash publish | diff | pull | config`: thin click wrappers over `airflow_dash.grafana`.

Exit codes: 0 success / no difference; 1 an operation failed, a publish was refused (drift, conflict) or
`diff` found differences; 2 bad input or configuration, including a token Grafana rejects (401), also in the
middle of a run; 130 interrupted (Ctrl-C: writes in flight finish, the report is printed).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Iterator

import click

from airflow_dash.backends import BACKENDS
from airflow_dash.commands.common import Command
from airflow_dash.errors import DiffTrouble, Interrupted, OperationError, UserError

if TYPE_CHECKING:  # imported where used: `--help` and `config` load no Grafana code
    from airflow_dash.alert_rules.grafana import GrafanaRule
    from airflow_dash.compile import CompiledDashboard
    from airflow_dash.grafana.alert_publish import AlertRulePlan
    from airflow_dash.grafana.client import GrafanaClient
    from airflow_dash.grafana.model import DashboardLike
    from airflow_dash.grafana.publish import ItemResult, LocalInventory, Plan, PublishOptions, PublishReport
    from airflow_dash.settings import Settings



def _grafana_options(function: Command) -> Command:
    """Connection options shared by publish, diff and pull (the token comes from GRAFANA_TOKEN only, so it
    never shows in `ps` or shell history)."""
    options = [
        click.option("--grafana-url", help="Grafana base URL [env GRAFANA_URL]."),
        click.option("--org-id", "grafana_org_id", type=int, help="Organisation id [env GRAFANA_ORG_ID]."),
        click.option("--ca-cert", type=click.Path(dir_okay=False), help="CA bundle to verify Grafana's TLS certificate."),
        click.option("--insecure", is_flag=True, default=None, help="Do not verify Grafana's TLS certificate."),
        click.option("--timeout", "read_timeout", type=float, help="Seconds to wait for each answer."),
        click.option("--retries", type=int, help="Retries on connection errors and 429/502/503/504."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _settings(**cli: Any) -> Settings:
    from airflow_dash.commands.common import load_settings

    return load_settings(**cli)


@dataclass(frozen=True)
class JsonDashboard:
    """A dashboard read from a JSON file (`publish --from-dir`): already compiled, not validated here."""

    uid: str
    title: str
    folder: str | None
    backend: str
    model: dict[str, Any]


def _load_json_dir(directory: Path) -> list[JsonDashboard]:
    files = sorted(Path(directory).glob("**/*.json"))
    if not files:
        raise UserError(f"no *.json dashboards in {directory}")
    result: list[JsonDashboard] = []
    for path in files:
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not a JSON dashboard ({exc})") from None
        model = model.get("dashboard", model) if isinstance(model, dict) else model
        if not isinstance(model, dict) or not model.get("uid") or not model.get("title"):
            raise UserError(f"{path}: a dashboard needs a uid and a title")
        result.append(JsonDashboard(model["uid"], model["title"], None, "json", model))
    return result


def _compile(settings: Settings, names: tuple[str, ...],
             backends: tuple[str, ...]) -> tuple[list[CompiledDashboard], list[tuple[str, str | None]]]:
    """Compile and validate every query before anything is sent to Grafana (UserError on bad input).
    Returns the selected dashboards and (uid, folder) of everything defined locally (see LocalInventory)."""
    from airflow_dash.build import compile_dashboards, local_definitions, validate_or_fail

    chosen = settings.chosen_backends(backends)
    loaded = settings.dashboard_source().load()
    compiled = compile_dashboards(names=list(names) or None, backends=chosen, loaded=loaded,
                                  **settings.compile_options(chosen))
    validate_or_fail(compiled)
    return compiled, local_definitions(loaded)


def _dashboards(settings: Settings, names: tuple[str, ...], backends: tuple[str, ...],
                from_dir: str | None) -> tuple[list[DashboardLike], LocalInventory]:
    """What to publish or compare, and the LocalInventory of everything defined locally."""
    from airflow_dash.grafana.publish import LocalInventory

    if from_dir:
        from_files: list[DashboardLike] = list(_load_json_dir(Path(from_dir)))
        return from_files, LocalInventory.of(from_files)
    compiled, definitions = _compile(settings, names, backends)
    return list(compiled), LocalInventory(tuple(definitions))


def _is_tty() -> bool:
    # sys.stdout, not click.get_text_stream (deprecated since click 8.2, untyped since): the same stream here.
    return sys.stdout is not None and sys.stdout.isatty()


# -- publish ------------------------------------------------------------------------------------------------

_SYMBOL = {"created": "+", "updated": "~", "deleted": "-", "unchanged": "=", "removed": "-", "failed": "!",
           "conflict": "!", "refused": "!", "not attempted": "?", "kept": "!", "uncertain": "?"}


def _print_plan(plan: Plan) -> None:
    for ds in plan.datasources:
        extra = f" ({', '.join(ds.changes)})" if ds.changes else ""
        click.echo(f"  datasource {ds.spec.name} [{ds.spec.uid}]: {ds.action}{extra}")
    for folder in plan.folders:
        click.echo(f"  folder     {folder.label} [{folder.uid}]: {'exists' if folder.exists else 'create'}")
    for step in plan.dashboards:
        reason = f" ({step.reason})" if step.reason and step.action != "create" else ""
        click.echo(f"  dashboard  {step.title} [{step.uid}] in {step.folder_label or '-'}: {step.action}{reason}")


def _print_report(report: PublishReport, plan: Plan) -> None:
    rows = [(i.kind, i.title, i.key, i.outcome, "" if i.version is None else str(i.version), i.detail)
            for i in report.items if not (i.kind == "datasource" and i.outcome == "unchanged" and not i.detail)]
    headers = ("kind", "name", "uid", "outcome", "version", "detail")
    widths = [max([len(headers[c])] + [len(r[c]) for r in rows]) for c in range(5)]
    click.echo("")
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  detail")
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[5])
    counts: dict[str, int] = {}
    for item in report.items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    click.echo("summary: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


@click.command()
@click.argument("names", nargs=-1)
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)), help="Publish only these backends (repeatable).")
@click.option("--folder", help="Target Grafana folder, e.g. Airflow or Airflow/Prod [env AIRFLOW_DASH_FOLDER].")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite dashboards edited in Grafana or not managed by airflow-dash.")
@click.option("--prune", is_flag=True, help="Delete managed dashboards in the target folders that no longer exist locally.")
@click.option("--concurrency", type=int, help="Parallel requests.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--datasources/--no-datasources", "publish_datasources", default=None,
              help="Push the datasources the dashboards use (from datasources_dir) first.")
@click.option("--datasources-only", is_flag=True, help="Push every datasource file; no dashboards.")
@click.option("--update-secrets", is_flag=True, help="Re-send datasource secrets even when already set.")
@click.option("--from-dir", type=click.Path(file_okay=False, exists=True),
              help="Publish already compiled dashboard JSON files instead of compiling.")
@click.option("--message", help="Version-history message.")
@click.option("--alerts/--no-alerts", "publish_alerts", default=True, show_default=True,
              help="Also publish the Grafana-managed alert rules of the InfluxDB backends (full publishes only).")
@click.option("--alerts-dir", type=click.Path(path_type=Path), default="alerts", show_default=True,
              help="Where your alert modules live (none if missing).")
@_grafana_options
def publish(names: tuple[str, ...], backends: tuple[str, ...], folder: str | None, dry_run: bool, force: bool,
            prune: bool, concurrency: int | None, output: str, publish_datasources: bool | None,
            datasources_only: bool, update_secrets: bool, from_dir: str | None, message: str | None,
            publish_alerts: bool, alerts_dir: Path, **connection: Any) -> None:
    """Publish datasources, folders, dashboards and alert rules to Grafana, safely.

    Plans first (reads only), refuses dashboards and alert rules edited in Grafana since the last publish
    unless --force, writes with the version it read, and reports exactly what was and was not published.
    Alert rules (backends without a rule engine of their own: Flux, InfluxQL) are published on full
    publishes (no NAMES, no --from-dir); contact points and notification policies are never touched.
    """
    from airflow_dash.grafana.datasources import load_datasources, plan_datasources, referenced_datasource_uids
    from airflow_dash.grafana.publish import PublishOptions, apply_plan, dry_run_report, plan_publish

    settings = _settings(folder=folder, concurrency=concurrency, publish_datasources=publish_datasources,
                         **connection)
    dashboards: list[DashboardLike]
    local: LocalInventory | None
    if datasources_only:
        dashboards, local = [], None
        specs = load_datasources(Path(settings.datasources_dir))
    else:
        dashboards, local = _dashboards(settings, names, backends, from_dir)
        specs = []
        if settings.publish_datasources:
            uids: set[str] = set()
            for dashboard in dashboards:
                uids |= referenced_datasource_uids(dashboard.model)
            if uids:
                specs = load_datasources(Path(settings.datasources_dir), uids=uids)
    options = PublishOptions(root_folder=settings.folder, prune=prune, force=force, dry_run=dry_run,
                             concurrency=settings.concurrency, message=message)
    with_alerts = publish_alerts and not (datasources_only or from_dir or names)
    rules, rule_uids = _alert_rules(settings, backends, alerts_dir) if with_alerts else ([], [])
    as_json = output == "json"
    with settings.client() as client:
        ds_plans = plan_datasources(client, specs, update_secrets=update_secrets)
        if datasources_only:
            from airflow_dash.grafana.publish import Plan

            plan = Plan(datasources=tuple(ds_plans), folders=(), dashboards=())
        else:
            plan = plan_publish(client, dashboards, root_folder=options.root_folder, datasources=ds_plans,
                                prune=prune, force=force, concurrency=options.concurrency, local=local)
        alert_plan: AlertRulePlan | None = None
        if with_alerts:
            from airflow_dash.grafana.alert_publish import plan_alert_rules

            alert_plan = plan_alert_rules(client, rules, root_folder=options.root_folder, prune=prune, force=force,
                                          org_id=settings.grafana_org_id or 1, local_uids=rule_uids)
        if not as_json:
            writes = plan.write_count + (alert_plan.write_count if alert_plan else 0)
            click.echo(f"Plan for {client.url}, {client.server.describe()} (folder {settings.folder}): "
                       f"{writes} write(s)")
            _print_plan(plan)
            for rule_step in alert_plan.steps if alert_plan else ():
                reason = f" ({rule_step.reason})" if rule_step.reason and rule_step.action != "create" else ""
                click.echo(f"  alert rule {rule_step.title} [{rule_step.uid}]: {rule_step.action}{reason}")
            for rule_step in alert_plan.blocked if alert_plan else ():
                click.echo(f"\nrefusing alert rule {rule_step.title} [{rule_step.uid}]: {rule_step.reason}")
            for step in plan.blocked:
                if step.prune:
                    click.echo(f"\nrefusing to delete {step.title} [{step.uid}]: {step.reason}; --force deletes it")
                    continue
                click.echo(f"\nrefusing {step.title} [{step.uid}]: {step.reason}. Differences live -> local:", err=False)
                click.echo(step.diff.rstrip("\n") or "(no content difference)", color=_is_tty())
        alerts_blocked = bool(alert_plan and alert_plan.blocked)
        if dry_run:
            report = dry_run_report(plan)
        elif plan.blocked:
            report = apply_plan(client, plan)  # records refusals; writes nothing
        elif alerts_blocked:  # a refused alert rule refuses the run: nothing is written
            report = _not_attempted(dry_run_report(plan))
        else:
            report = _apply_with_progress(client, plan, options, as_json)
        if alert_plan is not None:
            report = _with_alert_rules(client, report, alert_plan, dry_run, refused=bool(plan.blocked))
    if as_json:
        document: dict[str, Any] = {"plan": plan.to_dict(), "report": report.to_dict()}
        if alert_plan is not None:
            document["plan"]["alert_rules"] = [{"uid": s.uid, "title": s.title, "action": s.action,
                                                "reason": s.reason, "prune": s.prune} for s in alert_plan.steps]
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        _print_report(report, plan)
    if alert_plan is not None and alerts_blocked and not dry_run:
        raise OperationError(f"publish refused: {len(alert_plan.blocked)} alert rule(s) changed in Grafana or not "
                             "managed by airflow-dash (see above); nothing was written; --force overwrites them")
    if plan.blocked and not dry_run:
        deletes = sum(s.prune for s in plan.blocked)
        hint = ("--force overwrites them" if not deletes else "--force deletes them" if deletes == len(plan.blocked)
                else "--force overwrites or deletes them")
        raise OperationError(f"publish refused: {len(plan.blocked)} dashboard(s) changed in Grafana or not managed "
                             f"by airflow-dash (see above); nothing was written; {hint}")
    if not report.ok:
        published = [i.key for i in report.items if i.outcome in ("created", "updated", "deleted")]
        missing = [i.key for i in report.items if not i.ok]
        uncertain = [i.key for i in report.items if i.outcome == "uncertain"]
        summary = (f"{len(missing)} item(s) not published ({', '.join(missing[:10])}"
                   f"{', ...' if len(missing) > 10 else ''}); {len(published)} written"
                   + (f"; {len(uncertain)} uncertain (re-run publish to settle them)" if uncertain else ""))
        if report.interrupted:
            raise Interrupted(f"publish interrupted: {summary}")
        if report.credentials_rejected:
            raise UserError(f"publish stopped, Grafana rejected the credentials: {summary}")
        raise OperationError(f"publish incomplete: {summary}")
    if report.interrupted:
        raise Interrupted("publish interrupted after every write had finished")


def _alert_rules(settings: Settings, backends: tuple[str, ...], alerts_dir: Path) -> tuple[list[GrafanaRule], list[str]]:
    """The Grafana-managed rules to publish (validated offline), and every rule uid defined locally on any
    backend (what prune must never delete)."""
    from airflow_dash.alert_rules.grafana import rule_uid
    from airflow_dash.build import compile_alert_rules, validate_alerts_or_fail
    from airflow_dash.discovery import alerts_for

    chosen = settings.chosen_backends(backends)
    compiled = compile_alert_rules(chosen, settings.dashboard_source(), alerts_dir, settings.datasource_uids(chosen))
    validate_alerts_or_fail(compiled)
    rules = [rule for name in chosen if name in compiled.grafana for rule in compiled.grafana[name].rules]
    everywhere = [b for b in BACKENDS.values() if not b.has_rule_engine]
    local = [rule_uid(a, b) for a in alerts_for(settings.dashboard_source(), alerts_dir) for b in everywhere]
    return rules, local


def _not_attempted(report: PublishReport) -> PublishReport:
    from dataclasses import replace

    items = tuple(replace(i, outcome="not attempted", detail="publish refused: nothing was written")
                  if i.outcome.startswith("would ") else i for i in report.items)
    return replace(report, items=items, dry_run=False)


def _with_alert_rules(client: GrafanaClient, report: PublishReport, alert_plan: AlertRulePlan, dry_run: bool,
                      refused: bool) -> PublishReport:
    """The dashboards' report plus one item per alert rule (one table for everything)."""
    from dataclasses import replace

    from airflow_dash.grafana.alert_publish import apply_alert_rules, dry_run_items

    if dry_run:
        items = dry_run_items(alert_plan)
    elif refused or alert_plan.blocked:
        items = apply_alert_rules(client, alert_plan) if alert_plan.blocked else [
            replace(i, outcome="not attempted" if i.outcome.startswith("would ") else i.outcome,
                    detail="publish refused: nothing was written" if i.outcome.startswith("would ") else i.detail)
            for i in dry_run_items(alert_plan)]
    elif report.interrupted or report.credentials_rejected:
        items = [replace(i, outcome="not attempted", detail="publish stopped before the alert rules")
                 if i.outcome.startswith("would ") else i for i in dry_run_items(alert_plan)]
    else:
        items = apply_alert_rules(client, alert_plan)
    return replace(report, items=report.items + tuple(items))


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """An Event set by the first Ctrl-C (SIGINT) instead of KeyboardInterrupt, so a run can stop issuing
    writes, let those in flight finish and report. A second Ctrl-C raises KeyboardInterrupt as usual."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        cancel.set()
        try:
            sys.stderr.write("\ninterrupted: no new writes; waiting for the ones in flight, then the report "
                             "(Ctrl-C again to quit without the report, once the writes in flight end)\n")
            sys.stderr.flush()
        except (OSError, ValueError, RuntimeError):  # a signal during another write to stderr
            pass

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _apply_with_progress(client: GrafanaClient, plan: Plan, options: PublishOptions, as_json: bool) -> PublishReport:
    from airflow_dash.grafana.publish import apply_plan

    total = len(plan.datasources) + len(plan.folders) + len(plan.dashboards)
    with _stop_on_interrupt() as cancel:
        if _is_tty() and not as_json and total:
            with click.progressbar(length=total, label="Publishing", file=sys.stderr) as bar:
                return apply_plan(client, plan, concurrency=options.concurrency, message=options.message,
                                  on_result=lambda item: bar.update(1), cancel=cancel)

        def line(item: ItemResult) -> None:
            if not as_json and item.outcome not in ("unchanged", "not attempted"):
                click.echo(f"{_SYMBOL.get(item.outcome, ' ')} {item.kind} {item.title} [{item.key}]: {item.outcome}"
                           + (f" ({item.detail})" if item.detail else ""), err=True)

        return apply_plan(client, plan, concurrency=options.concurrency, message=options.message, on_result=line,
                          cancel=cancel)


# -- diff ---------------------------------------------------------------------------------------------------

@click.command()
@click.argument("names", nargs=-1)
@click.option("--against", default="live", show_default=True, help="'live' (Grafana) or a git revision.")
@click.option("--backend", "backends", multiple=True, type=click.Choice(sorted(BACKENDS)), help="Only these backends (repeatable).")
@click.option("--folder", help="Target Grafana folder (for --against live).")
@click.option("--output", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--from-dir", type=click.Path(file_okay=False, exists=True),
              help="Compare already compiled dashboard JSON files instead of compiling (--against live only).")
@_grafana_options
def diff(names: tuple[str, ...], against: str, backends: tuple[str, ...], folder: str | None, output: str,
         from_dir: str | None, **connection: Any) -> None:
    """Show what differs between the compiled dashboards and Grafana or a git revision (exit 1 if anything)."""
    from airflow_dash.grafana.diff import (
        diff_against_live, diff_against_revision, render_json, render_markdown, render_text,
    )

    settings = _settings(folder=folder, **connection)
    if from_dir and against != "live":
        raise UserError("--from-dir works with --against live only")
    dashboards, local = _dashboards(settings, names, backends, from_dir)
    if against == "live":
        try:
            with settings.client() as client:
                diffs = diff_against_live(client, dashboards, settings.folder, settings.concurrency,
                                          defined_locally=local.uids)
        except OperationError as exc:  # exit 1 means "different" here (diff(1)): trouble is 2, as there
            raise DiffTrouble(str(exc)) from exc
        heading = f"Dashboard changes against Grafana {client.url}"
    else:
        chosen = settings.chosen_backends(backends)
        diffs = diff_against_revision(against, dashboards, repo_root=Path(settings.project_root),
                                      dashboards_dir=Path(settings.dashboards_dir), backends=chosen,
                                      names=names or None, bundled=settings.bundled,
                                      **settings.compile_options(chosen))
        heading = f"Dashboard changes since {against}"
    if output == "json":
        click.echo(render_json(diffs), nl=False)
    elif output == "markdown":
        click.echo(render_markdown(diffs, heading), nl=False)
    else:
        text = render_text(diffs, color=_is_tty())
        click.echo(text or f"No differences ({len(diffs)} dashboards).\n", nl=False, color=_is_tty())
    if any(d.status != "equal" for d in diffs):
        raise SystemExit(1)  # not an error: "different", like diff(1)


# -- pull ---------------------------------------------------------------------------------------------------

@click.command()
@click.argument("uids", nargs=-1)
@click.option("--folder", "folder_name", help="Export every dashboard in this folder (title, path or uid).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Directory for <uid>.json files.")
@_grafana_options
def pull(uids: tuple[str, ...], folder_name: str | None, out_dir: str | None, **connection: Any) -> None:
    """Export live dashboards as formatted JSON (sorted keys, 2-space indent), without id and version.

    With --out, files are written only inside DIR, as <uid>.json: a uid that is not a plain file name (../x,
    /abs, NUL, empty, over 200 characters), typed or listed by the server, refuses the whole pull (exit 2)
    before anything is written.
    """
    from airflow_dash.grafana.pull import pull_dashboards

    if not uids and not folder_name:
        raise UserError("pull needs dashboard UIDs or --folder NAME")
    if len(uids) + (1 if folder_name else 0) > 1 and not out_dir:
        raise UserError("pulling more than one dashboard needs --out DIR")
    settings = _settings(**connection)
    with settings.client() as client:
        exported = pull_dashboards(client, uids=uids, folder=folder_name, out_dir=Path(out_dir) if out_dir else None)
    if out_dir:
        for item in exported:
            click.echo(f"wrote {item.path}")
    else:
        for item in exported:
            click.echo(item.text, nl=False)


# -- config -------------------------------------------------------------------------------------------------

@click.command()
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config(output: str) -> None:
    """Show the settings every command uses, where each comes from, and what they select (secrets masked)."""
    from airflow_dash.settings import effective_settings, load_settings
    from airflow_dash.validate.flux import find_node_modules, use_node_modules

    values = effective_settings()
    settings = load_settings()
    use_node_modules(settings.node_modules)
    source = settings.dashboard_source()
    dashboards = {key: str(path) for key, (_, path) in source.load_with_paths().items()}
    checker = find_node_modules()
    derived = {
        "dashboards": ", ".join(dashboards) or "(none)",
        "dashboards_from": f"bundled ({_bundled_choice(source.bundled)}) + {source.directory or '(no dashboards directory)'}",
        "flux_checker": str(checker) if checker else "not installed (airflow-dash setup-flux-checker)",
    }
    if output == "json":
        document = {name: {"value": s.shown_value, "source": s.source} for name, s in values.items()}
        document["selected"] = {"dashboards": dashboards, "dashboards_from": derived["dashboards_from"],
                                "flux_checker": str(checker) if checker else None}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    width = max(len(name) for name in [*values, *derived])
    for name, setting in values.items():
        click.echo(f"{name.ljust(width)}  {setting.display}  ({setting.source})")
    click.echo("")
    for name, text in derived.items():
        click.echo(f"{name.ljust(width)}  {text}")


def _bundled_choice(bundled: bool | tuple[str, ...]) -> str:
    return "all" if bundled is True else "none" if bundled is False else ",".join(bundled) or "none"
