"""Property tests of `airflow_dash.escaping`: any literal gives a valid query that means exactly that literal.

- PromQL: the real parser (promql-parser) must read back the very label value, and regexes built from
  literals must match exactly that value;
- Flux: the real Flux language server (flux-lsp, one node process per batch) must accept every query;
- InfluxQL: a real InfluxDB 1.x must accept the query and select the point stored with that tag value;
- Grafana: no literal may survive as something Grafana would interpolate.
"""

from __future__ import annotations

import itertools
import re

import promql_parser
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_dash import escaping
from airflow_dash.query import flux, influxql, promql
from airflow_dash.validate import check_flux

# Characters that break naive quoting, plus everything else Unicode offers (surrogates cannot be encoded).
TRICKY = st.sampled_from(list("\"'`\\/$.*+?()[]{}|^-,= \n\t\r#%&<>:;!~@") + ["${x}", "$__interval", "[[y]]", "é", "日本", "\x00", "\x7f"])
LITERALS = st.lists(st.one_of(TRICKY, st.text(st.characters(blacklist_categories=("Cs",)), max_size=4)), max_size=8).map("".join)


def python_pattern(re2_pattern: str) -> str:
    """Our RE2 output in Python's dialect: only `\\x{..}` differs."""
    return re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: re.escape(chr(int(m.group(1), 16))), re2_pattern)


# --- PromQL -------------------------------------------------------------------------------------------------


@given(LITERALS)
@settings(max_examples=400)
def test_promql_label_value_round_trips_through_the_real_parser(value):
    query = str(promql.metric("up", job=value))
    matcher = promql_parser.parse(query).matchers.matchers[0]
    assert matcher.value == value
    assert not escaping.looks_like_grafana_variable(query)


@given(st.lists(LITERALS, min_size=1, max_size=3), LITERALS)
@settings(max_examples=300)
def test_promql_alternatives_match_exactly_the_literals(values, other):
    query = str(promql.metric("up", job=values))
    matcher = promql_parser.parse(query).matchers.matchers[0]
    assert str(matcher.op).endswith("Re")
    pattern = re.compile(python_pattern(matcher.value), re.DOTALL)
    for value in values:
        assert pattern.fullmatch(value)
    assert bool(pattern.fullmatch(other)) == (other in values)
    assert not escaping.looks_like_grafana_variable(query)


@given(LITERALS)
@settings(max_examples=200)
def test_promql_label_replace_literal_regex_is_quoted_for_the_parser(value):
    query = str(promql.label_replace(promql.metric("up"), "dst", value, "src", value))
    promql_parser.parse(query)
    assert not escaping.looks_like_grafana_variable(query)


# --- Flux (one node process per hypothesis example: a batch of queries) ---------------------------------------


@given(st.lists(LITERALS, min_size=1, max_size=25))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_flux_literals_give_queries_the_flux_language_server_accepts(values):
    queries = []
    for value in values:
        query = (
            flux.from_bucket(value or "b")
            .range()
            .filter(measurement=value, field=[value, "x"], **{"host": value})
            .filter(exclude={"path": [value]})
            .keep(["_time", "_value", value])
        )
        queries.append(str(query))
        if value and not value[0].isdigit():
            queries.append(str(flux.from_bucket().range().pipe(flux.Call("filter", (("fn", f"(r) => {escaping.flux_column(value)} == \"a\""),)))))
        assert not escaping.looks_like_grafana_variable(str(query).replace("${", "").replace("$__", ""))
    problems = check_flux(queries)
    assert [p for p in problems if p] == [], queries


def test_flux_string_writes_dollar_as_a_byte_escape():
    assert escaping.flux_string("${x}") == '"\\x24{x}"'
    assert check_flux(['x = "\\x24{x}"\nx']) == [[]]


def test_flux_rejects_an_unescaped_slash_in_a_regex_but_accepts_ours():
    bad = 'from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r.x =~ /a/b/)'
    good = str(flux.from_bucket("b").range(start=flux.Ident("-1h")).filter(x=["a/b"]))
    results = check_flux([bad, good])
    assert results[0] and not results[1]


# --- InfluxQL against a real InfluxDB 1.x ---------------------------------------------------------------------

_measurements = itertools.count()


@pytest.mark.slow
@given(LITERALS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_influxql_tag_conditions_select_exactly_the_stored_tag_value(influxdb_v1, value):
    try:
        tag = escaping.line_protocol_key(value)
    except ValueError:
        assume(False)
    measurement = f"esc_{next(_measurements)}"
    # The stored value and a near miss: only the first may be selected.
    influxdb_v1.write("escaping", [f"{measurement},t={tag} v=1 1000000000", f"{measurement},t={tag}x v=2 1000000000"])
    stored = influxdb_v1.query("escaping", f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "t"')
    stored_values = sorted(v[1] for v in stored["results"][0]["series"][0]["values"])
    assume(value in stored_values)  # line protocol itself may normalise some inputs (e.g. a backslash run)

    for condition in ({"t": value}, {"t": [value]}):
        query = influxql.select(influxql.field("v")).from_(measurement).where(**condition).without_time_filter().interval(None)
        text = str(query)
        assert not escaping.looks_like_grafana_variable(text)
        answer = influxdb_v1.query("escaping", text)
        result = answer["results"][0]
        assert "error" not in result, (text, result)
        assert [row[1] for row in result["series"][0]["values"]] == [1], text


@pytest.mark.slow
@given(LITERALS.filter(bool))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_influxql_identifiers_round_trip_through_a_real_influxdb(influxdb_v1, name):
    try:
        key = escaping.line_protocol_key(name)
        identifier = escaping.influxql_identifier(name)
    except ValueError:
        assume(False)
    measurement = f"ident_{next(_measurements)}"
    influxdb_v1.write("escaping", f"{measurement} {key}=7 1000000000")
    keys = influxdb_v1.query("escaping", f'SHOW FIELD KEYS FROM "{measurement}"')["results"][0]["series"][0]["values"]
    assume([k[0] for k in keys] == [name])
    result = influxdb_v1.query("escaping", f'SELECT {identifier} FROM "{measurement}"')["results"][0]
    assert "error" not in result, result
    assert result["series"][0]["values"][0][1] == 7


# --- Grafana variables -----------------------------------------------------------------------------------------


def test_variables_render_the_way_each_datasource_formats_them():
    host = promql.metric("up", instance=__import__("airflow_dash.query.values", fromlist=["Variable"]).Variable("host"))
    assert str(host) == 'up{instance=~"${host}"}'
    assert escaping.influx_variable_regex("host") == "^${host:regex}$"


@pytest.mark.parametrize("name", ["__interval", "1x", "a-b", ""])
def test_invalid_variable_names_are_rejected(name):
    with pytest.raises(ValueError):
        escaping.grafana_variable(name)


def test_influxql_strings_refuse_what_grafana_would_rewrite_and_builders_fall_back_to_regex():
    with pytest.raises(ValueError):
        escaping.influxql_string("$host")
    text = str(influxql.select(influxql.field("v")).from_("m").where(t="$host"))
    assert '"t" =~ /^(?:[$]host)$/' in text
