"""Compile's fast serialization gives the bytes the old one did.

`canonical_json` (orjson) is checked against `reference_canonical_json` (the standard library's encoder, the
definition), and `plain_json_data` against the JSON round trip it replaced, over the bundled dashboards for
every backend, generated dashboards with every panel kind, and arbitrary JSON values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grafanalib._gen import DashboardEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash import compile as compile_module
from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import docker, host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.compile import canonical_json, compile_all, plain_json_data, reference_canonical_json
from airflow_dash.dashboard import Dashboard, DimensionVariable
from airflow_dash.discovery import load_dashboards
from airflow_dash.panels import Row, bargauge, gauge, stat, table, text, thresholds, timeseries

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"


def reference_round_trip(value):
    """What compile did per panel before `plain_json_data`."""
    return json.loads(json.dumps(value, cls=DashboardEncoder))


def generated_dashboards() -> list[Dashboard]:
    """Every panel kind, thresholds that need the careful float path, and text beyond ASCII."""
    tiny = thresholds("green", (2.5e-07, "orange"), (1e-05, "red"))
    return [
        Dashboard(
            key=f"gen-{i}",
            title=f"Généré {i} — ünïcode «quotes» \"and\" \\ back\tslash",
            variables=[DimensionVariable(HOST)],
            rows=[
                Row("Now", [stat("CPU", host.cpu_busy, thresholds=tiny), gauge("Memory", host.memory_used, max=1e-4 * i),
                            bargauge("Disk", host.cpu_busy, min=0.5, decimals=2)]),
                Row("Detail", [timeseries(f"CPU {i}", host.cpu_busy, stacked=bool(i % 2), legend_calcs=("mean", "max")),
                               table("Containers", docker.cpu_usage), text("Notes", "**bold** ✓ \u2028 line")],
                    collapsed=bool(i % 3)),
            ],
        )
        for i in range(12)
    ]


def all_compiled():
    dashboards = load_dashboards(DASHBOARDS_DIR) + generated_dashboards()
    return compile_all(dashboards, list(BACKENDS))


def test_canonical_json_matches_the_reference_encoder_on_bundled_and_generated_dashboards():
    compiled = all_compiled()
    assert len({c.backend for c in compiled}) == len(BACKENDS)
    for dashboard in compiled:
        assert dashboard.to_json() == reference_canonical_json(dashboard.model), dashboard.uid


def test_compile_without_the_round_trip_gives_the_same_bytes(monkeypatch):
    fast = [c.to_json() for c in all_compiled()]
    monkeypatch.setattr(compile_module, "plain_json_data", reference_round_trip)
    monkeypatch.setattr(compile_module, "canonical_json", reference_canonical_json)
    reference = [reference_canonical_json(c.model) for c in all_compiled()]
    assert fast == reference


def test_every_bundled_and_generated_panel_converts_like_the_round_trip():
    panels = [p for d in load_dashboards(DASHBOARDS_DIR) + generated_dashboards() for r in d.rows for p in r.panels]
    assert {p.type for p in panels} >= {"timeseries", "stat", "gauge", "bargauge", "table", "text"}
    for panel in panels:
        data = compile_module._grafanalib_panel(panel).to_json_data()
        assert plain_json_data(data) == reference_round_trip(data), panel.title


# Values json.dumps can encode: every float but NaN and infinities (compile refuses those, see below),
# ints of any size, any text including lone surrogates, and keys that are not strings.
_scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(codec=None, categories=None))
)  # fmt: skip
_keys = st.text(st.characters(codec=None, categories=None)) | st.text(max_size=3)
_json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)


def _outcome(function, value):
    try:
        return function(value)
    except (TypeError, ValueError, UnicodeError) as error:
        return type(error)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_canonical_json_matches_the_reference_on_any_json_value(value):
    assert canonical_json(value) == reference_canonical_json(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers() | st.floats() | st.booleans() | st.none(), _scalars, max_size=4))
def test_keys_that_are_not_strings_convert_like_the_round_trip_and_encode_like_the_reference(value):
    assert plain_json_data(value) == reference_round_trip(value) or value != value  # NaN keys compare unequal
    assert _outcome(canonical_json, value) == _outcome(reference_canonical_json, value)


@settings(max_examples=200, deadline=None)
@given(st.recursive(_scalars, lambda c: st.lists(c, max_size=3).map(tuple) | st.lists(c, max_size=3)
                    | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=15))
def test_tuples_and_nesting_convert_like_the_round_trip(value):
    assert plain_json_data(value) == reference_round_trip(value)


def test_objects_json_cannot_encode_are_refused_by_both_encoders():
    for value in ({"a": object()}, {"a": {1, 2}}, {"a": Path("x")}, {(1, 2): "tuple key"}):
        assert _outcome(canonical_json, value) is TypeError
        assert _outcome(reference_canonical_json, value) is TypeError
        assert _outcome(plain_json_data, value) is TypeError
        assert _outcome(reference_round_trip, value) is TypeError


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_number_is_a_definition_error_not_invalid_json(value):
    dashboard = Dashboard(key="nan", title="NaN", rows=[Row("r", [stat("CPU", host.cpu_busy, max=value)])])
    with pytest.raises(ValueError, match="finite number"):
        compile_all([dashboard], ["prometheus"])
