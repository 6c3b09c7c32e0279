"""Turn command-line arguments into dashboards to lint: JSON files, directories of them, or bundled names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, overload

from airflow_dash.discovery import SourceLike, as_source
from airflow_dash.errors import UserError
from airflow_dash.lint.model import DashboardDocument

EXTRACT_SUFFIXES = (".panels.json", ".extract.json")


def _dashboard_model(data: object) -> dict[str, Any] | None:
    """The dashboard inside `data`: itself, or the `dashboard` of a Grafana API export; None if neither."""
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    if isinstance(data, dict) and ("panels" in data or "rows" in data) and ("title" in data or "uid" in data):
        return data
    return None


@overload
def load_file(path: Path, strict: Literal[True] = True) -> DashboardDocument: ...
@overload
def load_file(path: Path, strict: bool) -> DashboardDocument | None: ...
def load_file(path: Path, strict: bool = True) -> DashboardDocument | None:
    """A dashboard JSON file; with `strict`, anything else is a UserError (directories skip such files)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if strict:
            raise UserError(f"{path}: not a readable JSON file: {exc}") from exc
        return None
    model = _dashboard_model(data)
    if model is None:
        if strict:
            raise UserError(f"{path}: not a Grafana dashboard (no panels/rows)")
        return None
    return DashboardDocument(str(path), str(model.get("title") or path.stem), model)


def load_directory(directory: Path) -> list[DashboardDocument]:
    """Every dashboard JSON under `directory` (our condensed `*.panels.json` extracts are not dashboards)."""
    files = sorted(p for p in directory.rglob("*.json") if p.is_file() and not p.name.endswith(EXTRACT_SUFFIXES))
    return [doc for doc in (load_file(p, strict=False) for p in files) if doc is not None]


def _shown(path: Path) -> str:
    """Relative to the working directory when under it, so annotations land on the file a pull request changed."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def compiled_documents(names: Sequence[str], backends: Sequence[str], dashboards_dir: SourceLike,
                       datasource_uids: Mapping[str, str] | None = None,
                       datasource_regexes: Mapping[str, str] | None = None) -> list[DashboardDocument]:
    from airflow_dash.build import compile_dashboards

    source = as_source(dashboards_dir)
    found = source.load_with_paths()
    compiled = compile_dashboards(list(names) or None, list(backends) or None, source, datasource_uids,
                                  datasource_regexes, loaded=[dashboard for dashboard, _ in found.values()])
    return [
        DashboardDocument(
            _shown(found[c.name][1]),
            f"{c.name} [{c.backend}]",
            c.model,
            frozenset((q.panel, q.ref_id) for q in c.queries if q.raw),
        )
        for c in compiled
    ]


def _dashboards_defined_in(path: Path, dashboards_dir: SourceLike) -> list[str]:
    """The keys of the dashboards a dashboards module (or a directory of them) defines: `lint
    dashboards/team.py` lints what that module builds, compiled like any named dashboard."""
    target = path.resolve()
    found = as_source(dashboards_dir).load_with_paths()
    keys = [key for key, (_, where) in found.items() if target in (where.resolve(), where.resolve().parent)]
    if not keys:
        raise UserError(f"{path}: defines none of the dashboards airflow-dash reads (from the dashboards_dir "
                        "setting and the bundled ones); lint takes dashboard names, modules of those, or JSON files")
    return keys


def collect_documents(
    arguments: Sequence[str], backends: Sequence[str] = (), dashboards_dir: SourceLike = "dashboards",
    datasource_uids: Mapping[str, str] | None = None, datasource_regexes: Mapping[str, str] | None = None,
) -> list[DashboardDocument]:
    """Existing paths are files/directories of JSON; other arguments are dashboard names (`dashboards_dir`:
    a directory or a DashboardSource).

    No arguments: every dashboard of the source. Names are compiled in one go so links resolve.
    """
    documents: list[DashboardDocument] = []
    names: list[str] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = load_directory(path)
            if not found and any(path.glob("*.py")):
                names.extend(_dashboards_defined_in(path, dashboards_dir))
                continue
            if not found:
                raise UserError(f"{path}: no dashboard JSON files found")
            documents.extend(found)
        elif path.is_file() and path.suffix == ".py":
            names.extend(_dashboards_defined_in(path, dashboards_dir))
        elif path.is_file():
            documents.append(load_file(path))
        elif "/" in argument or argument.endswith(".json"):
            raise UserError(f"{argument}: no such file or directory")
        else:
            names.append(argument)
    if names or not arguments:
        documents = compiled_documents(names, backends, dashboards_dir, datasource_uids, datasource_regexes) + documents
    return documents
