"""Flux's one decision between a regex literal and a division sign: what a `/` outside literals starts.

Flux's parser reads a `/` as a regex literal where it expects an operand and as a division where it expects
an operator, which comes down to the token before: after one that ends an operand (a name, a number or
duration, a string or regex literal, `)`, `]`, `}`) it divides; after anything else (an operator, `(`, `,`,
`:`, `=>`, a keyword, the start of the text) it opens a regex. `divides_after` is that rule, used token by
token by flux_fast_path and, through `regex_may_open`, on the text before a `/` by the Grafana variable
substitution (flux.substitute_flux) and the canonical query form.

The keywords are the words Flux reserves (checked against flux-lsp: `with`, `in`, `empty` and `test` are
plain names there, `r.band / 2` divides, and `exists` and `then` take a regex after them).
"""

from __future__ import annotations

import re

KEYWORDS = frozenset({"and", "or", "not", "exists", "if", "then", "else", "return", "import", "package",
                      "option", "builtin", "testcase"})


def divides_after(token: str) -> bool:
    """Whether a `/` right after `token` (one Flux token, or a Grafana variable reference) is a division.

    A string literal may be given by its closing quote alone; a regex literal must be given whole (`/` alone
    is the division sign).

    >>> [divides_after(t) for t in ("band", "color", "2.0", "1h", '"a"', "/a/", ")", "]", "}", "$x")]
    [True, True, True, True, True, True, True, True, True, True]
    >>> [divides_after(t) for t in ("and", "or", "then", "exists", "(", ",", ":", "=~", "=>", "+", "")]
    [False, False, False, False, False, False, False, False, False, False, False]
    """
    first = token[:1]
    if first.isdigit() or first in ('"', "$"):  # a number, duration or date-time; a string; a variable
        return True
    if first == "/":
        return token != "/"  # a regex literal is an operand; after a division sign an operand follows
    if _NAME.fullmatch(token):
        return token not in KEYWORDS
    return token in (")", "]", "}")


_NAME = re.compile(r"[^\W\d]\w*")
_LINE_PIECE = re.compile(r'"(?:[^"\\]|\\.)*"?|\\.|//|[^"\\/]+|/', re.S)


def regex_may_open(before: str) -> bool:
    """Whether a `/` after `before` (the text up to it, outside literals and comments) opens a regex.

    Linear in the last line at most: only the previous token is looked at, found by scanning back over
    whitespace (and over a `//` comment ending the line before, when the `/` starts a line). A `/` ending
    `before` is taken as a regex's end (an operand): were it a division sign, the regex after it could not
    type-check. A comment is found on its own line only (a string spanning lines into it is not seen).

    >>> regex_may_open("r.band "), regex_may_open("r.x =~ "), regex_may_open("x and "), regex_may_open("")
    (False, True, True, True)
    >>> regex_may_open("r.x // the ratio, per:\\n  "), regex_may_open('x = "a//b" and\\n ')
    (False, True)
    """
    end = _stripped_end(before, len(before))
    while end > 0 and "\n" in before[end:]:  # the `/` starts a line: the line before may end in a comment
        line_start = before.rfind("\n", 0, end) + 1
        code_end = _code_end(before, line_start, end) if "//" in before[line_start:end] else end
        if code_end == end:
            break
        end = _stripped_end(before, code_end)  # the code before the comment (or the lines before it)
    if end == 0:
        return True
    if before[end - 1] == "/":
        return False  # a regex's end, an operand (a regex right after a division sign cannot type-check)
    start = end
    while start > 0 and (before[start - 1].isalnum() or before[start - 1] == "_"):
        start -= 1
    if start == end:
        return not divides_after(before[end - 1])
    if start > 0 and before[start - 1] == "$":
        start -= 1  # a variable reference like $band
    return not divides_after(before[start:end])


def _stripped_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _code_end(text: str, start: int, end: int) -> int:
    """Where the code of the line text[start:end] ends: at its first `//` outside strings."""
    at = start
    while at < end and (piece := _LINE_PIECE.match(text, at, end)) is not None:
        if piece.group() == "//":
            return at
        at = piece.end()
    return end
