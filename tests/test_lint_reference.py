"""Lint on real-world dashboards (shared/reference/content beside the checkout): rules fire where the files say they should.

Expectations are derived from each file's JSON with deliberately simple code, not hard-coded counts.
"""

from __future__ import annotations

from tests.reference import CONTENT
import json
import re
from pathlib import Path

import pytest

from airflow_dash.lint import lint_documents
from airflow_dash.lint.sources import load_directory

REFERENCE = CONTENT
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference dashboards not found at {REFERENCE}")

LEGACY_TYPES = {"graph", "singlestat", "table-old", "grafana-singlestat-panel", "grafana-piechart-panel"}


@pytest.fixture(scope="module")
def linted():
    documents = load_directory(REFERENCE)
    report = lint_documents(documents)
    by_source: dict[str, list] = {d.source: [] for d in documents}
    for finding in report.findings:
        by_source[finding.source].append(finding)
    return documents, by_source, report


def _panels(model: dict):
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _titles(findings, rule_id):
    return [f.panel for f in findings if f.rule_id == rule_id]


def test_full_dashboards_are_found_and_extracts_skipped(linted):
    documents, _, _ = linted
    names = {Path(d.source).name for d in documents}
    assert names == {p.name for p in REFERENCE.rglob("*.json") if not p.name.endswith((".panels.json", ".extract.json"))}
    assert len(documents) >= 5


def test_legacy_panel_types_fire_on_each_legacy_panel(linted):
    documents, by_source, _ = linted
    for document in documents:
        legacy = sorted(p.get("title", "") for p in _panels(document.model) if p.get("type") in LEGACY_TYPES)
        assert sorted(_titles(by_source[document.source], "AD505")) == legacy, document.source


def test_legacy_dashboard_fields_fire(linted):
    documents, by_source, _ = linted
    for document in documents:
        present = [k for k in ("rows", "sharedCrosshair", "hideControls", "style") if k in document.model]
        messages = [f.message for f in by_source[document.source] if f.rule_id == "AD506"]
        assert bool(messages) == bool(present), document.source
        for key in present:
            assert key in messages[0]
    assert any(by_source[d.source] and "style" in d.model for d in documents)


def test_missing_uid_fires_only_where_uid_is_missing(linted):
    documents, by_source, _ = linted
    for document in documents:
        fired = any(f.rule_id == "AD507" for f in by_source[document.source])
        assert fired == (not document.model.get("uid")), document.source


def test_missing_units_fire_on_exactly_the_panels_without_one(linted):
    documents, by_source, _ = linted
    for document in documents:
        expected = sorted(
            p.get("title", "") for p in _panels(document.model)
            if p.get("type") not in ("row", "text")
            and not (p.get("fieldConfig", {}).get("defaults", {}).get("unit"))
            and not any(prop.get("id") == "unit" and prop.get("value") for o in p.get("fieldConfig", {}).get("overrides", []) for prop in o.get("properties", []))
        )  # fmt: skip
        assert sorted(_titles(by_source[document.source], "AD504")) == expected, document.source


def test_fixed_rate_ranges_fire(linted):
    documents, by_source, _ = linted
    fixed = re.compile(r"\b(rate|irate|increase)\s*\([^\[\]]*\[\s*\d+[smhdw]\s*\]")
    for document in documents:
        expected = sorted({p.get("title", "") for p in _panels(document.model) for t in p.get("targets", []) if fixed.search(t.get("expr") or "")})
        assert sorted(set(_titles(by_source[document.source], "AD302"))) == expected, document.source
    assert any(_titles(f, "AD302") for f in by_source.values())


def test_flux_ranges_without_the_time_picker_fire(linted):
    documents, by_source, _ = linted
    relative = re.compile(r"range\(\s*start:\s*-")
    for document in documents:
        expected = sorted({p.get("title", "") for p in _panels(document.model) for t in p.get("targets", []) if relative.search(t.get("query") or "")})
        assert sorted(set(_titles(by_source[document.source], "AD401"))) == expected, document.source


def test_datasources_by_name_fire(linted):
    documents, by_source, _ = linted
    for document in documents:
        by_name = sorted({p.get("title", "") for p in _panels(document.model) if isinstance(p.get("datasource"), str) and "$" not in p["datasource"]})
        assert set(by_name) <= set(_titles(by_source[document.source], "AD203")), document.source


def test_rows_with_zero_width_do_not_count_as_out_of_grid(linted):
    # Generated (jsonnet) dashboards give rows w=0; Grafana draws rows full width anyway.
    documents, by_source, _ = linted
    zero_width_rows = [d for d in documents if any(p.get("type") == "row" and p.get("gridPos", {}).get("w") == 0 for p in _panels(d.model))]
    assert zero_width_rows
    for document in zero_width_rows:
        assert not _titles(by_source[document.source], "AD501")


def test_undefined_variables_fire_on_exactly_the_undefined_ones(linted):
    documents, by_source, _ = linted
    for document in documents:
        defined = {v["name"] for v in document.model.get("templating", {}).get("list", [])} | {
            i["name"] for i in document.model.get("__inputs", [])
        }
        texts = json.dumps([[t.get("expr") or t.get("query") or "" for t in p.get("targets", [])] for p in _panels(document.model)])
        used = set(re.findall(r"\$\{?(\w+)", texts))
        undefined = {n for n in used if not n.startswith("__") and n not in ("timeFilter", "interval") and not n.isdigit()} - defined
        reported = {re.search(r"\$(\w+)", f.message).group(1) for f in by_source[document.source] if f.rule_id == "AD201"}
        assert reported == undefined, document.source


def test_reference_directory_lint_fails_with_exit_1(linted):
    _, _, report = linted
    assert report.exit_code == 1
