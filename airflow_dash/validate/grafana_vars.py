"""Grafana template variables and macros: find them, replace them with representative values, map back.

Checkers parse queries after Grafana-style interpolation, so `$__rate_interval`, `${host:regex}` or
`[[host]]` must become something the language accepts at that position (a duration inside `[...]`, a
plain word inside a string...). Each language decides the value; this module does the finding, the
replacing and the position bookkeeping so problems can be reported against the original text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# Grafana's own reference syntax: $name, [[name]] / [[name:format]], ${name} / ${name:format}.
# The `${name.path}` field-path form is left out on purpose: in Flux `${r.host}` is string interpolation.
VARIABLE_PATTERN = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")

# Macros whose value is a duration (`5m`), and those that are plain numbers (ms/s epochs and spans).
DURATION_MACROS = frozenset({"__interval", "__rate_interval", "__range", "interval", "__auto_interval"})
NUMBER_MACROS = {
    "__interval_ms": "60000",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__from": "1700000000000",
    "__to": "1700003600000",
}


@dataclass(frozen=True)
class VariableRef:
    """One variable or macro reference in a query: its span, name and optional format."""

    start: int
    end: int
    name: str
    format: str | None

    @property
    def is_duration_macro(self) -> bool:
        return self.name in DURATION_MACROS or self.name.startswith("__auto_interval")

    @property
    def number_value(self) -> str | None:
        """The numeric stand-in for epoch/span macros (None for `${__from:date:iso}` and non-numbers)."""
        if self.format and self.format.startswith("date") and self.format not in ("date:seconds", "date:ms"):
            return None
        return NUMBER_MACROS.get(self.name)


def find_variable_refs(text: str) -> list[VariableRef]:
    """All Grafana variable/macro references in `text`, in order."""
    refs = []
    for match in VARIABLE_PATTERN.finditer(text):
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(5)
        refs.append(VariableRef(match.start(), match.end(), name, fmt))
    return refs


@dataclass(frozen=True)
class Replacement:
    original_start: int
    original_end: int
    new_start: int
    new_end: int


@dataclass(frozen=True)
class Substitution:
    """A query after substitution, able to map positions in `text` back to `original`."""

    original: str
    text: str
    replacements: tuple[Replacement, ...]

    def original_offset(self, offset: int) -> int:
        """Map a 0-based offset in `text` to `original`; inside a replacement it maps to the reference's start."""
        starts = [r.new_start for r in self.replacements]
        index = bisect.bisect_right(starts, offset) - 1
        if index < 0:
            return offset
        replacement = self.replacements[index]
        if offset < replacement.new_end:
            return replacement.original_start
        return replacement.original_end + (offset - replacement.new_end)

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) in `text` to a 1-based (line, column) in `original`."""
        offset = offset_of(self.text, line, column)
        return position_of(self.original, self.original_offset(offset))


def substitute(text: str, value_for: Callable[[VariableRef], str]) -> Substitution:
    """Replace every reference in `text` with `value_for(ref)`, remembering where each went."""
    pieces: list[str] = []
    replacements: list[Replacement] = []
    cursor = 0
    new_length = 0
    for ref in find_variable_refs(text):
        pieces.append(text[cursor : ref.start])
        new_length += ref.start - cursor
        value = value_for(ref)
        replacements.append(Replacement(ref.start, ref.end, new_length, new_length + len(value)))
        pieces.append(value)
        new_length += len(value)
        cursor = ref.end
    pieces.append(text[cursor:])
    return Substitution(text, "".join(pieces), tuple(replacements))


def offset_of(text: str, line: int, column: int) -> int:
    """0-based offset of a 1-based (line, column); clamped to the text."""
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    return min(sum(len(previous) + 1 for previous in lines[: line - 1]) + max(column, 1) - 1, len(text))


def position_of(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a 0-based offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def string_and_regex_spans(
    text: str,
    quotes: str,
    regex_allowed: Callable[[str], bool] | None = None,
    line_comment: str | None = None,
) -> list[tuple[int, int, str]]:
    """Spans (start, end, opening char) of quoted literals and /regex/ literals, skipping comments.

    Variable references are treated as opaque so `${x}` inside a literal does not end it early.
    `regex_allowed(text_before)` decides whether a `/` opens a regex (languages differ).
    Unterminated literals run to the end of the text.
    """
    refs = {match.start(): match.end() for match in VARIABLE_PATTERN.finditer(text)}
    starts = sorted(refs)  # each scan jumps to the next character that matters, or the next reference
    outer = _stops(quotes + ("/" if regex_allowed is not None else "") + (line_comment[0] if line_comment else ""))
    spans = []
    length = len(text)
    i = 0
    while i < length:
        found = outer.search(text, i)
        stop = found.start() if found else length
        ref = bisect.bisect_left(starts, i)
        if ref < len(starts) and starts[ref] < stop:
            i = refs[starts[ref]]  # a reference is opaque: nothing inside it opens a literal
            continue
        if found is None:
            break
        i = stop
        char = text[i]
        if line_comment and text.startswith(line_comment, i):
            newline = text.find("\n", i)
            i = length if newline < 0 else newline
            continue
        opener = char if char in quotes else None
        if opener is None and char == "/" and regex_allowed is not None and regex_allowed(text[:i]):
            opener = "/"
        if opener is None:
            i += 1
            continue
        inner = _stops(opener if opener == "`" else opener + "\\")
        j = i + 1
        while j < length:
            found = inner.search(text, j)
            stop = found.start() if found else length
            ref = bisect.bisect_left(starts, j)
            if ref < len(starts) and starts[ref] < stop:
                j = refs[starts[ref]]
                continue
            j = stop
            if j < length and text[j] == "\\" and opener != "`":
                j += 2
                continue
            break
        spans.append((i, min(j + 1, length), opener))
        i = j + 1
    return spans


@lru_cache(maxsize=64)
def _stops(characters: str) -> re.Pattern[str]:
    if not characters:
        return re.compile("(?!)")  # matches nowhere
    return re.compile("[" + "".join(sorted({re.escape(c) for c in characters})) + "]")


def span_containing(spans: list[tuple[int, int, str]], offset: int) -> tuple[int, int, str] | None:
    """The literal span strictly containing `offset` (not starting at it), if any."""
    for start, end, opener in spans:
        if start < offset < end:
            return start, end, opener
    return None
