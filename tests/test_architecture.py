"""Layers point one way: query builders → metric catalog → panels → dashboards → compile → publish → cli.

Each package-level module gets a rank; a module may import only from its own rank or lower ones. This reads
the real import statements of every module (including imports inside functions), so a shortcut upward fails.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_dash"

RANKS = {
    "airflow_dash": 0, "airflow_dash.errors": 0, "airflow_dash.escaping": 0, "airflow_dash.scrub": 0, "airflow_dash.frozen": 0,
    "airflow_dash.schemas": 0, "airflow_dash.fast_json": 0, "airflow_dash.fast_yaml": 0, "airflow_dash.gc_pause": 0,
    "airflow_dash.query": 1,
    "airflow_dash.catalog": 2,
    "airflow_dash.backends": 3, "airflow_dash.panel_schema": 3, "airflow_dash._panel_schema_data": 0,
    "airflow_dash.field_config": 4,
    "airflow_dash.panels": 4,
    "airflow_dash.dashboard": 5, "airflow_dash.alerts": 5,
    "airflow_dash.layout": 6, "airflow_dash.compile": 6, "airflow_dash.alert_rules": 6, "airflow_dash.validate": 6, "airflow_dash.collectors": 6,
    "airflow_dash.discovery": 7, "airflow_dash.build": 7, "airflow_dash.build_cache": 7, "airflow_dash.importing": 7, "airflow_dash.canonical_query": 7, "airflow_dash.live": 7,
    "airflow_dash.grafana": 8, "airflow_dash.settings": 8, "airflow_dash.lint": 8, "airflow_dash.preview": 8,
    "airflow_dash.testing": 8, "airflow_dash.scaffold": 8,
    "airflow_dash.commands": 9, "airflow_dash.cli": 9,
    "airflow_dash.bundled": 5,  # the top-level dashboards/, shipped as this package
    "airflow_dash.bundled_alerts": 5,  # the top-level alerts/, likewise
}  # fmt: skip


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow_dash"):
            # `from airflow_dash import escaping` imports the escaping module, not the package
            yield from (f"{node.module}.{a.name}" if node.module == "airflow_dash" else node.module for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("airflow_dash"))


def test_every_module_has_a_layer():
    modules = {_layer(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert modules - {"airflow_dash.__init__"} <= set(RANKS), modules - set(RANKS)


def test_imports_only_point_down():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        module = _layer(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        if module == "airflow_dash.__init__":
            continue  # the package's lazy re-exports
        for imported in _imports(path):
            target = _layer(imported)
            if RANKS[target] > RANKS[module]:
                upward.append(f"{path.relative_to(PACKAGE.parent)} imports {imported}")
    assert upward == []


def test_dashboards_never_name_a_backend():
    """Dashboards and alerts hold signals; only airflow_dash.backends knows backends (no branching on names)."""
    definitions = [*(PACKAGE.parent / "dashboards").glob("*.py"), *(PACKAGE.parent / "alerts").glob("*.py"),
                   PACKAGE / "alerts.py"]
    assert len(definitions) > 5
    for path in definitions:
        imported = set(_imports(path))
        assert not {i for i in imported if _layer(i) in ("airflow_dash.backends", "airflow_dash.compile",
                                                         "airflow_dash.alert_rules")}, path
        code = ast.unparse(ast.parse(path.read_text()))  # comments and docstrings aside, strings still count
        tree = ast.parse(code)
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not literals & {"prometheus", "flux", "influxql"}, path
