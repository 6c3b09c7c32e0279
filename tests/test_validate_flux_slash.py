"""Flux's regex-or-division decision (airflow_dash.validate.flux_slash) is one rule, by the previous token,
shared by the variable substitution (substitute_flux, via regex_may_open on the text before a `/`) and the
fast path's tokenizer (flux_shape, token by token): names ending in "and"/"or" divide, keywords such as
`then` and `exists` take a regex, and a comment ending the line before a `/` is not its previous token."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from airflow_dash.validate import check_flux
from airflow_dash.validate.flux import substitute_flux
from airflow_dash.validate.flux_fast_path import flux_shape
from airflow_dash.validate.flux_slash import regex_may_open
from airflow_dash.validate.grafana_vars import string_and_regex_spans

START = 'from(bucket: "b") |> range(start: -1h)'
# A division after a name ending in "and" / "or", then a variable outside any literal: it must stay code.
WINDOW = " |> aggregateWindow(every: $__interval, fn: mean)"
BAND = START + " |> map(fn: (r) => ({r with band: r.band / 2.0}))" + WINDOW
COLOR = START + " |> map(fn: (r) => ({r with _value: r.color / 2.0}))" + WINDOW.replace("$__interval", "${__interval}")
# The line before the `/` ends in a comment whose last character would open a regex.
COMMENT = START + " |> map(fn: (r) => ({r with _value: r._value // to KiB:\n    / 1024.0}))\n " + WINDOW


@pytest.mark.parametrize("query", [BAND, COLOR, COMMENT])
def test_a_division_after_a_name_keeps_the_variables_after_it_code(query):
    assert "every: 1m," in substitute_flux(query).text


def test_a_regex_after_a_keyword_holds_its_variables():
    query = START + ' |> filter(fn: (r) => if r.a == "1" then r.host =~ /^$host$/ else exists r.b)'
    assert "/^x$/" in substitute_flux(query).text
    assert "then r.host =~ /^x$/" in substitute_flux(query.replace("=~ /", "=~\n  /")).text.replace("\n  ", " ")
    assert '=> /x/' in substitute_flux('f = (r) => /$v/').text
    assert 'then /x/ else /x/' in substitute_flux('x = if true then /$a/ else /$b/').text


def test_the_previous_token_by_hand():
    opens = ["", "x =~ ", "x, ", "(", "x and ", "x or\n", "if a then ", "else ", "exists ", "(r) => ", "x + ",
             "return "]
    divides = ["r.band ", "r.color", "x2 ", "5m ", "2.0", '"a" ', "/a/ ", ") ", "] ", "} ", "$and ", "${x} ", "[[x]] ",
               "with ", "empty ", "x // a:\n", "x // a:\n// b (\n  ", 'x == "a//b" // c,\n']
    assert [b for b in opens if not regex_may_open(b)] == []
    assert [b for b in divides if regex_may_open(b)] == []
    assert regex_may_open('x = "http://a" and\n') and regex_may_open("x = 1 +\n// note\n")


# Token by token (no comments, backslashes or `${`: texts the fast path takes), both readings of every `/`
# must agree: the strings flux_shape replaces are the "..." spans found with regex_may_open, no more, no less.
PIECES = [" ", "\n", "band", "color", "x", "and", "or", "not", "then", "else", "exists", "with", "2", "1h", '"a"',
          '"b/c"', "/", "/a/", "/^b$/", "(", ")", "{", "}", "+", "=~", "=", "==", ",", "|>", "=>"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map(" ".join))
def test_the_fast_path_and_the_substitution_read_slashes_alike(text):
    assume("//" not in text)
    shape = flux_shape(text)
    assume(shape is not None)
    assume(not any(a == b == "/" for a, b in zip(text.split(), text.split()[1:])))  # division then regex
    spans = [s for s in string_and_regex_spans(text, '"', regex_may_open, "//") if s[2] == '"']
    expected = text
    for start, end, _ in reversed(spans):
        expected = expected[:start] + '"s"' + expected[end:]
    assert shape == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make setup)")
def test_the_flux_checker_passes_the_divisions():
    assert [[p.message for p in problems] for problems in check_flux([BAND, COLOR, COMMENT])] == [[], [], []]
