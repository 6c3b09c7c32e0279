"""Typed values for a panel's field config and data: value mappings, overrides, data links, transformations.

    >>> from airflow_dash.field_config import ValueMap, Override, by_name, DataLink, organize
    >>> ValueMap("1", "up", "green").to_json()
    {'type': 'value', 'options': {'1': {'text': 'up', 'color': 'green', 'index': 0}}}
    >>> Override(by_name("errors"), {"unit": "short", "color": {"mode": "fixed", "fixedColor": "red"}}).to_json()["matcher"]
    {'id': 'byName', 'options': 'errors'}
    >>> DataLink("Logs of ${__field.labels.dag_id}", "/explore?dag=${__field.labels.dag_id}").to_json()["url"]
    '/explore?dag=${__field.labels.dag_id}'

Each value checks itself when constructed (one line naming what is wrong) and turns into Grafana's JSON with
`to_json()`; `airflow_dash.compile` places them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from airflow_dash.frozen import FrozenDict, freeze, thaw
from airflow_dash.panel_schema import check_unit

SPECIAL_MATCHES = frozenset({"null", "nan", "null+nan", "true", "false", "empty"})


def _color(value: str | None, where: str) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{where}: color must be a Grafana colour name or #hex, got {value!r}")


@dataclass(frozen=True)
class ValueMap:
    """Show `text` (and `color`) for one exact value: `ValueMap("0", "down", "red")`."""

    value: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError(f"ValueMap value must be a str (Grafana compares the displayed text), got {self.value!r}")
        _color(self.color, f"ValueMap {self.value!r}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        return {"type": "value", "options": {self.value: _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class RangeMap:
    """Show `text` for values from `low` to `high` (either may be None: unbounded)."""

    low: float | None
    high: float | None
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"RangeMap {self.text!r}: from {self.low} is above to {self.high}")
        _color(self.color, f"RangeMap {self.text!r}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        return {"type": "range", "options": {"from": self.low, "to": self.high, "result": _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class RegexMap:
    """Show `text` for values matching `pattern` (`$1` refers to a group)."""

    pattern: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"RegexMap {self.pattern!r}: {exc}") from None

    def to_json(self, index: int = 0) -> dict[str, Any]:
        return {"type": "regex", "options": {"pattern": self.pattern, "result": _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class SpecialMap:
    """Show `text` for null, NaN, true, false or empty: `SpecialMap("null", "no data", "gray")`."""

    match: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if self.match not in SPECIAL_MATCHES:
            raise ValueError(f"SpecialMap match {self.match!r}: expected one of {', '.join(sorted(SPECIAL_MATCHES))}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        return {"type": "special", "options": {"match": self.match, "result": _result(self.text, self.color, index)}}


def _result(text: str, color: str | None, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {"text": text}
    if color is not None:
        result["color"] = color
    result["index"] = index
    return result


ValueMapping = Union[ValueMap, RangeMap, RegexMap, SpecialMap]
MAPPING_TYPES = (ValueMap, RangeMap, RegexMap, SpecialMap)


@dataclass(frozen=True)
class FieldMatcher:
    """Which fields an override applies to; build with `by_name`, `by_regex`, `by_type`, `by_query`."""

    id: str
    options: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "options": self.options}


def by_name(name: str) -> FieldMatcher:
    """Fields whose display name is `name`."""
    return FieldMatcher("byName", name)


def by_regex(pattern: str) -> FieldMatcher:
    """Fields whose display name matches `pattern`."""
    re.compile(pattern)
    return FieldMatcher("byRegexp", pattern)


def by_type(kind: str) -> FieldMatcher:
    """Fields of one type: number, string, time, boolean."""
    if kind not in ("number", "string", "time", "boolean", "other"):
        raise ValueError(f"by_type {kind!r}: expected number, string, time, boolean or other")
    return FieldMatcher("byType", kind)


def by_query(ref_id: str) -> FieldMatcher:
    """Fields returned by the query with this refId (A, B...)."""
    return FieldMatcher("byFrameRefID", ref_id)


# Override property ids whose value we can check (the rest go through as written).
_OVERRIDE_PROPERTY = re.compile(r"(unit|decimals|min|max|displayName|color|thresholds|mappings|links|noValue|"
                                r"filterable|custom\.[A-Za-z.]+)")


@dataclass(frozen=True)
class Override:
    """Field config for matching fields: `Override(by_name("failed"), {"color": {...}, "unit": "short"})`.

    Property ids are Grafana's (`unit`, `displayName`, `color`, `custom.fillOpacity`, ...).
    """

    matcher: FieldMatcher
    properties: Mapping[str, Any]  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        if not isinstance(self.matcher, FieldMatcher):
            raise TypeError(f"Override matcher must come from by_name/by_regex/by_type/by_query, got {self.matcher!r}")
        if not isinstance(self.properties, Mapping):
            raise TypeError(f"Override {self.matcher.options!r}: properties must be a dict, got {self.properties!r:.60}")
        object.__setattr__(self, "properties", freeze(self.properties))
        for key, value in self.properties.items():
            if not _OVERRIDE_PROPERTY.fullmatch(key):
                raise ValueError(f"Override {self.matcher.options!r}: unknown property {key!r}")
            if key == "unit" and check_unit(value):
                raise ValueError(f"Override {self.matcher.options!r}: {check_unit(value)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "matcher": self.matcher.to_json(),
            "properties": [{"id": key, "value": thaw(value)} for key, value in self.properties.items()],
        }


@dataclass(frozen=True)
class DataLink:
    """A link on each value of a field (click a series or a cell). `${__field.labels.x}`, `${__value.raw}`,
    `${__url_time_range}` and dashboard variables are filled in by Grafana."""

    title: str
    url: str
    new_tab: bool = False

    def __post_init__(self) -> None:
        if not self.title or not self.url:
            raise ValueError(f"DataLink needs a title and a url, got {self.title!r}, {self.url!r}")

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url, "targetBlank": self.new_tab}


# Grafana's transformation ids (standardTransformers): a typo here would silently do nothing.
TRANSFORMATIONS = frozenset(
    {"merge", "organize", "reduce", "seriesToRows", "sortBy", "filterFieldsByName", "filterByRefId", "filterByValue",
     "labelsToFields", "joinByField", "joinByLabels", "calculateField", "groupBy", "concatenate", "renameByRegex",
     "limit", "convertFieldType", "extractFields", "partitionByValues", "rowsToFields", "configFromData",
     "prepareTimeSeries", "histogram", "timeSeriesTable", "formatTime", "formatString", "groupingToMatrix",
     "seriesToColumns", "fieldLookup", "heatmap", "spatial", "transpose", "regression", "groupToNestedTable"}
)  # fmt: skip


@dataclass(frozen=True)
class Transformation:
    """One step of the panel's data pipeline: `Transformation("organize", {"excludeByName": {"Time": True}})`."""

    id: str
    options: Mapping[str, Any] = field(default_factory=FrozenDict)  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        if self.id not in TRANSFORMATIONS:
            raise ValueError(f"unknown transformation {self.id!r} (Grafana's ids: merge, organize, reduce, sortBy, ...)")
        if not isinstance(self.options, Mapping):
            raise TypeError(f"transformation {self.id}: options must be a dict, got {self.options!r:.60}")
        object.__setattr__(self, "options", freeze(self.options))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "options": thaw(self.options)}


def organize(
    rename: Mapping[str, str] | None = None, exclude: tuple[str, ...] = (), order: tuple[str, ...] = ()
) -> Transformation:
    """Rename, hide and order table columns: `organize(rename={"Value": "Failures"}, exclude=("Time",))`."""
    return Transformation(
        "organize",
        {
            "renameByName": dict(rename or {}),
            "excludeByName": {name: True for name in exclude},
            "indexByName": {name: i for i, name in enumerate(order)},
        },
    )


def merge() -> Transformation:
    """Merge the frames of several queries into one table (instant queries side by side)."""
    return Transformation("merge", {})


def sort_by(column: str, desc: bool = True) -> Transformation:
    """Sort table rows by `column`."""
    return Transformation("sortBy", {"fields": {}, "sort": [{"field": column, "desc": desc}]})


def labels_to_fields(value_label: str | None = None) -> Transformation:
    """One column per label (time series become table rows with their labels)."""
    return Transformation("labelsToFields", {} if value_label is None else {"valueLabel": value_label})


def reduce_rows(*calcs: str) -> Transformation:
    """Series to rows of reductions (`reduce_rows("lastNotNull", "max")`)."""
    from airflow_dash.panel_schema import REDUCERS

    for calc in calcs:
        if calc not in REDUCERS:
            raise ValueError(f"reduce_rows: unknown reducer {calc!r}")
    return Transformation("reduce", {"reducers": list(calcs or ("lastNotNull",)), "mode": "seriesToRows"})
