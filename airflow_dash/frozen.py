"""Read-only, hashable JSON-like values: what panels, field config and raw Grafana JSON hold once constructed.

`freeze` turns dicts (any mapping) into `FrozenDict` and lists into `FrozenList`, all the way down, so a dict
passed as `options=` can be changed afterwards without changing the panel, and panels stay hashable. They
are a `dict` and a `list` that refuse to change: they read, compare and serialise (`json.dumps`) like what
they were made from, and `thaw` gives plain, fresh dicts and lists back (what compile merges into the JSON).

>>> import json
>>> options = {"legend": {"calcs": ["max"]}}
>>> frozen = freeze(options)
>>> options["legend"]["calcs"].append("min")
>>> frozen == {"legend": {"calcs": ["max"]}}, json.dumps(frozen), hash(frozen) == hash(freeze(frozen.thaw()))
(True, '{"legend": {"calcs": ["max"]}}', True)
>>> frozen["legend"]["calcs"] = []
Traceback (most recent call last):
    ...
TypeError: 'FrozenDict' object is read-only
"""

from __future__ import annotations

from typing import Any, Mapping, NoReturn


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    """Refused: a frozen value does not change (a TypeError, as for a tuple); `thaw()` gives a mutable copy."""
    raise TypeError(f"'{type(self).__name__}' object is read-only")


class FrozenDict(dict[str, Any]):
    """A read-only dict whose values are frozen too; hashable when its values are.

    >>> FrozenDict({"mode": "markdown"})["mode"], isinstance(FrozenDict(), dict)
    ('markdown', True)
    """

    __slots__ = ("_hash",)
    _hash: int | None

    def __init__(self, value: Mapping[Any, Any] | None = None) -> None:
        dict.__init__(self, {key: freeze(item) for key, item in (value or {}).items()})
        object.__setattr__(self, "_hash", None)

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only

    # typeshed declares dict.__hash__ as None (dicts are unhashable); a frozen one is hashable on purpose.
    def __hash__(self) -> int:  # type: ignore[override]
        cached = self._hash
        if cached is None:
            cached = hash(frozenset(self.items()))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"'FrozenDict' object is read-only (set {name!r})")

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenDict, (self.thaw(),)

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenDict:
        return self

    def thaw(self) -> dict[str, Any]:
        """A plain dict (and plain lists) with the same content, fresh: changing it changes nothing here.

        >>> type(freeze({"a": [1]}).thaw()["a"])
        <class 'list'>
        """
        return {key: thaw(item) for key, item in self.items()}

    def to_json_data(self) -> dict[str, Any]:
        """The JSON data (grafanalib's protocol).

        >>> FrozenDict({"a": 1}).to_json_data()
        {'a': 1}
        """
        return self.thaw()


class FrozenList(list[Any]):
    """A read-only list whose items are frozen too; hashable when its items are.

    >>> FrozenList([1, 2]) == [1, 2], hash(FrozenList([1, 2])) == hash(FrozenList([1, 2]))
    (True, True)
    """

    __slots__ = ()

    def __init__(self, items: Any = ()) -> None:
        list.__init__(self, (freeze(item) for item in items))

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    # typeshed declares list.__hash__ as None (lists are unhashable); a frozen one is hashable on purpose.
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"FrozenList({list.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenList, (thaw(self),)

    def __copy__(self) -> FrozenList:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> FrozenList:
        return self


def freeze(value: Any) -> Any:
    """`value` with every mapping a `FrozenDict` and every list a `FrozenList` (tuples stay tuples).

    >>> freeze({"calcs": ["max"], "size": (1, 2)})
    FrozenDict({'calcs': FrozenList(['max']), 'size': (1, 2)})
    """
    if isinstance(value, (FrozenDict, FrozenList)):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list):
        return FrozenList(value)
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (fresh copies) for what `freeze` made; anything else as it is.

    >>> thaw(freeze({"calcs": ["max"]}))
    {'calcs': ['max']}
    """
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    if isinstance(value, tuple):
        return tuple(thaw(item) for item in value)
    return value
