"""orjson where it writes exactly what the standard library's encoder writes, the standard library elsewhere.

One mechanism for both canonical texts: compile's (indented, the files `build` writes) and publish's (compact,
the text the content hash is taken over). Each keeps its own reference definition; this only decides which
encoder may run.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
# Where orjson's text can differ from json.dumps: floats between 1e-10 and 1e-4, which orjson writes as
# 0.00001 or 1e-7 and json as 1e-05 or 1e-07. A match (also inside a string) only costs the slow path.
# (Two searches with literal prefixes: one alternation is twenty times slower than orjson itself.)
_ORJSON_SHORT_EXPONENT = re.compile(rb"e-\d(?!\d)")


def _refuse(value: object) -> None:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def orjson_when_exact(value: Any, option: int) -> bytes | None:
    """`value` written by orjson with `option`, or None where the caller's reference encoder must write it:
    anything orjson refuses (non-string keys, huge ints, lone surrogates, unknown types) or might write
    differently. So the text, or the error, never depends on which encoder ran."""
    try:
        encoded = orjson.dumps(value, default=_refuse, option=option | _PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    if b"0.0000" in encoded or _ORJSON_SHORT_EXPONENT.search(encoded):
        return None
    return encoded
