"""Flux checking: one Node process running flux-lsp (wasm) over a whole batch of queries.

Grafana variables are substituted first: inside a string or /regex/ by a plain word, elsewhere by a
duration (interval macros), a number (epoch/span macros) or a string literal (user variables). Grafana's
`v` record is then declared for each query: inline on the fast path (one text per string-literal shape,
passed or failed by flux's own semantic check, see flux_fast_path), and in a second file of the query's
package for the exact check of the others (the language server's diagnostics, see flux_check.mjs), which
is what every reported problem comes from.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_dash.errors import OperationError, writing
from airflow_dash.validate.flux_fast_path import flux_shape, with_inline_prelude
from airflow_dash.validate.flux_slash import regex_may_open
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
# Run by node once flux-lsp is loaded, while it waits for the first batch (see flux_check.mjs): flux's first
# semantic check pays for one-time set-up (the standard library's types, wasm functions compiled on first
# call), ~25 ms measured, which would otherwise delay the first answer a build waits for. It uses what
# dashboards use (from |> range |> filter ... and influxdb/schema) and must itself pass the check.
WARM_UP_SCRIPT = (
    'import "influxdata/influxdb/schema"\n'
    + GRAFANA_PRELUDE
    + 'schema.tagValues(bucket: v.defaultBucket, tag: "host", predicate: (r) => r._measurement == "cpu" and '
    'r.host =~ /^a$/, start: v.timeRangeStart, stop: v.timeRangeStop)\n'
    'from(bucket: v.defaultBucket)\n'
    '  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n'
    '  |> filter(fn: (r) => r._measurement == "cpu" and r._field == "usage")\n'
    '  |> group(columns: ["host"], mode: "by")\n'
    '  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)\n'
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
    '  |> map(fn: (r) => ({r with _value: float(v: r.usage) * 2.0}))\n'
    '  |> keep(columns: ["_time", "_value", "host"])\n'
)


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
    spans = string_and_regex_spans(query, '"', regex_allowed=regex_may_open, line_comment="//")
    return substitute(query, lambda ref: _value_for(spans, ref))


_started: list[tuple[tuple[str, Path], subprocess.Popen[str]]] = []  # at most one, see start_checker_early
_started_lock = threading.Lock()


def _launch_command(node: str, node_modules: Path) -> list[str]:
    return [node, str(CHECKER_SCRIPT), str(node_modules), WARM_UP_SCRIPT]


def _launch(node: str, node_modules: Path) -> subprocess.Popen[str]:
    NODE_LAUNCHES.increment()
    return subprocess.Popen(_launch_command(node, node_modules), stdin=subprocess.PIPE,
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


class _CheckerProcess:
    """One node process running flux_check.mjs: batches go in as JSON lines, one answer line each.

    Threads do the pipe I/O, so sending never blocks the caller (node reads a batch only after answering
    the one before), and node never blocks on a full stdout or stderr pipe."""

    def __init__(self) -> None:
        node, node_modules = _require_runtime()
        self.process = _take_started((node, node_modules)) or _launch(node, node_modules)
        self._outgoing: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._answers: list[list[Any]] = []
        self._unavailable: str | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._changed = threading.Condition()
        self._ended = False
        self._sent = 0
        self._threads = [threading.Thread(target=target, name=f"flux-check-{target.__name__}", daemon=True)
                         for target in (self._write, self._read, self._drain_stderr)]
        self._reader = self._threads[1]
        for thread in self._threads:
            thread.start()

    def send(self, scripts: list[str], prelude: str = "", valid_only: bool = False) -> int:
        """Queue a batch; its number. Its answer: each script's errors from the language server (`prelude`,
        "" for none, is a second file of each script's package), or with `valid_only` whether each passes
        flux's own semantic check."""
        self._outgoing.put(json.dumps({"scripts": scripts, "prelude": prelude, "valid": valid_only}) + "\n")
        self._sent += 1
        return self._sent - 1

    def answer(self, batch: int, deadline: float) -> list[Any]:
        """The answer to batch number `batch` (see send), waiting until `deadline` (a time.monotonic())."""
        with self._changed:
            while len(self._answers) <= batch and not self._ended:
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    self.process.kill()
                    raise OperationError(f"Flux checker timed out after {TIMEOUT_SECONDS}s")
            if len(self._answers) > batch:
                return self._answers[batch]
        raise self._failure()

    def _failure(self) -> Exception:
        self.process.wait()
        for thread in self._threads[1:]:
            thread.join()
        if self._unavailable is not None:
            return CheckerUnavailable(f"{self._unavailable}: {INSTALL_HINT}")
        last_line = (self._stderr_tail or ["no output"])[-1]
        return OperationError(f"Flux checker failed (exit {self.process.returncode}): {last_line}")

    def _write(self) -> None:
        assert self.process.stdin is not None
        try:
            while (line := self._outgoing.get()) is not None:
                self.process.stdin.write(line)
                self.process.stdin.flush()
            self.process.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process ended early (e.g. node too old): its exit code and output say why

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                answer = json.loads(line)
            except ValueError:
                self._stderr_tail.append(f"unexpected output: {line.strip()[:200]}")
                self.process.kill()
                break
            with self._changed:
                if isinstance(answer, dict):  # {"unavailable": why}, then exit 3
                    self._unavailable = str(answer.get("unavailable"))
                else:
                    self._answers.append(answer)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.strip():
                self._stderr_tail.append(line.strip())

    def close(self, abort: bool = False) -> None:
        """End the process: its stdin closes after the queued batches, then node exits; with `abort`, killed.
        Killed too once every batch has its answer: nothing is left to wait for but node's own shutdown."""
        self._outgoing.put(None)
        with self._changed:
            answered = len(self._answers) == self._sent
        if abort or answered:
            self.process.kill()
        else:  # the reader ends when node closes its stdout, i.e. exits
            self._reader.join(timeout=TIMEOUT_SECONDS)
            if self._reader.is_alive():
                self.process.kill()
        self.process.wait()
        for thread in self._threads:
            thread.join()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class FluxChecks:
    """Flux queries checked as they arrive: each `add` sends its new texts to node at once, so node checks
    them while the caller goes on (e.g. compiles the next dashboard); `results` waits for the answers.
    Single use: `results` (or `close`) ends the node process.

    Fast path first (airflow_dash.validate.flux_fast_path): one text per string-literal shape, with Grafana's
    `v` record declared inline, judged by flux's own semantic check (is_valid_flux: a yes or no, without
    the language server). The queries of a shape that fails, and those with no certain shape, get the exact
    check (the language server's diagnostics, `v` in a second file of the package), so every reported
    message and position is the exact check's.
    """

    def __init__(self) -> None:
        self._substitutions: dict[str, Substitution] = {}
        self._shape_of: dict[str, str] = {}  # query -> its shape, for queries on the fast path
        self._fast_answer: dict[str, tuple[int, int]] = {}  # shape -> (batch, index in it)
        self._exact_answer: dict[str, tuple[int, int]] = {}  # query -> (batch, index): no fast path for it
        self._checker: _CheckerProcess | None = None
        self._ended = False

    def add(self, queries: Iterable[str]) -> None:
        """Start checking `queries` (texts seen before are not sent again). Raises CheckerUnavailable."""
        if self._ended:
            raise RuntimeError("FluxChecks is single-use: its node process has ended")
        substitutions = {query: substitute_flux(query) for query in dict.fromkeys(queries)
                         if query not in self._substitutions}
        shapes: dict[str, str] = {}
        fast_texts: dict[str, str] = {}  # new shape -> the text the fast check runs
        exact: list[str] = []
        for query, substitution in substitutions.items():
            shape = flux_shape(substitution.text)
            fast = with_inline_prelude(shape, GRAFANA_PRELUDE) if shape is not None else None
            if shape is None or fast is None:
                exact.append(query)
                continue
            shapes[query] = shape
            if shape not in self._fast_answer:
                fast_texts.setdefault(shape, fast)
        if not substitutions:
            return
        checker = self._checker = self._checker or _CheckerProcess()  # may raise: nothing is recorded before
        if fast_texts:
            batch = checker.send(list(fast_texts.values()), valid_only=True)
            self._fast_answer.update((shape, (batch, index)) for index, shape in enumerate(fast_texts))
        if exact:
            batch = checker.send([substitutions[query].text for query in exact], GRAFANA_PRELUDE)
            self._exact_answer.update((query, (batch, index)) for index, query in enumerate(exact))
        self._substitutions.update(substitutions)
        self._shape_of.update(shapes)

    def results(self, queries: Sequence[str]) -> list[list[QueryProblem]]:
        """One problem list per query (each added before, or added now); then the node process is ended."""
        try:
            self.add(queries)
            diagnostics_of = self._diagnostics(list(dict.fromkeys(queries)), time.monotonic() + TIMEOUT_SECONDS)
        except BaseException:
            self.close(abort=True)
            raise
        self.close()
        return [self._problems(query, diagnostics_of.get(query, [])) for query in queries]

    def _diagnostics(self, queries: list[str], deadline: float) -> dict[str, list[dict[str, Any]]]:
        checker = self._checker
        if checker is None:
            return {}
        found: dict[str, list[dict[str, Any]]] = {}
        failing_shape: list[str] = []
        for query in queries:
            if query in self._exact_answer:
                batch, index = self._exact_answer[query]
                found[query] = checker.answer(batch, deadline)[index]
            else:
                batch, index = self._fast_answer[self._shape_of[query]]
                if not checker.answer(batch, deadline)[index]:
                    failing_shape.append(query)
        if failing_shape:
            batch = checker.send([self._substitutions[query].text for query in failing_shape], GRAFANA_PRELUDE)
            found.update(zip(failing_shape, checker.answer(batch, deadline)))
        return found

    def _problems(self, query: str, diagnostics: list[dict[str, Any]]) -> list[QueryProblem]:
        found = []
        for diagnostic in diagnostics:
            line, column = self._substitutions[query].original_position(diagnostic["line"], diagnostic["column"])
            message = " ".join(diagnostic["message"].split())
            found.append(QueryProblem(LANGUAGE, query, message, line, column))
        if not query.strip():
            found.append(QueryProblem(LANGUAGE, query, "empty query"))
        return found

    def close(self, abort: bool = False) -> None:
        """End the node process, if one was started: after its queued batches, or at once with `abort`
        (an error or an interrupt: nobody waits for the answers). `results` does this itself."""
        self._ended = True
        checker, self._checker = self._checker, None
        if checker is not None:
            checker.close(abort)


def check_flux(queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check Flux queries as Grafana stores them, in ONE node process; one problem list per query.

    Reports errors only (syntax, undefined identifiers, types, builtin signatures); flux-lsp's
    warnings and hints (e.g. "experimental features can change") are dropped.
    Raises CheckerUnavailable when node or the npm package is missing. See FluxChecks for how.
    """
    if not queries:
        return []
    return FluxChecks().results(queries)
