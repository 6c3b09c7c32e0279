"""`make docs`: the API reference is generated from the docstrings (pdoc), for every public module."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_docs_writes_the_api_reference(tmp_path):
    result = subprocess.run(["make", "docs", f"OUT={tmp_path}", f"PYTHON={sys.executable}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    docs = tmp_path / "docs"
    assert (docs / "index.html").is_file()
    panels = (docs / "airflow_dash" / "panels.html").read_text()
    for name in ("timeseries", "state_timeline", "RawPanel", "LibraryPanel"):
        assert f'id="{name}"' in panels, name
    influxql = (docs / "airflow_dash" / "query" / "influxql.html").read_text()
    assert 'id="sum"' in influxql and 'id="last"' in influxql
    assert 'id="Call"' in (docs / "airflow_dash" / "query" / "flux.html").read_text()


def test_help_shows_every_builder_function():
    import pydoc

    from airflow_dash.query import flux, influxql

    influxql_help = pydoc.render_doc(influxql, renderer=pydoc.plaintext)
    for name in ("sum(value", "last(value", "percentile(", "non_negative_derivative(", "raw("):
        assert name in influxql_help, name
    flux_help = pydoc.render_doc(flux, renderer=pydoc.plaintext)
    assert "class Call" in flux_help and "raw(text" in flux_help


def test_every_public_name_of_the_panel_and_dashboard_modules_has_a_docstring():
    import inspect

    from airflow_dash import dashboard, field_config, panels

    missing = []
    for module in (panels, field_config, dashboard):
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            doc = inspect.getdoc(value) or ""
            if not doc:
                missing.append(f"{module.__name__}.{name}")
    assert missing == []
