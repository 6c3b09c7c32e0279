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

from airflow_dash.errors import OperationError
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
FLUX_LSP_PACKAGE = Path("@influxdata") / "flux-lsp-browser"
CHECKER_SCRIPT = Path(__file__).with_name("flux_check.mjs")
INSTALL_HINT = "run `make setup-node` (or `npm install` in the project) with Node.js >= 18"
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


def find_node_modules(start_dirs: Iterable[Path] | None = None) -> Path | None:
    """The node_modules directory holding flux-lsp-browser, or None.

    `AIRFLOW_DASH_NODE_MODULES`, when set, is the only place looked at (a wrong explicit setting
    should be reported, not silently bypassed). Otherwise walk up from each start dir (default: the
    current directory, then this package's directory) looking for `node_modules/`.
    """
    explicit = os.environ.get(NODE_MODULES_ENV)
    if explicit:
        candidates = [Path(explicit), Path(explicit) / "node_modules"]
        return next((c for c in candidates if _has_flux_lsp(c)), None)
    for start in start_dirs if start_dirs is not None else (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (start.resolve(), *start.resolve().parents):
            if _has_flux_lsp(directory / "node_modules"):
                return directory / "node_modules"
    return None


def _require_runtime() -> tuple[str, Path]:
    node = shutil.which("node")
    if node is None:
        raise CheckerUnavailable(f"Flux checker needs node, which is missing: {INSTALL_HINT}")
    node_modules = find_node_modules()
    if node_modules is None:
        where = f"in ${NODE_MODULES_ENV}={os.environ[NODE_MODULES_ENV]}" if os.environ.get(NODE_MODULES_ENV) else (
            "in node_modules above the current directory or the airflow_dash package"
        )
        raise CheckerUnavailable(f"Flux checker needs the npm package {FLUX_LSP_PACKAGE.as_posix()}, not found {where}: {INSTALL_HINT}")
    return node, node_modules


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


def _run_checker(scripts: list[str]) -> list[list[dict]]:
    node, node_modules = _require_runtime()
    NODE_LAUNCHES.increment()
    payload = json.dumps({"scripts": scripts, "prelude": GRAFANA_PRELUDE})
    try:
        completed = subprocess.run(
            [node, str(CHECKER_SCRIPT), str(node_modules)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise OperationError(f"Flux checker timed out after {TIMEOUT_SECONDS}s") from error
    if completed.returncode == 3:
        raise CheckerUnavailable(f"{json.loads(completed.stdout)['unavailable']}: {INSTALL_HINT}")
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise OperationError(f"Flux checker failed (exit {completed.returncode}): {last_line}")
    return json.loads(completed.stdout)


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
