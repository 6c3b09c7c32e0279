"""The `build` pipeline as a library: load → compile → validate every query → write atomically.

Nothing is written unless every dashboard compiled and every query passed its checker, so a failed build
never leaves a half-written output directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from airflow_dash.discovery import DashboardSource, SourceLike, as_source
from airflow_dash.errors import UserError, writing
from airflow_dash.gc_pause import cyclic_gc_paused

# Imported where they are used: an unchanged re-build (see airflow_dash.build_cache) needs none of them.
if TYPE_CHECKING:
    from airflow_dash import build_cache
    from airflow_dash.alert_rules import CompiledAlerts
    from airflow_dash.compile import CompiledDashboard, CompiledQuery
    from airflow_dash.dashboard import Dashboard
    from airflow_dash.validate import QueryChecks

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
    checks: QueryChecks | None = None,
) -> list[CompiledDashboard]:
    """Compile the named dashboards (default all) for the given backends (default all).
    `dashboards_dir` is a directory, or a DashboardSource (bundled dashboards plus a directory); `loaded`: its
    dashboards when the caller has already loaded them. With `checks`, each backend's queries are added to it
    as soon as that backend is compiled, the backends whose checker streams (runs beside us) first."""
    from airflow_dash.backends import BACKENDS, get_backend
    from airflow_dash.compile import compile_all
    from airflow_dash.discovery import select_dashboards

    for backend in backends or ():
        get_backend(backend)
    dashboards = list(loaded) if loaded is not None else as_source(dashboards_dir).load()
    selected = select_dashboards(dashboards, list(names or ()))
    wanted = {d.key for d in selected}
    requested = list(backends or BACKENDS)
    by_backend: dict[str, list[CompiledDashboard]] = {}
    if checks is not None:
        from airflow_dash.validate import STREAMING

        order = sorted(requested, key=lambda name: BACKENDS[name].language not in STREAMING)
    else:
        order = requested
    for backend in order:
        try:
            # Links may point at any dashboard in the directory, so compile uids for all of them.
            compiled = compile_all(dashboards, [backend], datasource_uids, datasource_regexes)
        except ValueError as exc:
            raise UserError(f"dashboard definition error: {exc}") from exc
        by_backend[backend] = [c for c in compiled if c.name in wanted]
        if checks is not None:
            for language, texts in _dashboard_texts(by_backend[backend]).items():
                checks.add(language, texts)
    return [c for backend in requested for c in by_backend[backend]]


def local_definitions(dashboards: Sequence[Dashboard]) -> list[tuple[str, str | None]]:
    """(uid, folder) of every dashboard these definitions produce on every backend, selected or not: what
    exists locally, for `publish --prune` and `diff` to know what must never be called deleted."""
    from airflow_dash.backends import BACKENDS
    from airflow_dash.compile import dashboard_uid

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


def query_checks(cache: bool = True) -> QueryChecks:
    """A QueryChecks for a build: with `cache`, over the per-user check cache."""
    from airflow_dash.validate import QueryChecks

    if not cache:
        return QueryChecks()
    from airflow_dash.validate.cache import CheckCache

    return QueryChecks(CheckCache())


def _check_texts(texts_by_language: Mapping[str, Sequence[str]], cache: bool,
                 checks: QueryChecks | None = None) -> dict[str, Any]:
    return (checks or query_checks(cache)).results(texts_by_language)


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


def validate_or_fail(compiled: Sequence[CompiledDashboard], cache: bool = True, alerts: CompiledAlerts | None = None,
                     checks: QueryChecks | None = None) -> None:
    """Every dashboard query (and every rule query of `alerts`) checked in one pass: one node process at most.
    `checks`: the QueryChecks the queries were added to while compiling (see compile_dashboards)."""
    texts = _dashboard_texts(compiled)
    for language, _, text in alerts.queries() if alerts is not None else ():
        texts[language].append(text)
    results = _check_texts(texts, cache, checks)
    problems = _dashboard_problems(compiled, results)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"invalid query: {problems[0].describe()}{more}")
    if alerts is not None:
        _raise_alert_problems(alerts, results)


def write_dashboards(compiled: Sequence[CompiledDashboard], out: Path | str, replace_all: bool) -> list[Path]:
    """Write `OUT/<backend>/<uid>.json`. With `replace_all`, stale files of removed dashboards go too: JSON
    files an airflow-dash build wrote (tagged managed-by:airflow-dash), never anything else.

    Files are written to a temporary directory first and moved into place only when all are written; an
    output directory that cannot be written is a UserError.
    """
    out = Path(out)
    with writing("dashboards", out):
        return _write_dashboards(compiled, out, replace_all)


def _write_dashboards(compiled: Sequence[CompiledDashboard], out: Path, replace_all: bool) -> list[Path]:
    """A file that already holds exactly its dashboard's JSON is left alone (its mtime too, for make and
    rsync); with `replace_all`, the other dashboard files our builds wrote go, and every other file stays
    (the output directory may be shared with other tools' files)."""
    for backend in sorted({dashboard.backend for dashboard in compiled}):
        _refuse_non_directory(out / backend)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    names: dict[str, set[str]] = defaultdict(set)  # backend -> file names of this build
    try:
        for dashboard in compiled:
            name = f"{dashboard.uid}.json"
            names[dashboard.backend].add(name)
            text = dashboard.to_json()
            if _holds(out / dashboard.backend / name, text):
                continue
            target = staging / dashboard.backend / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for backend in sorted(names):
            final = out / backend
            if replace_all and final.is_dir():
                for stale in [p for p in final.iterdir() if p.name not in names[backend] and _built_dashboard(p)]:
                    stale.unlink()
            final.mkdir(exist_ok=True)
            if (staging / backend).is_dir():
                for file in sorted((staging / backend).iterdir()):
                    os.replace(file, final / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / backend / name for backend in sorted(names) for name in sorted(names[backend])]


def _refuse_non_directory(path: Path) -> None:
    """Where a build puts files: a file of someone else's in its place is refused, never deleted."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is not a directory: move it away, or build to another --out")


def _built_dashboard(path: Path) -> bool:
    """Whether `path` is a dashboard file an airflow-dash build wrote: a regular .json file of a dashboard
    tagged managed-by:airflow-dash (what publish's prune keys on too)."""
    from airflow_dash.compile import MANAGED_TAG

    if path.suffix != ".json" or path.is_symlink() or not path.is_file():
        return False
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    tags = model.get("tags") if isinstance(model, dict) else None
    return isinstance(tags, list) and MANAGED_TAG in tags


def _holds(path: Path, text: str) -> bool:
    """Whether `path` is a regular file holding `text`, as written (sizes compared first)."""
    data = text.encode("utf-8")
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


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
    from airflow_dash.alert_rules import CompiledAlerts, compile_alerts
    from airflow_dash.backends import BACKENDS, get_backend
    from airflow_dash.compile import compile_all
    from airflow_dash.discovery import alerts_for

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
    """Write the compiled rule files to `OUT/alerts/<backend>/` (all written aside first, then moved in), and
    remove rule files of earlier builds that this one no longer makes; every other file there stays."""
    from airflow_dash.alert_rules import rule_file_names

    target = Path(out) / ALERTS_OUT
    files = alerts.files()  # renders every rule file as YAML: once, it is most of an unchanged re-build
    ours = rule_file_names()
    stale = [path for path in (target.glob("*/*") if target.is_dir() else ())
             if path.name in ours and path.relative_to(target).as_posix() not in files
             and path.is_file() and not path.is_symlink()]
    changed = {relative: text for relative, text in files.items() if not _holds(target / relative, text)}
    if changed or stale:
        with writing("alert rules", target):
            _move_in(target, changed)
            for path in stale:
                path.unlink()
    return [target / relative for relative in files]


def _move_in(target: Path, files: Mapping[str, str]) -> None:
    """Write `files` (relative path -> text) under `target`: all to a staging directory first, so a failure
    leaves `target` as it was, then each moved into place."""
    if not files:
        return
    target.mkdir(parents=True, exist_ok=True)
    for relative in files:
        _refuse_non_directory((target / relative).parent)
    staging = Path(tempfile.mkdtemp(prefix=".alerts-", dir=target))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target / relative)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class BuildResult:
    dashboards: list[Path]
    alerts: list[Path]
    up_to_date: bool = False  # an unchanged re-build: the recorded output was still in place, nothing written


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
    """Dashboards, and (for a full build, no NAMES) the alert rules; everything checked before any write.

    With `cache`, query check results of earlier builds are reused (airflow_dash.validate.cache), and a re-build
    of the same request over unchanged files, whose output is still in place, writes and checks nothing
    (airflow_dash.build_cache). The cyclic garbage collector is paused meanwhile (airflow_dash.gc_pause)."""
    with cyclic_gc_paused():
        return _build_all(names, backends, out, dashboards_dir, validate, alerts_dir, datasource_uids,
                          datasource_regexes, cache)


def _build_all(names: Sequence[str] | None, backends: Sequence[str] | None, out: Path | str,
               dashboards_dir: SourceLike, validate: bool, alerts_dir: Path | str | None,
               datasource_uids: Mapping[str, str] | None, datasource_regexes: Mapping[str, str] | None,
               cache: bool) -> BuildResult:
    from airflow_dash import build_cache

    recorder = None
    if cache:
        request = _build_request(names, backends, out, dashboards_dir, alerts_dir, datasource_uids, datasource_regexes)
        hit = build_cache.lookup(request, validate)
        if hit is not None:
            return BuildResult([Path(out) / p for p in hit.dashboards], [Path(out) / p for p in hit.alerts],
                               up_to_date=True)
        source = as_source(dashboards_dir)
        recorder = build_cache.BuildRecorder(request, [d for d in (request["dashboards_dir"], request["alerts_dir"]) if d]
                                             + _bundled_dirs(source))
    with contextlib.ExitStack() as stack:
        if validate and "flux" in (backends or ("flux",)):
            from airflow_dash.validate.flux import discard_early_checker, start_checker_early

            start_checker_early()  # node loads flux-lsp while we compile; ended below if every result was cached
            stack.callback(discard_early_checker)
        return _build(names, backends, out, dashboards_dir, validate, alerts_dir, datasource_uids,
                      datasource_regexes, cache, recorder)


def _build(names: Sequence[str] | None, backends: Sequence[str] | None, out: Path | str, dashboards_dir: SourceLike,
           validate: bool, alerts_dir: Path | str | None, datasource_uids: Mapping[str, str] | None,
           datasource_regexes: Mapping[str, str] | None, cache: bool,
           recorder: build_cache.BuildRecorder | None) -> BuildResult:
    from airflow_dash.alert_rules import CompiledAlerts

    checks = query_checks(cache) if validate else None  # fed while compiling: node checks Flux meanwhile
    try:
        compiled = compile_dashboards(names, backends, dashboards_dir, datasource_uids, datasource_regexes,
                                      checks=checks)
        alerts = CompiledAlerts(None, {}) if names else compile_alert_rules(
            backends, dashboards_dir, alerts_dir, datasource_uids, compiled=compiled)
    except BaseException:
        if checks is not None:
            checks.close(abort=True)  # a definition error or an interrupt: node's answers are not needed
        raise
    if validate:
        validate_or_fail(compiled, cache, alerts, checks)
    written = write_dashboards(compiled, out, replace_all=not names)
    alert_files = write_alerts(alerts, out) if not names else []
    if recorder is not None:
        languages = {q.language for d in compiled for q in d.queries} | {language for language, _, _ in alerts.queries()}
        owned = ([] if names else sorted({d.backend for d in compiled})) + ([] if names else [ALERTS_OUT])
        recorder.record(validated_languages=languages if validate else None, dashboards=written, alerts=alert_files,
                        owned_dirs=owned)
    return BuildResult(written, alert_files)


def _build_request(names: Sequence[str] | None, backends: Sequence[str] | None, out: Path | str,
                   dashboards_dir: SourceLike, alerts_dir: Path | str | None, datasource_uids: Mapping[str, str] | None,
                   datasource_regexes: Mapping[str, str] | None) -> dict[str, Any]:
    from airflow_dash.build_cache import build_request

    source = as_source(dashboards_dir)
    return build_request(names=list(names or ()), backends=list(backends or ()), out=out,
                         dashboards_dir=source.directory, bundled=source.bundled, alerts_dir=alerts_dir,
                         datasource_uids=dict(datasource_uids or {}), datasource_regexes=dict(datasource_regexes or {}))


def _bundled_dirs(source: DashboardSource) -> list[str]:
    """The bundled dashboards' and alerts' directories, when `source` includes bundled dashboards."""
    if source.bundled is False:
        return []
    from airflow_dash.discovery import bundled_alerts_directory, bundled_directory

    try:
        found = [bundled_directory(), bundled_alerts_directory()]
    except UserError:
        return []
    return [str(d) for d in found if d is not None]


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


@dataclass(frozen=True, eq=False)
class DeferredDashboard:
    """A dashboard for one backend, compiled each time its `model` is asked for and not kept: what publish
    needs to stream thousands of dashboards in flat memory (it asks once per dashboard). uid, title and folder
    are known without compiling. A definition error surfaces when the model is first asked for."""

    definition: Dashboard
    backend: str
    uids: dict[str, str]  # shared by every dashboard of the backend, never copied (compile_all's rule)
    linked: Mapping[str, Dashboard]
    datasource_uid: str | None = None
    datasource_regex: str | None = None

    @property
    def uid(self) -> str:
        return self.uids[self.definition.key]

    @property
    def title(self) -> str:
        from airflow_dash.backends import get_backend
        from airflow_dash.compile import dashboard_title

        return dashboard_title(self.definition, get_backend(self.backend))

    @property
    def folder(self) -> str | None:
        return self.definition.folder

    @property
    def model(self) -> dict[str, Any]:
        from airflow_dash import compile as compiling
        from airflow_dash.backends import get_backend

        try:
            return compiling.compile_dashboard(self.definition, get_backend(self.backend), self.uids,
                                     self.datasource_uid, self.datasource_regex, self.linked).model
        except ValueError as exc:
            raise UserError(f"dashboard definition error: {exc}") from exc


def deferred_dashboards(dashboards: Sequence[Dashboard], backends: Sequence[str] | None = None,
                        datasource_uids: Mapping[str, str] | None = None,
                        datasource_regexes: Mapping[str, str] | None = None) -> list[DeferredDashboard]:
    """`compile_all`'s dashboards, in its order, compiled on demand (see `DeferredDashboard`)."""
    from airflow_dash.backends import BACKENDS, get_backend
    from airflow_dash.compile import dashboard_uid

    linked = {d.key: d for d in dashboards}
    result = []
    for name in backends or list(BACKENDS):
        backend = get_backend(name)
        uids = {d.key: dashboard_uid(d.key, backend) for d in dashboards}
        result += [DeferredDashboard(d, backend.name, uids, linked, (datasource_uids or {}).get(backend.name),
                                     (datasource_regexes or {}).get(backend.name)) for d in dashboards]
    return result
