"""Types users can lean on: `mypy --strict` is clean on the library layers a dashboard author imports
(query builders, catalog model, panels, field config, dashboards, backends, compile) and on the README's and
the guide's examples, seen from outside the package (through `py.typed` and the package's exports)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY_MODULES = [
    "airflow_dash/__init__.py", "airflow_dash/escaping.py", "airflow_dash/query",
    "airflow_dash/panels.py", "airflow_dash/field_config.py", "airflow_dash/panel_schema.py",
    "airflow_dash/dashboard.py", "airflow_dash/backends.py", "airflow_dash/compile.py", "airflow_dash/layout.py",
    "airflow_dash/lint", "airflow_dash/alerts.py", "airflow_dash/alert_rules", "airflow_dash/schemas",
    "airflow_dash/discovery.py", "airflow_dash/settings.py", "airflow_dash/scrub.py", "airflow_dash/cli.py",
    "airflow_dash/collectors", "airflow_dash/grafana", "airflow_dash/commands", "airflow_dash/live",
    "airflow_dash/validate", "airflow_dash/build.py", "airflow_dash/preview", "airflow_dash/frozen.py",
    "airflow_dash/catalog", "airflow_dash/importing.py", "airflow_dash/canonical_query.py", "dashboards", "alerts",
]  # fmt: skip

pytest.importorskip("mypy", reason="mypy is a test extra: pip install -e '.[test]'")


def mypy(*targets: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
         "--cache-dir=/dev/null", *targets],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_py_typed_ships():
    assert (ROOT / "airflow_dash" / "py.typed").is_file()
    assert "py.typed" in (ROOT / "pyproject.toml").read_text()


def test_library_layers_pass_mypy_strict():
    result = mypy(*LIBRARY_MODULES, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:]


def test_readme_and_guide_examples_pass_mypy_strict(tmp_path):
    examples = []
    for document in ("README.md", "docs/library.md"):
        blocks = re.findall(r"```python\n(.*?)```", (ROOT / document).read_text(), re.DOTALL)
        if document == "docs/library.md":
            blocks = ["\n".join(blocks)]  # the guide's blocks build on each other
        examples += blocks
    for index, code in enumerate(examples):
        (tmp_path / f"example_{index}.py").write_text(code)
    result = mypy(*sorted(str(p) for p in tmp_path.glob("example_*.py")), cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:]


def test_exports_are_visible_to_type_checkers(tmp_path):
    (tmp_path / "uses_exports.py").write_text(
        "from airflow_dash import Dashboard, Row, Signal, timeseries\n"
        "from airflow_dash.query import promql as P\n"
        "s = Signal(key='k', title='t', unit='short', description='d', prometheus=lambda scope: scope.metric('up'))\n"
        "d: Dashboard = Dashboard(key='k', title='T', rows=[Row('r', [timeseries('x', s)])])\n"
        "reveal_type(timeseries)\n"
    )
    result = mypy(str(tmp_path / "uses_exports.py"), cwd=ROOT)
    assert result.returncode == 0, result.stdout
    assert "-> airflow_dash.panels.Panel" in result.stdout  # not Any: the real signature


def test_type_checking_exports_match_the_lazy_ones():
    import ast

    import airflow_dash

    tree = ast.parse((ROOT / "airflow_dash" / "__init__.py").read_text())
    seen = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names if alias.asname}
    assert seen == set(airflow_dash.__all__)
