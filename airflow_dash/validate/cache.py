"""A per-user cache of query check results, so an unchanged build does not run the checkers again.

A result is keyed by (checker fingerprint, language, query text). The fingerprint covers what decides a
result: our checker's source files and the runtime it calls (the promql_parser extension, node and the
flux-lsp package), so upgrading either invalidates old results. Results live in one SQLite file
(`${XDG_CACHE_HOME:-~/.cache}/airflow-dash/checks.sqlite3`, or in `$AIRFLOW_DASH_CHECK_CACHE`); SQLite's
locking keeps concurrent builds safe.
The cache is an optimisation only: if it cannot be read or written, checks simply run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from airflow_dash.validate.problems import QueryProblem

CACHE_FILE = "checks.sqlite3"
CACHE_DIR_ENV = "AIRFLOW_DASH_CHECK_CACHE"
KEEP_SECONDS = 30 * 24 * 3600  # results not written again for this long are dropped (queries change)
_VALIDATE_DIR = Path(__file__).resolve().parent
# Our sources that decide each language's results (grafana_vars substitutes variables for all of them).
_SOURCES = {
    "promql": ("promql.py",),
    "flux": ("flux.py", "flux_check.mjs"),
    "influxql": ("influxql.py",),
}
_SHARED_SOURCES = ("grafana_vars.py", "problems.py", "cache.py")
_SCHEMA = "CREATE TABLE IF NOT EXISTS checks (key BLOB PRIMARY KEY, problems TEXT NOT NULL, written REAL NOT NULL) WITHOUT ROWID"
_BATCH = 500  # SQLite's default limit on parameters per statement is 999


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "airflow-dash"


def checker_fingerprint(language: str) -> str | None:
    """What a cached result for `language` depends on, hashed; None when the checker cannot be found
    (then nothing is cached and the checker itself reports what is missing)."""
    digest = hashlib.sha256(language.encode())
    for name in (*_SHARED_SOURCES, *_SOURCES.get(language, ())):
        digest.update(name.encode() + b"\0" + (_VALIDATE_DIR / name).read_bytes())
    runtime = _runtime_files(language)
    if runtime is None:
        return None
    for path in runtime:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _runtime_files(language: str) -> list[Path] | None:
    try:
        if language == "promql":
            from importlib.util import find_spec

            spec = find_spec("promql_parser")  # finds the extension without loading it
            if spec is None or spec.origin is None:
                return None
            package = Path(spec.origin).parent
            return sorted(p for p in package.iterdir() if p.is_file()) if spec.submodule_search_locations else [Path(spec.origin)]
        if language == "flux":
            import shutil

            from airflow_dash.validate.flux import FLUX_LSP_PACKAGE, find_node_modules

            node, node_modules = shutil.which("node"), find_node_modules()
            if node is None or node_modules is None:
                return None
            package = node_modules / FLUX_LSP_PACKAGE
            return [Path(os.path.realpath(node)), *sorted(p for p in package.iterdir() if p.is_file())]
    except OSError:
        return None
    return []  # influxql: our own parser, covered by its source


class CheckCache:
    """Cached check results in one SQLite file; every failure of the file itself reads as a miss."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.path = Path(directory if directory is not None else default_cache_dir()) / CACHE_FILE
        self.hits = 0
        self.misses = 0
        # One connection for every lookup and store of a build (opening one, and closing the last one,
        # which checkpoints the WAL, cost a few ms each); `close` ends it, the next use opens another.
        self._connection: sqlite3.Connection | None = None
        self._pruned = False

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10)
            try:
                # WAL: readers never wait for a concurrent build's writer; NORMAL: no fsync per commit (a lost
                # result after a power cut is only re-checked).
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(_SCHEMA)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """End the connection, if one is open (the cache stays usable: the next lookup opens another)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except sqlite3.Error:
                pass

    @staticmethod
    def _key(fingerprint: str, language: str, text: str) -> bytes:
        return hashlib.sha256(f"{fingerprint}\0{language}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def lookup(self, fingerprint: str, language: str, texts: Sequence[str]) -> dict[str, list[QueryProblem]]:
        """The cached results among `texts` (missing ones are absent)."""
        keys = {self._key(fingerprint, language, text): text for text in texts}
        found: dict[str, list[QueryProblem]] = {}
        try:
            connection = self._connected()
            items = list(keys)
            for start in range(0, len(items), _BATCH):
                batch = items[start : start + _BATCH]
                rows = connection.execute(
                    f"SELECT key, problems FROM checks WHERE key IN ({','.join('?' * len(batch))})", batch
                ).fetchall()
                for key, problems in rows:
                    text = keys[key]
                    found[text] = [_problem(language, text, p) for p in json.loads(problems)]
        except (sqlite3.Error, OSError, ValueError, KeyError, TypeError):
            self.close()  # a damaged file or a vanished directory: the next use starts afresh
            found = {}
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def store(self, fingerprint: str, language: str, results: Iterable[tuple[str, list[QueryProblem]]]) -> None:
        now = time.time()
        rows = [
            (self._key(fingerprint, language, text), json.dumps([[p.message, p.line, p.column] for p in problems]), now)
            for text, problems in results
        ]
        if not rows:
            return
        try:
            connection = self._connected()
            with connection:  # one transaction: a concurrent reader sees all of these or none
                connection.executemany("INSERT OR REPLACE INTO checks VALUES (?, ?, ?)", rows)
                if not self._pruned:  # a full scan: once per CheckCache
                    connection.execute("DELETE FROM checks WHERE written < ?", (now - KEEP_SECONDS,))
            self._pruned = True
        except (sqlite3.Error, OSError):
            self.close()  # e.g. a read-only home: the next build checks again


def _problem(language: str, text: str, stored: list[Any]) -> QueryProblem:
    message, line, column = stored
    return QueryProblem(language, text, message, line, column)
