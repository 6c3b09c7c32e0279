"""The Flux checker's fast path: which texts it may judge, and the one text it judges for many.

Queries that differ only in the contents of plain string literals type-check alike: the contents are
values of type string, except where a string names something (an import path, a record label `{"a": 1}`,
a label looked up `r["a"]`). So one text per such *shape* is enough to know that all of them pass, and
only the queries of a failing shape need the exact check (flux.FluxChecks). That holds only if the
literals are found exactly, so this module tokenizes the way Flux's scanner does, and gives up (no
shape, no fast path) wherever a cheap tokenizer could be wrong: comments, backslashes, `${...}`
interpolation, a `package` clause, an unterminated literal.

The fast check runs each shape as one file with Grafana's `v` record declared in it before the first
statement. A text that does not start its first statement with a name could continue that declaration
(`.organization`, `== {...}`, `and ...`), so such texts get no fast path either.
"""

from __future__ import annotations

import re

from airflow_dash.validate.flux_slash import divides_after

_NAME = re.compile(r"[^\W\d]\w*")
# One token at a time (whitespace runs are skipped in one step); a string ends at the next quote because
# texts with backslashes or ${ never get here.
# Numbers take in what durations and date-times hold (5m, 2024-01-01T00:00:00Z): one operand token here.
_TOKEN = re.compile(r'(?P<space>\s+)|(?P<string>"[^"]*")|(?P<name>[^\W\d]\w*)|(?P<number>\d[\w.:-]*)'
                    r'|(?P<slash>/)|(?P<other>[^"])')
_PLAIN_REGEX = re.compile(r'/[^"\\/\n]*/')
_GIVE_UP = ("//", "\\", "${")  # comments, escapes, interpolation: left to the exact check


def flux_shape(text: str) -> str | None:
    """`text` with each plain string literal's content replaced by `s`, or None when its tokens are not
    certain (see the module docstring) and the text must be checked exactly.

    >>> flux_shape('from(bucket: "a") |> filter(fn: (r) => r["host"] == "h1" and r.x =~ /^a$/)')
    'from(bucket: "s") |> filter(fn: (r) => r["host"] == "s" and r.x =~ /^a$/)'
    >>> flux_shape('x = /a"b/') is None  # a quote in a regex: no certain shape
    True
    >>> flux_shape('x = "a" // a comment') is None
    True
    """
    if any(marker in text for marker in _GIVE_UP):
        return None
    pieces: list[str] = []
    cursor = 0
    divides = False  # whether a `/` here would be a division (flux_slash: the previous token ends an operand)
    before: tuple[str, str] = ("", "")  # the two tokens before this one (whitespace aside)
    at = 0
    while (token := _TOKEN.match(text, at)) is not None:
        kind, word, at = token.lastgroup, token.group(), token.end()
        if kind == "space":
            continue
        if kind == "string":
            if not _names_something(text, at, before):
                pieces += [text[cursor : token.start()], '"s"']
                cursor = at
        elif kind == "name" and word == "package":
            return None
        elif kind == "slash" and not divides:  # a regex: plain content up to the closing slash, or no certain shape
            regex = _PLAIN_REGEX.match(text, token.start())
            if regex is None:
                return None
            at, word = regex.end(), regex.group()
        divides = divides_after(word)
        before = (before[1], word)
    if at < len(text):
        return None  # an unterminated string
    pieces.append(text[cursor:])
    return "".join(pieces)


_NEXT_TOKEN_START = re.compile(r"\s*(.?)", re.S)


def _names_something(text: str, end: int, before: tuple[str, str]) -> bool:
    """Whether the string literal ending at `end`, after tokens `before`, is an import path or a label."""
    following = _NEXT_TOKEN_START.match(text, end)
    after = following.group(1) if following is not None else ""
    if after == ":" or (before[1] == "[" and after == "]"):
        return True  # {"a": ...} or x["a"] (dictionary keys ["a": 1] stay too: harmless)
    return before[1] == "import" or (before[0] == "import" and _NAME.fullmatch(before[1]) is not None)


_HEADER = re.compile(r'\s+|import(?:\s+[^\W\d]\w*)?\s*"[^"\n]*"')


def with_inline_prelude(text: str, prelude: str) -> str | None:
    """`text` with `prelude` (Grafana's `v` record) declared on its own line after the imports, or None when
    the first statement does not start with a name that cannot continue the declaration."""
    at = 0
    while (match := _HEADER.match(text, at)) is not None and match.end() > at:
        at = match.end()
    first = _NAME.match(text, at)
    if at < len(text) and (first is None or first.group() in ("and", "or")):
        return None
    return text[:at] + prelude.strip() + "\n" + text[at:]
