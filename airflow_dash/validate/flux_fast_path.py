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

# Tokens after which `/` divides; after anything else (an operator, `(`, `,`, a keyword...) it opens a
# regex, as Flux's parser decides by what it expects next.
_NAME = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"\d[\w.:-]*")  # ints, floats, durations, date-times: one literal token here
_KEYWORDS = frozenset({"and", "or", "not", "exists", "if", "then", "else", "return", "import", "package",
                       "option", "builtin", "testcase", "with"})
_PLAIN_CONTENT = re.compile(r"[^\"\\/\n]*")
_GIVE_UP = ("//", "\\", "${")  # comments, escapes, interpolation: left to the exact check


def flux_shape(text: str) -> str | None:
    """`text` with each plain string literal's content replaced by `s`, or None when its tokens are not
    certain (see the module docstring) and the text must be checked exactly.

    >>> flux_shape('from(bucket: "a") |> filter(fn: (r) => r["host"] == "h1" and r.x =~ /a"b/)')
    'from(bucket: "s") |> filter(fn: (r) => r["host"] == "s" and r.x =~ /a"b/)'
    >>> flux_shape('x = "a" // a comment') is None
    True
    """
    if any(marker in text for marker in _GIVE_UP):
        return None
    pieces: list[str] = []
    cursor = 0
    divides = False  # whether a `/` here would be a division (the previous token ends an operand)
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                return None
            if _replaceable(text, i, end + 1):
                pieces += [text[cursor:i], '"s"']
                cursor = end + 1
            i, divides = end + 1, True
        elif char == "/" and not divides:
            match = _PLAIN_CONTENT.match(text, i + 1)
            assert match is not None  # the pattern matches the empty string
            if not text.startswith("/", match.end()):
                return None
            i, divides = match.end() + 1, True
        elif (name := _NAME.match(text, i)) is not None:
            word = name.group()
            if word == "package":
                return None
            i, divides = name.end(), word not in _KEYWORDS
        elif (number := _NUMBER.match(text, i)) is not None:
            i, divides = number.end(), True
        else:
            i, divides = i + 1, char in ")]}"
    pieces.append(text[cursor:])
    return "".join(pieces)


def _replaceable(text: str, start: int, end: int) -> bool:
    """Whether the string literal text[start:end] is a plain value: not an import path or a label."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    if after.startswith(":") or (before.endswith("[") and after.startswith("]")):
        return False  # {"a": ...} or x["a"] (dictionary keys ["a": 1] stay too: harmless)
    name = re.search(r"(?:^|[^\w.])(import)(?:\s+[^\W\d]\w*)?$", before)
    return name is None


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
