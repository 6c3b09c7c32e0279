"""Flux checking: one Node process running flux-lsp (wasm) over a whole batch of queries.

Grafana's `v` record is predeclared in a second file of each query's package (see flux_check.mjs),
and Grafana variables are substituted first: inside a string or /regex/ by a plain word, elsewhere
by a duration (interval macros), a number (epoch/span macros) or a string literal (user variables).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_dash.errors import OperationError, writing
from airflow_dash.validate.grafana_vars import (
    Substitution,
    VariableRef,
    span_containing,
    string_and_regex_spans,
    substitute,
)
from airflow_dash.validate.problems import CheckerUnavailable, QueryProblem

LANGUAGE = "flux"
NODE_MODULES_ENV = "AIRFLOW_DASH_NODE_MODULES"
FLUX_LSP_NAME = "@influxdata/flux-lsp-browser"
FLUX_LSP_VERSION = "0.8.40"  # the checker's pin; package.json (for the checkout's `npm install`) says the same
FLUX_LSP_PACKAGE = Path("@influxdata") / "flux-lsp-browser"
CHECKER_SCRIPT = Path(__file__).with_name("flux_check.mjs")
INSTALL_HINT = (f"run `airflow-dash setup-flux-checker` once (needs Node.js >= 18 and npm), or point the "
                f"node_modules setting ({NODE_MODULES_ENV}) at a node_modules holding {FLUX_LSP_NAME}, "
                "or leave flux out (--backend, or the backends setting)")
TIMEOUT_SECONDS = 300
# What Grafana provides at run time; values only need the right types.
GRAFANA_PRELUDE = (
    "v = {timeRangeStart: 2024-01-01T00:00:00Z, timeRangeStop: 2024-01-01T01:00:00Z, "
    'windowPeriod: 1m, defaultBucket: "telegraf", organization: "org"}\n'
)
# Tokens after which a `/` starts a regex literal rather than a division.
_REGEX_AFTER = ("=~", "!~", "(", ",", ":", "=", "[", "{", "and", "or", "not", "return")


@dataclass
class _LaunchCounter:
    """How many node processes this module started: lets tests prove batching without timing."""

    count: int = 0
    lock: threading.Lock = threading.Lock()

    def increment(self) -> None:
        with self.lock:
            self.count += 1


NODE_LAUNCHES = _LaunchCounter()


def node_launch_count() -> int:
    """Number of node processes started by check_flux so far in this interpreter."""
    return NODE_LAUNCHES.count


def _has_flux_lsp(node_modules: Path) -> bool:
    return (node_modules / FLUX_LSP_PACKAGE / "flux-lsp-browser_bg.wasm").is_file()


_configured: list[Path] = []  # set by use_node_modules (the node_modules setting)


def use_node_modules(path: str | Path | None) -> None:
    """Make `path` the only place the checker is looked for (None: back to the default search)."""
    _configured[:] = [Path(path)] if path else []


def user_cache_dir() -> Path:
    """Where `airflow-dash setup-flux-checker` installs the checker: a per-user cache, outside any project."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airflow-dash" / f"flux-checker-{FLUX_LSP_VERSION}"


def _explicit() -> Path | None:
    if _configured:
        return _configured[0]
    return Path(os.environ[NODE_MODULES_ENV]) if os.environ.get(NODE_MODULES_ENV) else None


def find_node_modules(start_dirs: Iterable[Path] | None = None) -> Path | None:
    """The node_modules directory holding flux-lsp-browser, or None.

    The node_modules setting (or `AIRFLOW_DASH_NODE_MODULES`), when set, is the only place looked at (a wrong
    explicit setting should be reported, not silently bypassed). Otherwise walk up from each start dir
    (default: the current directory, then this package's directory) looking for `node_modules/`, then the
    per-user cache that `airflow-dash setup-flux-checker` fills.
    """
    explicit = _explicit()
    if explicit is not None:
        candidates = [explicit, explicit / "node_modules"]
        return next((c for c in candidates if _has_flux_lsp(c)), None)
    for start in start_dirs if start_dirs is not None else (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start.resolve(), *start.resolve().parents):
            if _has_flux_lsp(directory / "node_modules"):
                return directory / "node_modules"
    cached = user_cache_dir() / "node_modules"
    return cached if start_dirs is None and _has_flux_lsp(cached) else None


def _require_runtime() -> tuple[str, Path]:
    node = shutil.which("node")
    if node is None:
        raise CheckerUnavailable(f"the Flux checker needs Node.js (node is not on PATH): {INSTALL_HINT}")
    node_modules = find_node_modules()
    if node_modules is None:
        explicit = _explicit()
        where = f"in {explicit}" if explicit is not None else (
            f"in node_modules above the working directory or in {user_cache_dir()}")
        raise CheckerUnavailable(f"the Flux checker {FLUX_LSP_NAME} is not installed ({where}): {INSTALL_HINT}")
    return node, node_modules


def install_checker(target: Path | None = None, timeout: float = 600) -> Path:
    """`npm install` the pinned flux-lsp-browser into `target` (default the per-user cache); its node_modules."""
    target = Path(target) if target else user_cache_dir()
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise CheckerUnavailable("installing the Flux checker needs Node.js >= 18 and npm on PATH "
                                 "(e.g. apt-get install nodejs npm)")
    manifest = {"name": "airflow-dash-flux-checker", "private": True,
                "dependencies": {FLUX_LSP_NAME: FLUX_LSP_VERSION}}
    with writing("the Flux checker", target):
        target.mkdir(parents=True, exist_ok=True)
        (target / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    try:
        completed = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=target,
                                   capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OperationError(f"npm install of {FLUX_LSP_NAME} did not finish within {timeout:g}s") from None
    if completed.returncode != 0 or not _has_flux_lsp(target / "node_modules"):
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationError(f"npm install of {FLUX_LSP_NAME}@{FLUX_LSP_VERSION} in {target} failed: {last[:200]}")
    return target / "node_modules"


def _regex_allowed(before: str) -> bool:
    stripped = before.rstrip()
    return not stripped or stripped.endswith(_REGEX_AFTER)


def _value_for(spans: list[tuple[int, int, str]], ref: VariableRef) -> str:
    if span_containing(spans, ref.start):
        return "x"
    if ref.number_value is not None:
        return ref.number_value
    if ref.is_duration_macro:
        return "1m"
    return '"x"'


def substitute_flux(query: str) -> Substitution:
    """The query with Grafana variables replaced by values Flux accepts at their positions."""
    spans = string_and_regex_spans(query, '"', regex_allowed=_regex_allowed, line_comment="//")
    return substitute(query, lambda ref: _value_for(spans, ref))


_started: list[tuple[tuple[str, Path], subprocess.Popen[str]]] = []  # at most one, see start_checker_early
_started_lock = threading.Lock()


def _launch(node: str, node_modules: Path) -> subprocess.Popen[str]:
    NODE_LAUNCHES.increment()
    return subprocess.Popen([node, str(CHECKER_SCRIPT), str(node_modules)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_checker_early() -> None:
    """Start the checker's node process now: it loads and instantiates flux-lsp (a few hundred ms) while the
    caller compiles the queries, and the next check_flux sends them to it. Does nothing when node or the
    package is missing (check_flux then reports it) or one is started already. `discard_early_checker` ends
    it if no check needed it."""
    try:
        node, node_modules = _require_runtime()
    except CheckerUnavailable:
        return
    with _started_lock:
        if not _started:
            try:
                _started.append(((node, node_modules), _launch(node, node_modules)))
            except OSError:
                pass  # check_flux starts its own and reports what fails


def discard_early_checker() -> None:
    """End the process start_checker_early started, if no check took it."""
    with _started_lock:
        taken = _started[:]
        _started.clear()
    for _, process in taken:
        process.kill()
        process.communicate()


def _take_started(runtime: tuple[str, Path]) -> subprocess.Popen[str] | None:
    with _started_lock:
        if _started and _started[0][0] == runtime:
            return _started.pop()[1]
    discard_early_checker()  # started for another node or node_modules: not this one's to use
    return None


def _run_checker(scripts: list[str]) -> list[list[dict[str, Any]]]:
    node, node_modules = _require_runtime()
    payload = json.dumps({"scripts": scripts, "prelude": GRAFANA_PRELUDE})
    process = _take_started((node, node_modules)) or _launch(node, node_modules)
    try:
        stdout, stderr = process.communicate(payload, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        process.kill()
        process.communicate()
        raise OperationError(f"Flux checker timed out after {TIMEOUT_SECONDS}s") from error
    if process.returncode == 3:
        raise CheckerUnavailable(f"{json.loads(stdout)['unavailable']}: {INSTALL_HINT}")
    if process.returncode != 0:
        last_line = (stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationError(f"Flux checker failed (exit {process.returncode}): {last_line}")
    problems: list[list[dict[str, Any]]] = json.loads(stdout)  # per script, as check-flux.mjs writes them
    return problems


def check_flux(queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check Flux queries as Grafana stores them, in ONE node process; one problem list per query.

    Reports errors only (syntax, undefined identifiers, types, builtin signatures); flux-lsp's
    warnings and hints (e.g. "experimental features can change") are dropped.
    Raises CheckerUnavailable when node or the npm package is missing.
    """
    if not queries:
        return []
    substitutions = [substitute_flux(query) for query in queries]
    results = _run_checker([s.text for s in substitutions])
    problems = []
    for query, substitution, diagnostics in zip(queries, substitutions, results):
        found = []
        for diagnostic in diagnostics:
            line, column = substitution.original_position(diagnostic["line"], diagnostic["column"])
            message = " ".join(diagnostic["message"].split())
            found.append(QueryProblem(LANGUAGE, query, message, line, column))
        if not query.strip():
            found.append(QueryProblem(LANGUAGE, query, "empty query"))
        problems.append(found)
    return problems
