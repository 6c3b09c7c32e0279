"""libyaml's emitter where it writes exactly what PyYAML's pure-Python emitter writes, the pure one elsewhere.

The pure-Python emitter is the definition of every YAML file we write (alert rule files, collector configs);
libyaml's (`yaml.CSafeDumper`, when PyYAML was built with it) is some ten times faster. Both share PyYAML's
representer, so they differ only in how they emit, and they do in a few places (found by comparing them over
generated documents, tests/test_fast_yaml.py):

- characters libyaml does not count as printable: astral ones (U+10000 and up) and NEL (U+0085), which it
  escapes where PyYAML writes them as they are;
- mapping keys: the empty key, and long keys (PyYAML writes a key as `? key` from 123 characters on, counting
  the 5 of its `!!str` tag; libyaml from 129 UTF-8 bytes on);
- a double-quoted string with escapes that runs past the width: PyYAML breaks its line after an escape too,
  libyaml only at a space;
- a `|+` literal (a string that ends in two line breaks, or is one) anywhere but last: libyaml still ends the
  document with `...` after it, PyYAML only when it was last.

So libyaml runs only on documents made of dicts, lists, strings, numbers, booleans and None, whose keys are
non-empty single-line strings of at most 122 UTF-8 bytes, and whose strings hold only line feeds and printable
Basic Multilingual Plane characters (tabs, other control characters, U+2028/U+2029 and U+FEFF, which both
escape, are not proven alike in every position either), do not end in a blank line, and, where they may be
double-quoted (a line break; non-ASCII without `allow_unicode`), are short enough never to reach the width
even escaped. Everything else goes to the pure emitter, as does everything where PyYAML has no libyaml.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import yaml
from yaml.representer import SafeRepresenter

# PyYAML built without libyaml has no C emitter (tested in a subprocess).
_CSafeDumper: Any = getattr(yaml, "CSafeDumper", None)

# Anything but a line feed and printable ASCII. (A class with the non-ASCII ranges too takes milliseconds to
# compile, more than all the documents take to check: non-ASCII strings are checked by `_unsafe_character`.)
_UNSAFE_ASCII = re.compile("[^\n\x20-\x7e]")
_SCALARS = (int, float, type(None))  # bool is an int
_MAX_KEY_BYTES = 122
_MAX_KEY_COLUMN = _MAX_KEY_BYTES + 8  # where a value after the longest key starts, indentation aside
_MAX_WIDTH = 2**31 - 1  # libyaml keeps the width in a C int
_MAX_DEPTH = 500


def _unsafe_character(text: str) -> bool:
    """Whether `text` holds anything but a line feed and the printable characters both emitters agree on:
    ASCII 0x20-0x7E and U+00A0-U+FFFD less the surrogates, U+2028, U+2029 and U+FEFF."""
    if text.isascii():
        return _UNSAFE_ASCII.search(text) is not None
    for character in text:
        code = ord(character)
        if not (0x20 <= code <= 0x7E or code == 0x0A or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD) or (
                code in (0x2028, 0x2029, 0xFEFF)):
            return True
    return False


def has_libyaml() -> bool:
    """Whether this PyYAML has the C emitter at all."""
    return _CSafeDumper is not None


def libyaml_exact(document: Any, *, allow_unicode: bool = False, width: int | None = None) -> bool:
    """Whether libyaml's emitter writes `document` with these options byte for byte as the pure-Python one
    (see the module doc)."""
    if width is not None and not 4 < width < _MAX_WIDTH:
        return False  # PyYAML makes a width of 4 or less 80, libyaml a negative one unlimited; a C int's end
    if type(document) not in (dict, list):
        return False  # a bare scalar: PyYAML ends its document with `...`, libyaml does not
    best_width = width or 80
    unsafe = _unsafe_character
    stack = [(document, 0)]
    walked: set[tuple[int, int]] = set()  # (container, depth): a shared one is walked once per depth
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is dict or kind is list:
            if depth > _MAX_DEPTH:
                return False  # a recursive document: the pure emitter says what is wrong
            if (id(value), depth) in walked:
                continue
            walked.add((id(value), depth))
        if kind is str:
            if unsafe(value) or value.endswith("\n\n") or value == "\n":
                return False
            # Possibly double-quoted, with escapes: if its line might grow past the width, the two emitters
            # break it differently (PyYAML also after an escape, libyaml only at a space). An escape takes two
            # characters (\n, \", \\), six where non-ASCII ones are escaped too (\u2713).
            escaped = allow_unicode or value.isascii()
            longest = (2 if escaped else 6) * len(value) + 2 * depth + _MAX_KEY_COLUMN
            if ("\n" in value or not escaped) and longest > best_width:
                return False
        elif kind is dict:
            for key, item in value.items():
                if (type(key) is not str or not key or "\n" in key or unsafe(key)
                        or (len(key) > 40 and len(key.encode("utf-8")) > _MAX_KEY_BYTES)):
                    return False
                if not (allow_unicode or key.isascii()):
                    return False
                stack.append((item, depth + 1))
        elif kind is list:
            stack.extend((item, depth + 1) for item in value)
        elif not isinstance(value, _SCALARS):
            return False
    return True


def _literal_multiline(dumper: SafeRepresenter, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


class _NoAliases:
    """A dict or list used twice is written twice, not as `&id001` and `*id001`: what a config's reader expects
    (a recursive document then fails, as it cannot be written out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _Pure(_NoAliases, yaml.SafeDumper):
    pass


class _PureLiteral(_Pure):
    pass


_PureLiteral.add_representer(str, _literal_multiline)
_DUMPERS: dict[tuple[bool, bool], Any] = {(False, False): _Pure, (True, False): _PureLiteral}
if _CSafeDumper is not None:

    class _C(_NoAliases, _CSafeDumper):  # type: ignore[misc]
        pass

    class _CLiteral(_C):
        pass

    _CLiteral.add_representer(str, _literal_multiline)
    _DUMPERS.update({(False, True): _C, (True, True): _CLiteral})


def safe_dump(document: Mapping[str, Any] | list[Any], *, literal_multiline: bool = False, sort_keys: bool = True,
              allow_unicode: bool = False, width: int | None = None) -> str:
    """`yaml.safe_dump(document, sort_keys=..., allow_unicode=..., width=...)`'s text (the pure-Python emitter's),
    by libyaml where that is exact, with no anchors or aliases (see _NoAliases). `literal_multiline`: strings with a line break as `|` literal blocks (where
    the emitter allows one)."""
    fast = _CSafeDumper is not None and libyaml_exact(document, allow_unicode=allow_unicode, width=width)
    text: str = yaml.dump(document, Dumper=_DUMPERS[literal_multiline, fast], sort_keys=sort_keys,
                          allow_unicode=allow_unicode, width=width)
    return text
