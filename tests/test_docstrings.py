"""Every public name of the library a dashboard author imports has a docstring with a short example, and every
example runs (doctest), so `help()` and the API reference (`make docs`) show code that works."""

import doctest
import importlib
import inspect

import pytest

# The modules docs/library.md teaches, and the names the package exports.
LIBRARY = [
    "airflow_dash.query.promql", "airflow_dash.query.flux", "airflow_dash.query.influxql", "airflow_dash.query.raw",
    "airflow_dash.query.values", "airflow_dash.catalog", "airflow_dash.catalog.model", "airflow_dash.catalog.dimensions",
    "airflow_dash.catalog.host", "airflow_dash.catalog.docker", "airflow_dash.catalog.airflow", "airflow_dash.panels",
    "airflow_dash.field_config", "airflow_dash.dashboard", "airflow_dash.frozen", "airflow_dash.canonical_query",
]  # fmt: skip
EXPORTED = ["airflow_dash.compile:compile_all", "airflow_dash.compile:compile_dashboard",
            "airflow_dash.compile:CompiledDashboard", "airflow_dash.importing:import_dashboard",
            "airflow_dash.importing:normalized"]  # fmt: skip
# Run as doctests too (examples elsewhere in the package must not rot either).
DOCTESTED = [*LIBRARY, "airflow_dash", "airflow_dash.compile", "airflow_dash.escaping", "airflow_dash.importing",
             "airflow_dash.panel_schema", "airflow_dash.backends", "airflow_dash.validate.flux_fast_path"]  # fmt: skip


def _public(module_name: str):
    module = importlib.import_module(module_name)
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module_name:
            continue
        if inspect.isclass(value) or inspect.isfunction(value):
            yield name, value


def _undocumented() -> list[str]:
    missing = []
    named = [(m, n, v) for m in LIBRARY for n, v in _public(m)]
    for entry in EXPORTED:
        module_name, name = entry.split(":")
        named.append((module_name, name, getattr(importlib.import_module(module_name), name)))
    for module_name, name, value in named:
        doc = inspect.getdoc(value) or ""
        if ">>>" not in doc:
            missing.append(f"{module_name}.{name}: {'no example' if doc else 'no docstring'}")
        if inspect.isclass(value):
            for attribute in vars(value):
                method = getattr(value, attribute)
                if attribute.startswith("_") or not callable(method) or inspect.isclass(method):
                    continue
                if not inspect.getdoc(method):
                    missing.append(f"{module_name}.{name}.{attribute}: no docstring")
    return missing


def test_every_public_name_has_a_docstring_with_an_example():
    assert _undocumented() == []


@pytest.mark.parametrize("module_name", LIBRARY)
def test_every_library_module_says_what_it_holds_with_an_example(module_name):
    doc = inspect.getdoc(importlib.import_module(module_name)) or ""
    assert ">>>" in doc, module_name


@pytest.mark.parametrize("module_name", DOCTESTED)
def test_the_examples_run(module_name):
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_issue_names_show_in_help():
    import pydoc

    from airflow_dash import catalog, panels
    from airflow_dash.query import flux, influxql

    for value, expected in ((influxql.sum, 'sum("value")'), (influxql.last, 'last("value")'), (flux.Call, "Call("),
                            (panels.table, ">>> t = table("), (panels.gauge, ">>> gauge("), (panels.bargauge, ">>> bargauge("),
                            (catalog, ">>> from airflow_dash.catalog import")):  # fmt: skip
        assert expected in pydoc.render_doc(value, renderer=pydoc.plaintext), value
