"""Find the dashboard modules in a directory (default `dashboards/`) and load their `Dashboard` objects.

A module defines `dashboard = Dashboard(...)` or `dashboards = [...]`. Modules are loaded by path under a
private package name, so a user's `dashboards/` needs no `__init__.py` and cannot shadow real modules.

The bundled dashboards are the package `airflow_dash.bundled` (the checkout's top-level `dashboards/`).
A `DashboardSource` is what commands compile: the bundled set (all, none or some) plus a user's directory,
whose dashboards replace bundled ones with the same key, so links between the two resolve.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Iterator, Sequence, TypeVar, Union

from airflow_dash.errors import UserError

if TYPE_CHECKING:  # imported where used: an unchanged re-build needs a DashboardSource, not the dashboards
    from airflow_dash.alerts import Alert
    from airflow_dash.dashboard import Dashboard

_PACKAGE = "_airflow_dash_dashboards"
_ALERTS_PACKAGE = "_airflow_dash_alerts"
BUNDLED_PACKAGE = "airflow_dash.bundled"
BUNDLED_ALERTS_PACKAGE = "airflow_dash.bundled_alerts"  # the checkout's top-level alerts/


def bundled_directory() -> Path:
    """Where the bundled dashboard modules are (in the checkout: the top-level `dashboards/`)."""
    try:
        package = importlib.import_module(BUNDLED_PACKAGE)
    except ImportError:
        raise UserError(f"the bundled dashboards ({BUNDLED_PACKAGE}) are not installed: reinstall airflow-dash") from None
    if package.__file__ is None:  # a namespace package: the mapping to dashboards/ is missing
        raise UserError(f"the bundled dashboards ({BUNDLED_PACKAGE}) are not installed: reinstall airflow-dash")
    return Path(package.__file__).resolve().parent


def _is_bundled_directory(directory: Path) -> bool:
    try:
        return directory.resolve() == bundled_directory()
    except UserError:  # running from a source tree without the package mapping: a plain directory
        return False


def _module_stems(directory: Path) -> list[str]:
    return [p.stem for p in sorted(directory.glob("*.py")) if not p.name.startswith("_")]


def _load_module(path: Path, package: str = _PACKAGE, kind: str = "dashboard") -> ModuleType:
    name = f"{package}.{path.stem}"
    shown, path = path, path.resolve()  # tracebacks carry absolute file names
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"{shown}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's module: report where it broke, in one line
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f"{shown}:{frames[-1].lineno}" if frames else str(shown)
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f"{shown}:{exc.lineno}"
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(f"{where}: {kind} module failed to import: {type(exc).__name__}: {message}") from exc
    return module


def _modules(directory: Path) -> Iterator[tuple[Path, ModuleType]]:
    """(path, module) of each dashboard module; the bundled directory is imported as its package, so
    `from airflow_dash.bundled import system` in a user's module gets the very same objects."""
    bundled = _is_bundled_directory(directory)
    for stem in _module_stems(directory):
        path = directory / f"{stem}.py"
        yield path, importlib.import_module(f"{BUNDLED_PACKAGE}.{stem}") if bundled else _load_module(path)


def load_dashboards_with_paths(directory: Path | str = "dashboards") -> dict[str, tuple[Dashboard, Path]]:
    """key -> (dashboard, defining module) for every dashboard in `directory`; keys must be unique."""
    from airflow_dash.dashboard import Dashboard

    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"dashboards directory not found: {directory}")
    found: dict[str, tuple[Dashboard, Path]] = {}
    for path, module in _modules(directory):
        for item in _defined(path, module, "dashboard", Dashboard, "airflow_dash.Dashboard"):
            _add_unique(found, item.key, item, path, "dashboard key")
    return found


_T = TypeVar("_T")


def _defined(path: Path, module: ModuleType, singular: str, cls: type[_T], shown: str) -> list[_T]:
    """What a dashboards or alerts module defines: `<singular>` and the list `<singular>s`, each a `cls`. One
    that builds a `cls` under another name would be skipped without a word: that is an error naming it."""
    items = list(getattr(module, f"{singular}s", []))
    if hasattr(module, singular):
        items.append(getattr(module, singular))
    elif not hasattr(module, f"{singular}s"):
        for name, value in vars(module).items():
            if isinstance(value, cls):
                label = getattr(value, "key", None) or getattr(value, "name", "")
                raise UserError(f"{path}: {cls.__name__} {label!r} is named `{name}`, but only `{singular} = "
                                f"{cls.__name__}(...)` or `{singular}s = [...]` are read: rename it (a helper "
                                "module's name starts with _)")
    for item in items:
        if not isinstance(item, cls):
            raise UserError(f"{path}: `{singular}(s)` must hold {shown} objects, got {type(item).__name__}")
    return items


def _add_unique(found: dict[str, tuple[_T, Path]], key: str, item: _T, path: Path, what: str) -> None:
    if key in found:
        raise UserError(f"{path}: {what} {key!r} is already defined in {found[key][1]}")
    found[key] = (item, path)


def load_dashboards(directory: Path | str = "dashboards") -> list[Dashboard]:
    """Every dashboard defined in `directory`, sorted by key; keys must be unique."""
    found = load_dashboards_with_paths(directory)
    return [found[key][0] for key in sorted(found)]


@dataclass(frozen=True)
class DashboardSource:
    """The dashboards a command works on: bundled ones (`bundled`: True = all, False = none, or a tuple of
    keys) and those of `directory` (None: none), which replace bundled ones of the same key."""

    directory: Path | None = None
    bundled: bool | tuple[str, ...] = True

    def load_with_paths(self) -> dict[str, tuple[Dashboard, Path]]:
        found: dict[str, tuple[Dashboard, Path]] = {}
        if self.bundled is not False:
            bundled = load_dashboards_with_paths(bundled_directory())
            if self.bundled is not True:
                unknown = [key for key in self.bundled if key not in bundled]
                if unknown:
                    raise UserError(f"setting bundled: unknown bundled dashboard {', '.join(map(repr, unknown))} "
                                    f"(bundled: {', '.join(sorted(bundled))})")
                bundled = {key: bundled[key] for key in self.bundled}
            found.update(bundled)
        if self.directory is not None:
            found.update(load_dashboards_with_paths(self.directory))
        return {key: found[key] for key in sorted(found)}

    def load(self) -> list[Dashboard]:
        return [dashboard for dashboard, _ in self.load_with_paths().values()]


SourceLike = Union[DashboardSource, Path, str]


def as_source(source: SourceLike) -> DashboardSource:
    """A DashboardSource; a bare directory means exactly that directory's dashboards."""
    if isinstance(source, DashboardSource):
        return source
    return DashboardSource(directory=Path(source), bundled=False)


def select_dashboards(dashboards: Sequence[Dashboard], names: Sequence[str]) -> list[Dashboard]:
    """The dashboards named (all when none); an unknown name is a UserError listing the known ones."""
    if not names:
        return list(dashboards)
    by_key = {d.key: d for d in dashboards}
    unknown = [n for n in names if n not in by_key]
    if unknown:
        raise UserError(f"unknown dashboard {', '.join(map(repr, unknown))} (known: {', '.join(sorted(by_key)) or 'none'})")
    return [by_key[n] for n in dict.fromkeys(names)]


# --- alerts ---------------------------------------------------------------------------------------------------

def bundled_alerts_directory() -> Path | None:
    """Where the bundled alert modules are (the checkout's `alerts/`), None if not installed."""
    try:
        package = importlib.import_module(BUNDLED_ALERTS_PACKAGE)
    except ImportError:
        return None
    return Path(package.__file__).resolve().parent if package.__file__ is not None else None


def load_alerts(directory: Path | str = "alerts") -> list[Alert]:
    """Every alert defined in `directory` (modules defining `alerts = [...]` or `alert = Alert(...)`).

    A missing directory means no alerts (a dashboards repository need not define any); names must be unique.
    The bundled directory is imported as its package, like the bundled dashboards.
    """
    directory = Path(directory)
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise UserError(f"alerts directory is not a directory: {directory}")
    bundled = bundled_alerts_directory()
    is_bundled = bundled is not None and directory.resolve() == bundled
    from airflow_dash.alerts import Alert

    found: dict[str, tuple[Alert, Path]] = {}
    for stem in _module_stems(directory):
        path = directory / f"{stem}.py"
        module = (importlib.import_module(f"{BUNDLED_ALERTS_PACKAGE}.{stem}") if is_bundled
                  else _load_module(path, package=_ALERTS_PACKAGE, kind="alert"))
        for item in _defined(path, module, "alert", Alert, "airflow_dash.alerts.Alert"):
            _add_unique(found, item.name, item, path, "alert")
    return [alert for alert, _ in found.values()]


def alerts_for(source: DashboardSource, alerts_dir: Path | str | None = "alerts") -> list[Alert]:
    """The alerts a build compiles: the bundled ones whose dashboard is a bundled dashboard in `source` (not one
    a user's directory replaced), then those of `alerts_dir`, which replace bundled ones of the same name."""
    found: dict[str, Alert] = {}
    bundled_dir = bundled_alerts_directory()
    with_bundled = source.bundled is not False and bundled_dir is not None
    if source.bundled is not False and bundled_dir is not None:
        dashboards = bundled_directory()
        kept = {key for key, (_, path) in source.load_with_paths().items() if path.resolve().parent == dashboards}
        found.update({a.name: a for a in load_alerts(bundled_dir) if a.dashboard in kept})
    if alerts_dir is not None and not (with_bundled and Path(alerts_dir).resolve() == bundled_dir):
        found.update({a.name: a for a in load_alerts(alerts_dir)})  # in the checkout: alerts/ is also bundled
    return list(found.values())
