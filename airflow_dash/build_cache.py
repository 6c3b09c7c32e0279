"""The last build of each output directory, recorded per user, so that an unchanged re-build does nothing.

A record is keyed by the request: what was built (names, backends), where (output directory, working
directory), from what (dashboards directory, bundled set, alerts directory), with which settings (datasource
uids and pickers), by which airflow-dash, Python and environment (a digest: no value is stored). It lists what
the build depended on and what it wrote:

- every file it was made of: the file of every module imported when it finished (airflow-dash with its
  catalog, the bundled and your dashboards and alerts, grafanalib, PyYAML...), and every file under the
  airflow-dash package (JSON schemas, the Flux checker's script), the dashboards and the alerts directories;
- the fingerprint of each query checker it ran (validated builds only: see airflow_dash.validate.cache);
- every file it wrote, and the listing of the output directories it owns.

A re-build of the same request that finds every one of these files as it was (size, mtime, ctime, inode) and
the same checkers writes nothing and checks nothing: the output directory already holds, byte for byte, what
the build would write. Anything else (an edited, added or removed file, another setting, environment variable,
checker or version, an output edited or deleted, a stray file in an output directory) and the build runs as
usual, then records itself again. A build is not recorded when a file it depends on changed while it ran, or
less than RACY_NS (2 s) before it started: an edit within the same file-time tick, keeping the size, keeps the
whole stat (size, mtime, ctime, inode), so a record of such a file could stand for content the build never read.

What it cannot see: a dashboards module whose result depends on something other than files it is made of and
the environment, such as a file outside the directories above or the clock; and a module added where Python
looks before the file a build imported (a new `yaml.py` in a directory on `PYTHONPATH`, or in the working
directory with `python -m`; a `pip install --user` of a package it imports): the files it was made of are
checked where they were found, and are found unchanged. Build with `--no-cache` after such a change.
Records live beside the check cache (`${XDG_CACHE_HOME:-~/.cache}/airflow-dash/builds/`, or in
`$AIRFLOW_DASH_CHECK_CACHE`); the cache is an optimisation only: if it cannot be read or written, builds run.

This module imports nothing heavy: the CLI consults it before loading any dashboard.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

FORMAT = 1
BUILDS_DIR = "builds"
KEEP_SECONDS = 30 * 24 * 3600  # records of output directories not built for this long are dropped
_PACKAGE_DIR = Path(__file__).resolve().parent
# A file the build depends on (under an input directory or not) changed this shortly before the build started may
# change again unseen: file times can be coarse, and an edit within the same tick that keeps the size keeps the
# whole stat. Such a build is not recorded (the next one runs, and records when its files are older).
RACY_NS = 2_000_000_000
# Set by the shell per command or per directory change; the working directory is part of the request itself.
_VOLATILE_ENVIRONMENT = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})

Stat = list[int]


def _stat(path: str) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def environment_digest(environment: Mapping[str, str]) -> str:
    """One digest of the environment: variables a dashboards module reads are in it (their values never are)."""
    digest = hashlib.sha256()
    for name in sorted(environment):
        if name not in _VOLATILE_ENVIRONMENT:
            digest.update(f"{name}\0{environment[name]}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _tree(directory: str) -> list[str]:
    """Every file under `directory` (absolute paths, sorted), bytecode caches aside; [] when it is missing."""
    found: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.extend(os.path.join(root, name) for name in names)
    return sorted(found)


def _absolute(path: Path | str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def cache_directory() -> Path:
    # The check cache's directory (same variable, same default), without importing the checkers.
    if os.environ.get("AIRFLOW_DASH_CHECK_CACHE"):
        return Path(os.environ["AIRFLOW_DASH_CHECK_CACHE"]) / BUILDS_DIR
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "airflow-dash" / BUILDS_DIR


def build_request(
    *, names: Sequence[str], backends: Sequence[str], out: Path | str, dashboards_dir: Path | str | None,
    bundled: bool | Sequence[str], alerts_dir: Path | str | None, datasource_uids: Mapping[str, str],
    datasource_regexes: Mapping[str, str],
) -> dict[str, Any]:
    """Everything that names one build; equal requests over unchanged files give equal output."""
    import airflow_dash

    return {
        "format": FORMAT, "airflow_dash": airflow_dash.__version__, "python": sys.version, "executable": sys.executable,
        "cwd": os.getcwd(), "names": list(names), "backends": list(backends), "out": _absolute(out),
        "dashboards_dir": _absolute(dashboards_dir), "bundled": bundled if isinstance(bundled, bool) else list(bundled),
        "alerts_dir": _absolute(alerts_dir), "datasource_uids": dict(datasource_uids),
        "datasource_regexes": dict(datasource_regexes), "environment": environment_digest(os.environ),
    }  # fmt: skip


def _record_path(request: Mapping[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(request, sort_keys=True).encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return cache_directory() / f"{key}.json"


@dataclass
class CachedBuild:
    """What an unchanged re-build reports: the files the recorded build wrote, relative to its output directory."""

    dashboards: list[str]
    alerts: list[str]


def lookup(request: Mapping[str, Any], validate: bool) -> CachedBuild | None:
    """The recorded build of `request` when nothing it depends on or wrote changed since; None otherwise.
    A validated build needs a record of a validated build whose checkers are still the same."""
    try:
        record = json.loads(_record_path(request).read_text(encoding="utf-8"))
        if record.get("request") != request or (validate and not record["validated"]):
            return None
        for path, stat in record["files"].items():
            if _stat(path) != stat:
                return None
        for directory, files in record["trees"].items():
            if _tree(directory) != files:
                return None
        out = Path(record["request"]["out"])
        for relative, stat in record["outputs"].items():
            if _stat(str(out / relative)) != stat:
                return None
        for relative, listing in record["listings"].items():
            if _listing(out / relative) != listing:
                return None
        if validate and _checker_fingerprints(record["checkers"]) != record["checkers"]:
            return None
        return CachedBuild(list(record["dashboards"]), list(record["alerts"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _listing(directory: Path) -> list[str] | None:
    """Relative paths of every entry under `directory` (None if it is missing)."""
    if not directory.is_dir():
        return None
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def _checker_fingerprints(languages: Iterable[str]) -> dict[str, str | None]:
    from airflow_dash.validate.cache import checker_fingerprint

    return {language: checker_fingerprint(language) for language in languages}


@dataclass
class BuildRecorder:
    """Started before a build loads anything; `record` afterwards, only for a build that wrote its output.
    `input_dirs`: directories every file of which the build depends on (the package's is always one)."""

    request: dict[str, Any]
    input_dirs: list[str] = field(default_factory=list)
    started_ns: int = field(default_factory=time.time_ns)
    modules_before: frozenset[str] = field(default_factory=lambda: frozenset(sys.modules))
    trees_before: dict[str, dict[str, Stat | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.input_dirs = sorted({str(_PACKAGE_DIR), *(os.path.abspath(d) for d in self.input_dirs)})
        self.trees_before = self._trees()

    def _trees(self) -> dict[str, dict[str, Stat | None]]:
        return {directory: {path: _stat(path) for path in _tree(directory)} for directory in self.input_dirs}

    def _racy(self, stat: Stat) -> bool:
        """Modified (or its inode changed) within RACY_NS before this build started, or since."""
        return max(stat[1], stat[2]) >= self.started_ns - RACY_NS

    def record(self, *, validated_languages: Iterable[str] | None, dashboards: Sequence[Path], alerts: Sequence[Path],
               owned_dirs: Sequence[str]) -> bool:
        """Write the record (True), unless the build was racing a change to its inputs (False).
        `validated_languages`: the checkers the build ran (None: not validated); `owned_dirs`: output
        subdirectories whose whole content the build decided (relative to the output directory)."""
        try:
            return self._record(validated_languages, dashboards, alerts, owned_dirs)
        except (OSError, ValueError, TypeError):
            return False  # e.g. a read-only home: the next build runs in full

    def _record(self, validated_languages: Iterable[str] | None, dashboards: Sequence[Path], alerts: Sequence[Path],
                owned_dirs: Sequence[str]) -> bool:
        trees = self._trees()
        if trees != self.trees_before or any(None in tree.values() for tree in trees.values()):
            return False  # a file under an input directory was added, removed or changed while this build ran
        in_trees = {path: stat for tree in trees.values() for path, stat in tree.items()}
        if any(self._racy(stat) for stat in in_trees.values() if stat is not None):
            return False  # changed just before this build: what it read may not be what is there now
        files: dict[str, Stat | None] = dict(in_trees)
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if not isinstance(path, str) or path in in_trees:
                continue
            stat = files[path] = _stat(path)
            if stat is None and name not in self.modules_before:
                return False  # loaded by this build, gone already
            if stat is not None and self._racy(stat):
                return False  # may have changed while this build ran: what it read may not be what is there now
        checkers = {} if validated_languages is None else _checker_fingerprints(sorted(set(validated_languages)))
        out = Path(self.request["out"])

        def relative(path: Path) -> str:
            return str(Path(os.path.abspath(path)).relative_to(out))

        outputs = {relative(p): _stat(str(p)) for p in [*dashboards, *alerts]}
        if any(stat is None for stat in outputs.values()):
            return False
        record = {
            "request": self.request,
            "validated": validated_languages is not None and None not in checkers.values(),
            "checkers": checkers,
            "files": files,
            "trees": {directory: sorted(tree) for directory, tree in trees.items()},
            "outputs": outputs,
            "listings": {d: _listing(out / d) for d in owned_dirs},
            "dashboards": [relative(p) for p in dashboards],
            "alerts": [relative(p) for p in alerts],
        }
        path = _record_path(self.request)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        staging.write_text(json.dumps(record), encoding="utf-8")
        os.replace(staging, path)  # a concurrent reader sees the old record or the new one, never half of one
        _prune(path.parent)
        return True


def _prune(directory: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for entry in os.scandir(directory):
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            pass
