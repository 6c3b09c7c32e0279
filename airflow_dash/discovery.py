"""Find the dashboard modules in a directory (default `dashboards/`) and load their `Dashboard` objects.

A module defines `dashboard = Dashboard(...)` or `dashboards = [...]`. Modules are loaded by path under a
private package name, so a user's `dashboards/` needs no `__init__.py` and cannot shadow real modules.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Sequence

from airflow_dash.dashboard import Dashboard
from airflow_dash.errors import UserError

_PACKAGE = "_airflow_dash_dashboards"


def _load_module(path: Path):
    name = f"{_PACKAGE}.{path.stem}"
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
        raise UserError(f"{where}: dashboard module failed to import: {type(exc).__name__}: {message}") from exc
    return module


def load_dashboards(directory: Path | str = "dashboards") -> list[Dashboard]:
    """Every dashboard defined in `directory`, sorted by key; keys must be unique."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"dashboards directory not found: {directory}")
    found: dict[str, tuple[Dashboard, Path]] = {}
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = _load_module(path)
        items = list(getattr(module, "dashboards", []))
        if hasattr(module, "dashboard"):
            items.append(module.dashboard)
        for item in items:
            if not isinstance(item, Dashboard):
                raise UserError(f"{path}: `dashboard(s)` must hold airflow_dash.Dashboard objects, got {type(item).__name__}")
            if item.key in found:
                raise UserError(f"{path}: dashboard key {item.key!r} is already defined in {found[item.key][1]}")
            found[item.key] = (item, path)
    return [found[key][0] for key in sorted(found)]


def select_dashboards(dashboards: Sequence[Dashboard], names: Sequence[str]) -> list[Dashboard]:
    """The dashboards named (all when none); an unknown name is a UserError listing the known ones."""
    if not names:
        return list(dashboards)
    by_key = {d.key: d for d in dashboards}
    unknown = [n for n in names if n not in by_key]
    if unknown:
        raise UserError(f"unknown dashboard {', '.join(map(repr, unknown))} (known: {', '.join(sorted(by_key)) or 'none'})")
    return [by_key[n] for n in dict.fromkeys(names)]
