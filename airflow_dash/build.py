"""The `build` pipeline as a library: load → compile → validate every query → write atomically.

Nothing is written unless every dashboard compiled and every query passed its checker, so a failed build
never leaves a half-written output directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from airflow_dash.alert_rules import CompiledAlerts, compile_alerts
from airflow_dash.backends import BACKENDS, get_backend
from airflow_dash.compile import CompiledDashboard, CompiledQuery, compile_all, dashboard_uid
from airflow_dash.dashboard import Dashboard
from airflow_dash.discovery import SourceLike, alerts_for, as_source, select_dashboards
from airflow_dash.errors import UserError, writing

ALERTS_OUT = "alerts"  # OUT/alerts/<backend>/...: YAML only, so `publish --from-dir OUT` never takes it for a dashboard


@dataclass(frozen=True)
class InvalidQuery:
    query: CompiledQuery
    message: str

    def describe(self) -> str:
        q = self.query
        return f"{q.dashboard} [{q.backend}] panel '{q.panel}' query {q.ref_id}: {self.message}"


def compile_dashboards(
    names: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    dashboards_dir: SourceLike = "dashboards",
    datasource_uids: Mapping[str, str] | None = None,
    datasource_regexes: Mapping[str, str] | None = None,
    loaded: Sequence[Dashboard] | None = None,
) -> list[CompiledDashboard]:
    """Compile the named dashboards (default all) for the given backends (default all).
    `dashboards_dir` is a directory, or a DashboardSource (bundled dashboards plus a directory); `loaded`: its
    dashboards when the caller has already loaded them."""
    for backend in backends or ():
        get_backend(backend)
    dashboards = list(loaded) if loaded is not None else as_source(dashboards_dir).load()
    selected = select_dashboards(dashboards, list(names or ()))
    try:
        # Links may point at any dashboard in the directory, so compile uids for all of them.
        compiled = compile_all(dashboards, list(backends or BACKENDS), datasource_uids, datasource_regexes)
    except ValueError as exc:
        raise UserError(f"dashboard definition error: {exc}") from exc
    wanted = {d.key for d in selected}
    return [c for c in compiled if c.name in wanted]


def local_definitions(dashboards: Sequence[Dashboard]) -> list[tuple[str, str | None]]:
    """(uid, folder) of every dashboard these definitions produce on every backend, selected or not: what
    exists locally, for `publish --prune` and `diff` to know what must never be called deleted."""
    return [(dashboard_uid(d.key, backend), d.folder) for d in dashboards for backend in BACKENDS.values()]


def find_invalid_queries(compiled: Sequence[CompiledDashboard], cache: bool = True) -> list[InvalidQuery]:
    """Check every query, each distinct text once, the Flux ones in one node process. With `cache`,
    results of earlier builds (same checker, same text) are reused: see airflow_dash.validate.cache."""
    return _dashboard_problems(compiled, _check_texts(_dashboard_texts(compiled), cache))


def _dashboard_texts(compiled: Sequence[CompiledDashboard]) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = defaultdict(list)
    for dashboard in compiled:
        for query in dashboard.queries:
            by_language[query.language].append(query.text)
    return by_language


def _check_texts(texts_by_language: Mapping[str, Sequence[str]], cache: bool) -> dict[str, Any]:
    from airflow_dash.validate import check_all

    check_cache = None
    if cache:
        from airflow_dash.validate.cache import CheckCache

        check_cache = CheckCache()
    return check_all(texts_by_language, check_cache)


def _dashboard_problems(compiled: Sequence[CompiledDashboard], results: Mapping[str, Any]) -> list[InvalidQuery]:
    by_language: dict[str, list[CompiledQuery]] = defaultdict(list)
    for dashboard in compiled:
        for query in dashboard.queries:
            by_language[query.language].append(query)
    problems: list[InvalidQuery] = []
    for language, queries in sorted(by_language.items()):
        for query in queries:
            problems.extend(InvalidQuery(query, p.message) for p in results[language][query.text])
    return problems


def validate_or_fail(compiled: Sequence[CompiledDashboard], cache: bool = True, alerts: CompiledAlerts | None = None) -> None:
    """Every dashboard query (and every rule query of `alerts`) checked in one pass: one node process at most."""
    texts = _dashboard_texts(compiled)
    for language, _, text in alerts.queries() if alerts is not None else ():
        texts[language].append(text)
    results = _check_texts(texts, cache)
    problems = _dashboard_problems(compiled, results)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"invalid query: {problems[0].describe()}{more}")
    if alerts is not None:
        _raise_alert_problems(alerts, results)


def write_dashboards(compiled: Sequence[CompiledDashboard], out: Path | str, replace_all: bool) -> list[Path]:
    """Write `OUT/<backend>/<uid>.json`. With `replace_all`, stale files of removed dashboards go too.

    Files are written to a temporary directory first and moved into place only when all are written; an
    output directory that cannot be written is a UserError.
    """
    out = Path(out)
    with writing("dashboards", out):
        return _write_dashboards(compiled, out, replace_all)


def _write_dashboards(compiled: Sequence[CompiledDashboard], out: Path, replace_all: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    written = []
    try:
        for dashboard in compiled:
            target = staging / dashboard.backend / f"{dashboard.uid}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dashboard.to_json(), encoding="utf-8")
        for backend_dir in sorted(p for p in staging.iterdir() if p.is_dir()):
            final = out / backend_dir.name
            if replace_all and final.exists():
                shutil.rmtree(final)
            final.mkdir(exist_ok=True)
            for file in sorted(backend_dir.iterdir()):
                os.replace(file, final / file.name)
                written.append(final / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def compile_alert_rules(
    backends: Sequence[str] | None = None,
    dashboards_dir: SourceLike = "dashboards",
    alerts_dir: Path | str | None = "alerts",
    datasource_uids: Mapping[str, str] | None = None,
    compiled: Sequence[CompiledDashboard] | None = None,
) -> CompiledAlerts:
    """The alert rules for the given backends (default all), linked to their panels: the bundled alerts of the
    bundled dashboards in `dashboards_dir` (a DashboardSource) and those of `alerts_dir` (none if missing).
    `compiled`: every dashboard of the source already compiled for these backends (saves a compile)."""
    chosen = list(backends or BACKENDS)
    for backend in chosen:
        get_backend(backend)
    source = as_source(dashboards_dir)
    alerts = alerts_for(source, alerts_dir)
    if not alerts:
        return CompiledAlerts(None, {})
    try:
        if compiled is None:
            compiled = compile_all(source.load(), chosen, datasource_uids)
        return compile_alerts(alerts, compiled, chosen, dict(datasource_uids or {}))
    except ValueError as exc:
        raise UserError(f"alert definition error: {exc}") from exc


def validate_alerts_or_fail(alerts: CompiledAlerts, cache: bool = True) -> None:
    """Every rule query through the same offline checkers as the panels' (nothing written if one fails)."""
    texts: dict[str, list[str]] = defaultdict(list)
    for language, _, text in alerts.queries():
        texts[language].append(text)
    _raise_alert_problems(alerts, _check_texts(texts, cache))


def _raise_alert_problems(alerts: CompiledAlerts, results: Mapping[str, Any]) -> None:
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for language, alert, text in alerts.queries():
        by_language[language].append((alert, text))
    for language, items in sorted(by_language.items()):
        for alert, text in items:
            if results[language][text]:
                raise UserError(f"invalid query: alert {alert} [{language}]: {results[language][text][0].message}")


def write_alerts(alerts: CompiledAlerts, out: Path | str) -> list[Path]:
    """Replace `OUT/alerts/` with the compiled rule files (written aside first, swapped in at the end)."""
    target = Path(out) / ALERTS_OUT
    files = alerts.files()  # renders every rule file as YAML: once, it is most of an unchanged re-build
    if not files and not target.exists():
        return []
    with writing("alert rules", target):
        return _swap_in(target, files)


def _swap_in(target: Path, files: Mapping[str, str]) -> list[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".alerts-", dir=target.parent))
    old = target.parent / (staging.name + ".old")
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return [target / relative for relative in files]


@dataclass(frozen=True)
class BuildResult:
    dashboards: list[Path]
    alerts: list[Path]


def build_all(
    names: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    out: Path | str = "build",
    dashboards_dir: SourceLike = "dashboards",
    validate: bool = True,
    alerts_dir: Path | str | None = "alerts",
    datasource_uids: Mapping[str, str] | None = None,
    datasource_regexes: Mapping[str, str] | None = None,
    cache: bool = True,
) -> BuildResult:
    """Dashboards, and (for a full build, no NAMES) the alert rules; everything checked before any write."""
    compiled = compile_dashboards(names, backends, dashboards_dir, datasource_uids, datasource_regexes)
    alerts = CompiledAlerts(None, {}) if names else compile_alert_rules(
        backends, dashboards_dir, alerts_dir, datasource_uids, compiled=compiled)
    if validate:
        validate_or_fail(compiled, cache, alerts)
    written = write_dashboards(compiled, out, replace_all=not names)
    alert_files = write_alerts(alerts, out) if not names else []
    return BuildResult(written, alert_files)


def build(
    names: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    out: Path | str = "build",
    dashboards_dir: SourceLike = "dashboards",
    validate: bool = True,
    datasource_uids: Mapping[str, str] | None = None,
    datasource_regexes: Mapping[str, str] | None = None,
    cache: bool = True,
) -> list[Path]:
    compiled = compile_dashboards(names, backends, dashboards_dir, datasource_uids, datasource_regexes)
    if validate:
        validate_or_fail(compiled, cache)
    return write_dashboards(compiled, out, replace_all=not names)
