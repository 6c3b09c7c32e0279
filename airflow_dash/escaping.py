"""The one place where literal values and Grafana variables become query text.

Every query builder (PromQL, Flux, InfluxQL) renders strings, identifiers, regular expressions and variable
references through this module and nowhere else, so the rules can be property-tested in one place
(tests/test_escaping.py): whatever characters a label value, tag value or measurement name holds, the query
means exactly that literal.

Two layers must be respected:
1. the query language's own quoting (PromQL/Go strings, Flux strings and /regex/ literals, InfluxQL
   "identifiers", 'strings' and /regex/ literals);
2. Grafana, which rewrites `$name`, `${name...}` and `[[name]]` in the query text before the datasource sees it.
   A literal `$` that could look like a variable is therefore written as a hex escape where the language has
   one (`\\x24`), so Grafana leaves it alone and the datasource still reads a `$`.

All three backends use Go's RE2 regexp engine, so one regex escaper serves them all.
"""

from __future__ import annotations

import re

# Go's regexp.QuoteMeta set: escaping anything else with a backslash is an error in RE2 for letters.
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")

# What Grafana's template service rewrites: $name, ${name...}, [[name]] / [[name:format]].
_GRAFANA_VARIABLE = re.compile(r"\$\w|\$\{\w|\[\[\w+?(?::\w+)?\]\]")


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F


def regex_escape(value: str) -> str:
    """An RE2 pattern matching exactly `value` (like Go's regexp.QuoteMeta, plus printable output).

    Control characters become `\\xHH` so the pattern never contains a raw newline (which would end a
    Flux or InfluxQL /regex/ literal), and `$` becomes `[$]` so Grafana cannot mistake it for a variable.
    """
    out = []
    for char in value:
        if char == "$":
            out.append("[$]")  # a class, not `\\$`: Grafana would still see `$name` after a backslash
        elif _is_control(char):
            out.append(f"\\x{ord(char):02x}")  # not \\x{..}: Flux regex literals only take two hex digits
        elif char in _RE2_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def anchored(pattern: str) -> str:
    """Anchor a pattern for engines that match substrings (InfluxDB, Flux); PromQL anchors by itself.

    A hand-written `Regex` means the same on every backend: the whole value must match, as in PromQL.
    A pattern that already anchors its whole body (`^(a|b)$`, `^eth0$`) is left as written.

    >>> anchored("etl_.*"), anchored("^(sd[a-z]+|vd[a-z]+)$")
    ('^(?:etl_.*)$', '^(sd[a-z]+|vd[a-z]+)$')
    """
    return pattern if is_anchored(pattern) else f"^(?:{pattern})$"


def is_anchored(pattern: str) -> bool:
    """True when `pattern` is `^body$` with no top-level `|` in body (so both anchors bind all of it)."""
    if not (pattern.startswith("^") and pattern.endswith("$")) or len(pattern) < 2:
        return False
    body = pattern[1:-1]
    depth, in_class, index = 0, False, 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            if index == len(body) - 1:
                return False  # the final `$` is escaped: not an anchor
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if body[index + 1 : index + 2] == "]":
                index += 1  # `[]...]`: a literal ] first in a class
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return False
        index += 1
    return depth == 0 and not in_class


def looks_like_grafana_variable(text: str) -> bool:
    """True when Grafana would try to interpolate part of `text`."""
    return bool(_GRAFANA_VARIABLE.search(text))


def _hex_escaped(value: str, short_escapes: dict[str, str]) -> str:
    """Body of a Go-style string (PromQL and Flux share the rules) that Grafana cannot rewrite.

    `$` and the first `[` of `[[` become byte escapes; control characters too, so the text stays printable.
    """
    out = []
    for index, char in enumerate(value):
        if char in short_escapes:
            out.append(short_escapes[char])
        elif char == "$" or _is_control(char) or (char == "[" and value[index + 1 : index + 2] == "["):
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


# --- PromQL -------------------------------------------------------------------------------------------------

_GO_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def promql_string(value: str) -> str:
    """A double-quoted PromQL string literal (Go escaping) holding exactly `value`."""
    return '"' + _hex_escaped(value, _GO_SHORT_ESCAPES) + '"'


_PROMQL_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_PROMQL_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def promql_label_name(name: str) -> str:
    """Label names cannot be quoted in Prometheus 2.x, so an invalid one is a programming error."""
    if not _PROMQL_LABEL.fullmatch(name):
        raise ValueError(f"invalid Prometheus label name: {name!r}")
    return name


def promql_metric_name(name: str) -> str:
    if not _PROMQL_METRIC.fullmatch(name):
        raise ValueError(f"invalid Prometheus metric name: {name!r}")
    return name


def prometheus_metric_name_from(text: str) -> str:
    """Turn an arbitrary name (a StatsD bucket, say) into a valid metric name, as statsd_exporter does."""
    cleaned = re.sub(r"[^a-zA-Z0-9_:]", "_", text)
    return cleaned if re.match(r"[a-zA-Z_:]", cleaned) else "_" + cleaned


# --- Flux ---------------------------------------------------------------------------------------------------

_FLUX_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def flux_string(value: str) -> str:
    """A Flux string literal holding exactly `value`.

    Flux interpolates `${...}` inside strings, and Grafana interpolates `$name`: a `$` is written as the byte
    escape `\\x24`, which neither touches.
    """
    return '"' + _hex_escaped(value, _FLUX_SHORT_ESCAPES) + '"'


def flux_regex(pattern: str) -> str:
    """A Flux /regex/ literal for an RE2 pattern (a `/` must be escaped inside the literal)."""
    return "/" + _escape_regex_delimiter(pattern) + "/"


_FLUX_IDENTIFIER = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_FLUX_KEYWORDS = frozenset(
    "and import not return option test empty in or package builtin if then else exists testcase".split()
)


def flux_column(name: str) -> str:
    """Access a column of the row record `r`: `r.host`, or `r["odd name"]` when it is no identifier."""
    if _FLUX_IDENTIFIER.fullmatch(name) and name not in _FLUX_KEYWORDS:
        return f"r.{name}"
    return f"r[{flux_string(name)}]"


# --- InfluxQL -----------------------------------------------------------------------------------------------


def influxql_identifier(name: str) -> str:
    """A double-quoted InfluxQL identifier (measurement, field or tag key)."""
    _reject_grafana_variables(name, "InfluxQL identifier")
    return '"' + _influxql_escape(name, quote='"') + '"'


def influxql_string(value: str) -> str:
    """A single-quoted InfluxQL string literal holding exactly `value`.

    InfluxQL has no hex escapes, so a value Grafana would interpolate cannot be written as a string:
    use `influxql_can_compare_equal()` first and fall back to an anchored regex (which can escape `$`).
    """
    _reject_grafana_variables(value, "InfluxQL string")
    return "'" + _influxql_escape(value, quote="'") + "'"


def influxql_can_compare_equal(value: str) -> bool:
    """Whether `value` can be written as an InfluxQL string (else compare with an anchored regex)."""
    return not looks_like_grafana_variable(value) and not any(_is_control(c) and c != "\n" for c in value)


def influxql_regex(pattern: str) -> str:
    """An InfluxQL /regex/ literal for an RE2 pattern."""
    return "/" + _escape_regex_delimiter(pattern) + "/"


def _influxql_escape(value: str, quote: str) -> str:
    # InfluxQL's scanner knows only \\ \n \" \' : a raw newline ends the token, so it is escaped.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(quote, "\\" + quote)


def _reject_grafana_variables(text: str, what: str) -> None:
    if looks_like_grafana_variable(text):
        raise ValueError(f"{what} {text!r} would be rewritten by Grafana's variable interpolation")
    if any(_is_control(c) and c != "\n" for c in text):
        # InfluxQL's scanner has no escape for them and refuses them raw.
        raise ValueError(f"{what} {text!r} holds control characters InfluxQL cannot quote")


def _escape_regex_delimiter(pattern: str) -> str:
    # A `/` ends the literal unless escaped. A backslash already escaping something stays as it is.
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            nxt = pattern[index + 1]
            out.append("\\/" if nxt == "/" else char + nxt)
            index += 2
            continue
        if char == "/":
            out.append("\\/")
        elif char == "\n":
            out.append("\\n")
        else:
            out.append(char)
        index += 1
    return "".join(out)


# --- Grafana variables --------------------------------------------------------------------------------------
# How a dashboard variable is written into query text. The datasource decides how Grafana formats values:
# the Prometheus datasource regex-escapes multi-value variables in a form fit for a Go-quoted string by
# default, so PromQL uses the plain reference; InfluxDB regexes use the explicit `regex` format.

_VARIABLE_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def grafana_variable_name(name: str) -> str:
    if not _VARIABLE_NAME.fullmatch(name) or name.startswith("__"):
        raise ValueError(f"invalid dashboard variable name: {name!r}")
    return name


def grafana_variable(name: str, format: str | None = None) -> str:
    """`${name}` or `${name:format}`; braces always, so the following text can never extend the name."""
    grafana_variable_name(name)
    return "${" + name + (":" + format if format else "") + "}"


def promql_variable_string(name: str) -> str:
    """A PromQL string holding a variable; valid for `=` (single value) and `=~` (multi-value or All)."""
    return '"' + grafana_variable(name) + '"'


def influx_variable_regex(name: str) -> str:
    """The anchored regex text (no delimiters) matching the value(s) of a variable in InfluxQL and Flux."""
    return "^" + grafana_variable(name, "regex") + "$"


# --- InfluxDB line protocol (writing test data and examples) -------------------------------------------------


def line_protocol_key(name: str) -> str:
    """A measurement, tag key, tag value or field key in line protocol: comma, space and `=` escaped.

    Line protocol cannot carry a newline in a key or tag value, nor one ending in a backslash.
    """
    if "\n" in name or name.endswith("\\") or name == "":
        raise ValueError(f"{name!r} cannot be written in InfluxDB line protocol")
    return name.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")
