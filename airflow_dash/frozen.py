"""Read-only, hashable JSON-like values: what panels, field config and raw Grafana JSON hold once constructed.

`freeze` turns dicts (any mapping) into `FrozenDict` and lists into `FrozenList`, all the way down, so a dict
passed as `options=` can be changed afterwards without changing the panel, and panels stay hashable. Both
read like what they were made from (a `FrozenDict` equals the dict it froze, a `FrozenList` the list), and
`thaw` gives plain, fresh dicts and lists back (what compile merges into the JSON).

>>> options = {"legend": {"calcs": ["max"]}}
>>> frozen = freeze(options)
>>> options["legend"]["calcs"].append("min")
>>> frozen == {"legend": {"calcs": ["max"]}}, hash(frozen) == hash(freeze({"legend": {"calcs": ["max"]}}))
(True, True)
>>> frozen["legend"]["calcs"] = []
Traceback (most recent call last):
    ...
TypeError: 'FrozenDict' object does not support item assignment
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping


class FrozenDict(Mapping[str, Any]):
    """A read-only mapping whose values are frozen too; hashable when its values are.

    >>> FrozenDict({"mode": "markdown"})["mode"]
    'markdown'
    """

    __slots__ = ("_items", "_hash")
    _items: dict[str, Any]
    _hash: int | None

    def __init__(self, value: Mapping[Any, Any] | None = None) -> None:
        items = {key: freeze(item) for key, item in (value or {}).items()}
        object.__setattr__(self, "_items", items)
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        cached = self._hash
        if cached is None:
            cached = hash(frozenset(self._items.items()))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"'FrozenDict' object is read-only (set {name!r})")

    def __repr__(self) -> str:
        return f"FrozenDict({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenDict, (thaw(self),)

    def thaw(self) -> dict[str, Any]:
        """A plain dict (and plain lists) with the same content, fresh: changing it changes nothing here."""
        return {key: thaw(item) for key, item in self._items.items()}

    def to_json_data(self) -> dict[str, Any]:
        """The JSON data (grafanalib's protocol, which compile's JSON conversion follows)."""
        return self.thaw()


class FrozenList(tuple[Any, ...]):
    """A frozen list: a tuple that also equals the list it was made from.

    >>> FrozenList([1, 2]) == [1, 2], FrozenList([1, 2]) == (1, 2)
    (True, True)
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return tuple(self) == tuple(other)
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"FrozenList({list(self)!r})"


def freeze(value: Any) -> Any:
    """`value` with every mapping a `FrozenDict` and every list a `FrozenList` (tuples stay tuples).

    >>> freeze({"calcs": ["max"], "size": (1, 2)})
    FrozenDict({'calcs': FrozenList(['max']), 'size': (1, 2)})
    """
    if isinstance(value, FrozenDict) or isinstance(value, FrozenList):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list):
        return FrozenList(freeze(item) for item in value)
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (fresh copies) for what `freeze` made; anything else as it is.

    >>> thaw(freeze({"calcs": ["max"]}))
    {'calcs': ['max']}
    """
    if isinstance(value, FrozenDict):
        return value.thaw()
    if isinstance(value, FrozenList):
        return [thaw(item) for item in value]
    if isinstance(value, tuple):
        return tuple(thaw(item) for item in value)
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    return value
