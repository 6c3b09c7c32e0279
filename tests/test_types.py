"""Types users can lean on: `mypy --strict` is clean on the whole package (query builders, catalog, panels,
dashboards, compile, lint, the Grafana client, publish, the commands, the emulator, the bundled dashboards and
alerts) and on the README's and the guide's examples, seen from outside the package (through `py.typed` and
the package's exports); and the check fails when a type error comes in.

mypy keeps its incremental cache in `.mypy_cache/` at the repository root (its default, git-ignored): the first
run in a checkout analyses everything (about 10 s, 20 s on a loaded machine), later runs only what changed.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reference import CONTENT, needs_reference

ROOT = Path(__file__).resolve().parent.parent
# dashboards/ and alerts/ ship as airflow_dash.bundled and airflow_dash.bundled_alerts (setup.py).
PACKAGE = ("airflow_dash", "dashboards", "alerts")
CACHE = ROOT / ".mypy_cache"
REFERENCE_DASHBOARDS = ("databand-airflow-dashboards/cluster-dashboard.json",
                        "databand-airflow-dashboards/dag-dashboard.json", "airflow-mixin/apache-airflow-overview.json")
STUBS = ("types-PyYAML", "types-requests", "types-jsonschema")  # test extras, for yaml, requests, jsonschema

pytest.importorskip("mypy", reason="mypy is a test extra: pip install -e '.[test]'")


def mypy(*args: str, cache_dir: Path = CACHE, as_user: bool = False) -> subprocess.CompletedProcess[str]:
    """`mypy --strict ARGS` in the checkout; `as_user`: without this project's [tool.mypy] settings, as a team's
    dashboards repository would check its code against the installed package."""
    missing = []
    for name in STUBS:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        pytest.fail(f"stub packages {', '.join(missing)} are missing: pip install -e '.[test]'")
    config = ["--config-file", os.devnull] if as_user else []  # an empty configuration
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={cache_dir}", *config, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def examples(tmp_path: Path) -> list[str]:
    """The README's Python blocks, one file each, and the guide's as one file (its blocks build on each other)."""
    found = []
    for document in ("README.md", "docs/library.md"):
        blocks = re.findall(r"```python\n(.*?)```", (ROOT / document).read_text(), re.DOTALL)
        if document == "docs/library.md":
            blocks = ["\n".join(blocks)]
        found += blocks
    assert len(found) >= 2
    paths = []
    for index, code in enumerate(found):
        path = tmp_path / f"example_{index}.py"
        path.write_text(code)
        paths.append(str(path))
    return paths


def package_files() -> list[Path]:
    return [path for top in PACKAGE for path in (ROOT / top).rglob("*.py")]


def test_py_typed_ships():
    assert (ROOT / "airflow_dash" / "py.typed").is_file()
    assert "py.typed" in (ROOT / "pyproject.toml").read_text()


def test_the_whole_package_passes_mypy_strict():
    result = mypy(*PACKAGE)
    assert result.returncode == 0, result.stdout[-4000:]
    # Every module was checked: nothing excluded or skipped.
    assert f"no issues found in {len(package_files())} source files" in result.stdout


def test_readme_and_guide_examples_pass_mypy_strict(tmp_path):
    # Silent: the package's own errors are the test above's; here only the examples' are reported.
    result = mypy("--follow-imports=silent", *examples(tmp_path), as_user=True)
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_checks_fail_on_a_type_error(tmp_path):
    """A module of the package with an untyped function and a wrong assignment, and an example passing a
    number where a signal goes: both checks report them (a copy of the cache, so the real one stays clean)."""
    cache = tmp_path / "cache"
    if CACHE.is_dir():
        shutil.copytree(CACHE, cache)
    module = ROOT / "airflow_dash" / "commands" / "collectors.py"  # imported by no other module: little to recheck
    shadow = tmp_path / "collectors.py"
    shadow.write_text(module.read_text() + "\n\ndef untyped(value):\n    return value\n\n\nWRONG: int = 'text'\n")
    result = mypy("--shadow-file", str(module), str(shadow), *PACKAGE, cache_dir=cache)
    assert result.returncode == 1, result.stdout[-4000:]
    assert re.search(r"airflow_dash/commands/collectors\.py:\d+: error: .*\[no-untyped-def\]", result.stdout), result.stdout
    assert re.search(r"airflow_dash/commands/collectors\.py:\d+: error: .*\[assignment\]", result.stdout), result.stdout

    bad = tmp_path / "bad_example.py"
    bad.write_text("from airflow_dash import timeseries\n\npanel = timeseries('CPU', 5)\n")
    result = mypy("--follow-imports=silent", str(bad), cache_dir=cache, as_user=True)
    assert result.returncode == 1 and "bad_example.py:3: error:" in result.stdout, result.stdout
    assert "[arg-type]" in result.stdout, result.stdout


def _imported_modules(tmp_path: Path, models: list[tuple[str, dict[str, Any]]]) -> list[str]:
    from airflow_dash.importing import import_dashboard

    paths = []
    for name, model in models:
        path = tmp_path / f"{re.sub(r'[^a-z0-9]+', '_', name.lower())}.py"
        path.write_text(import_dashboard(model).source)
        paths.append(str(path))
    return paths


def test_modules_written_by_import_pass_mypy_strict(tmp_path):
    """What `airflow-dash import` writes into a team's dashboards/ type-checks like hand-written code: every
    bundled dashboard, compiled for each backend (catalog signals, raw queries), imported back."""
    from airflow_dash.compile import compile_all
    from airflow_dash.discovery import bundled_directory, load_dashboards

    compiled = compile_all(load_dashboards(bundled_directory()))
    paths = _imported_modules(tmp_path, [(f"{c.name}_{c.backend}", c.model) for c in compiled])
    result = mypy("--follow-imports=silent", *paths, as_user=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"no issues found in {len(paths)} source files" in result.stdout


@needs_reference(*REFERENCE_DASHBOARDS)
def test_modules_imported_from_the_reference_dashboards_pass_mypy_strict(tmp_path):
    """Third-party dashboards: raw panels, raw targets and variables as the importer writes them."""
    models = [(name, json.loads((CONTENT / name).read_text())) for name in REFERENCE_DASHBOARDS]
    result = mypy("--follow-imports=silent", *_imported_modules(tmp_path, models), as_user=True)
    assert result.returncode == 0, result.stdout[-4000:]


def test_exports_are_visible_to_type_checkers(tmp_path):
    (tmp_path / "uses_exports.py").write_text(
        "from airflow_dash import Dashboard, Row, Signal, timeseries\n"
        "from airflow_dash.query import promql as P\n"
        "s = Signal(key='k', title='t', unit='short', description='d', prometheus=lambda scope: scope.metric('up'))\n"
        "d: Dashboard = Dashboard(key='k', title='T', rows=[Row('r', [timeseries('x', s)])])\n"
        "reveal_type(timeseries)\n"
    )
    result = mypy("--follow-imports=silent", str(tmp_path / "uses_exports.py"), as_user=True)
    assert result.returncode == 0, result.stdout
    assert "-> airflow_dash.panels.Panel" in result.stdout  # not Any: the real signature


def test_type_checking_exports_match_the_lazy_ones():
    import ast

    import airflow_dash

    tree = ast.parse((ROOT / "airflow_dash" / "__init__.py").read_text())
    seen = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names if alias.asname}
    assert seen == set(airflow_dash.__all__)
