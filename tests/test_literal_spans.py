"""`string_and_regex_spans` (which every checker and the canonical query form use) jumps from one character
that matters to the next; it finds the spans the character-by-character scan it replaced found.

The reference below is that scan, verbatim. Compared over generated texts made of what the scan reacts to:
every quote, backslashes, `/` (regex or division), `//` and `#` comments, variable references (`$x`, `${x}`,
`${x:fmt}`, `[[x]]`, some holding quotes or slashes), line breaks, unterminated literals.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.validate.flux_slash import regex_may_open as flux_regex_allowed
from airflow_dash.validate.grafana_vars import find_variable_refs, string_and_regex_spans


def reference_spans(text, quotes, regex_allowed=None, line_comment=None):
    """The scan before it jumped (grafana_vars at 3d0e45b)."""
    refs = {ref.start: ref.end for ref in find_variable_refs(text)}
    spans = []
    i = 0
    while i < len(text):
        char = text[i]
        if line_comment and text.startswith(line_comment, i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        opener = char if char in quotes else None
        if opener is None and char == "/" and regex_allowed is not None and regex_allowed(text[:i]):
            opener = "/"
        if opener is None:
            i = refs.get(i, i + 1)
            continue
        j = i + 1
        while j < len(text) and text[j] != opener:
            if j in refs:
                j = refs[j]
                continue
            j += 2 if text[j] == "\\" and opener != "`" else 1
        spans.append((i, min(j + 1, len(text)), opener))
        i = j + 1
    return spans


PIECES = ['"', "'", "`", "\\", "\\\\", '\\"', "/", "//", "#", "\n", " ", "=~ ", "(", ",", "a", "r._value", "x/y",
          "$host", "${host}", "${host:regex}", "${a:'q'}", "${b:/x/}", "[[dc]]", "$__interval", "${__from:date}",
          "$", "${", "[[", "]]", "}", "and ", "return "]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text(max_size=30)
SETTINGS = [("\"'`", None, "#"), ('"', flux_regex_allowed, "//"),
            ("\"'", lambda before: True, None), ("'", None, None), ("", lambda before: True, "--"), ("", None, None)]


@settings(max_examples=3000, deadline=None)
@given(text=texts, setting=st.sampled_from(SETTINGS))
def test_spans_are_the_character_scans(text, setting):
    quotes, regex_allowed, comment = setting
    assert string_and_regex_spans(text, quotes, regex_allowed, comment) == reference_spans(
        text, quotes, regex_allowed, comment)


def test_a_few_spans_by_hand():
    text = 'r.host =~ /^${host:regex}$/ and r.x == "a\\"${b}" // "not a string"\n"tail'
    assert string_and_regex_spans(text, '"', flux_regex_allowed, "//") == [
        (10, 27, "/"), (39, 48, '"'), (67, 72, '"')]
