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
    """Show `text` (and `color`) for one exact value: `ValueMap("0", "down", "red")`.

    >>> ValueMap("0", "down", "red").to_json()
    {'type': 'value', 'options': {'0': {'text': 'down', 'color': 'red', 'index': 0}}}
    """

    value: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError(f"ValueMap value must be a str (Grafana compares the displayed text), got {self.value!r}")
        _color(self.color, f"ValueMap {self.value!r}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        """Grafana's value mapping JSON (`index` orders the mappings of a panel).

        >>> ValueMap("1", "up").to_json(index=2)["options"]["1"]["index"]
        2
        """
        return {"type": "value", "options": {self.value: _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class RangeMap:
    """Show `text` for values from `low` to `high` (either may be None: unbounded).

    >>> RangeMap(0, 50, "ok", "green").to_json()["options"]["result"]
    {'text': 'ok', 'color': 'green', 'index': 0}
    """

    low: float | None
    high: float | None
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"RangeMap {self.text!r}: from {self.low} is above to {self.high}")
        _color(self.color, f"RangeMap {self.text!r}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        """Grafana's range mapping JSON.

        >>> RangeMap(None, 0, "negative").to_json()["options"]["to"]
        0
        """
        return {"type": "range", "options": {"from": self.low, "to": self.high, "result": _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class RegexMap:
    """Show `text` for values matching `pattern` (`$1` refers to a group).

    >>> RegexMap("^(.*)_failed$", "$1 failed").to_json()["options"]["pattern"]
    '^(.*)_failed$'
    """

    pattern: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"RegexMap {self.pattern!r}: {exc}") from None

    def to_json(self, index: int = 0) -> dict[str, Any]:
        """Grafana's regex mapping JSON.

        >>> RegexMap("^x$", "X").to_json()["type"]
        'regex'
        """
        return {"type": "regex", "options": {"pattern": self.pattern, "result": _result(self.text, self.color, index)}}


@dataclass(frozen=True)
class SpecialMap:
    """Show `text` for null, NaN, true, false or empty: `SpecialMap("null", "no data", "gray")`.

    >>> SpecialMap("null", "no data", "gray").to_json()["options"]["match"]
    'null'
    """

    match: str
    text: str
    color: str | None = None

    def __post_init__(self) -> None:
        if self.match not in SPECIAL_MATCHES:
            raise ValueError(f"SpecialMap match {self.match!r}: expected one of {', '.join(sorted(SPECIAL_MATCHES))}")

    def to_json(self, index: int = 0) -> dict[str, Any]:
        """Grafana's special-value mapping JSON.

        >>> SpecialMap("nan", "n/a").to_json()["type"]
        'special'
        """
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
    """Which fields an override applies to; build with `by_name`, `by_regex`, `by_type`, `by_query`.

    >>> by_regex(".*failed.*") == FieldMatcher("byRegexp", ".*failed.*")
    True
    """

    id: str
    options: str

    def to_json(self) -> dict[str, Any]:
        """Grafana's matcher JSON.

        >>> by_type("number").to_json()
        {'id': 'byType', 'options': 'number'}
        """
        return {"id": self.id, "options": self.options}


def by_name(name: str) -> FieldMatcher:
    """Fields whose display name is `name`.

    >>> by_name("failed").to_json()
    {'id': 'byName', 'options': 'failed'}
    """
    return FieldMatcher("byName", name)


def by_regex(pattern: str) -> FieldMatcher:
    """Fields whose display name matches `pattern`.

    >>> by_regex("^p9[59]").to_json()
    {'id': 'byRegexp', 'options': '^p9[59]'}
    """
    re.compile(pattern)
    return FieldMatcher("byRegexp", pattern)


def by_type(kind: str) -> FieldMatcher:
    """Fields of one type: number, string, time, boolean.

    >>> by_type("time").to_json()
    {'id': 'byType', 'options': 'time'}
    """
    if kind not in ("number", "string", "time", "boolean", "other"):
        raise ValueError(f"by_type {kind!r}: expected number, string, time, boolean or other")
    return FieldMatcher("byType", kind)


def by_query(ref_id: str) -> FieldMatcher:
    """Fields returned by the query with this refId (A, B...).

    >>> by_query("B").to_json()
    {'id': 'byFrameRefID', 'options': 'B'}
    """
    return FieldMatcher("byFrameRefID", ref_id)


# Override property ids whose value we can check (the rest go through as written).
_OVERRIDE_PROPERTY = re.compile(r"(unit|decimals|min|max|displayName|color|thresholds|mappings|links|noValue|"
                                r"filterable|custom\.[A-Za-z.]+)")


@dataclass(frozen=True)
class Override:
    """Field config for matching fields: `Override(by_name("failed"), {"color": {...}, "unit": "short"})`.

    Property ids are Grafana's (`unit`, `displayName`, `color`, `custom.fillOpacity`, ...); the properties are
    frozen when the override is constructed.

    >>> Override(by_name("failed"), {"unit": "short", "custom.fillOpacity": 50}).to_json()["properties"]
    [{'id': 'unit', 'value': 'short'}, {'id': 'custom.fillOpacity', 'value': 50}]
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
        """Grafana's override JSON (fresh plain dicts and lists).

        >>> Override(by_query("A"), {"displayName": "busy"}).to_json()
        {'matcher': {'id': 'byFrameRefID', 'options': 'A'}, 'properties': [{'id': 'displayName', 'value': 'busy'}]}
        """
        return {
            "matcher": self.matcher.to_json(),
            "properties": [{"id": key, "value": thaw(value)} for key, value in self.properties.items()],
        }


@dataclass(frozen=True)
class DataLink:
    """A link on each value of a field (click a series or a cell). `${__field.labels.x}`, `${__value.raw}`,
    `${__url_time_range}` and dashboard variables are filled in by Grafana.

    >>> DataLink("Host ${__field.labels.host}", "/d/hosts?var-host=${__field.labels.host}").url
    '/d/hosts?var-host=${__field.labels.host}'
    """

    title: str
    url: str
    new_tab: bool = False

    def __post_init__(self) -> None:
        if not self.title or not self.url:
            raise ValueError(f"DataLink needs a title and a url, got {self.title!r}, {self.url!r}")

    def to_json(self) -> dict[str, Any]:
        """Grafana's data link JSON.

        >>> DataLink("Docs", "https://airflow.apache.org", new_tab=True).to_json()
        {'title': 'Docs', 'url': 'https://airflow.apache.org', 'targetBlank': True}
        """
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
    """One step of the panel's data pipeline: `Transformation("organize", {"excludeByName": {"Time": True}})`.

    The options are frozen when the transformation is constructed; the helpers below build the common ones.

    >>> Transformation("filterFieldsByName", {"include": {"names": ["Value"]}}).to_json()["id"]
    'filterFieldsByName'
    """

    id: str
    options: Mapping[str, Any] = field(default_factory=FrozenDict)  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        if self.id not in TRANSFORMATIONS:
            raise ValueError(f"unknown transformation {self.id!r} (Grafana's ids: merge, organize, reduce, sortBy, ...)")
        if not isinstance(self.options, Mapping):
            raise TypeError(f"transformation {self.id}: options must be a dict, got {self.options!r:.60}")
        object.__setattr__(self, "options", freeze(self.options))

    def to_json(self) -> dict[str, Any]:
        """Grafana's transformation JSON (fresh plain dicts and lists).

        >>> Transformation("merge").to_json()
        {'id': 'merge', 'options': {}}
        """
        return {"id": self.id, "options": thaw(self.options)}


def organize(
    rename: Mapping[str, str] | None = None, exclude: tuple[str, ...] = (), order: tuple[str, ...] = ()
) -> Transformation:
    """Rename, hide and order table columns: `organize(rename={"Value": "Failures"}, exclude=("Time",))`.

    >>> organize(rename={"Value": "Failures"}, exclude=("Time",)).to_json()["options"]
    {'renameByName': {'Value': 'Failures'}, 'excludeByName': {'Time': True}, 'indexByName': {}}
    """
    return Transformation(
        "organize",
        {
            "renameByName": dict(rename or {}),
            "excludeByName": {name: True for name in exclude},
            "indexByName": {name: i for i, name in enumerate(order)},
        },
    )


def merge() -> Transformation:
    """Merge the frames of several queries into one table (instant queries side by side).

    >>> merge().to_json()
    {'id': 'merge', 'options': {}}
    """
    return Transformation("merge", {})


def sort_by(column: str, desc: bool = True) -> Transformation:
    """Sort table rows by `column`.

    >>> sort_by("Value").to_json()["options"]["sort"]
    [{'field': 'Value', 'desc': True}]
    """
    return Transformation("sortBy", {"fields": {}, "sort": [{"field": column, "desc": desc}]})


def labels_to_fields(value_label: str | None = None) -> Transformation:
    """One column per label (time series become table rows with their labels).

    >>> labels_to_fields().to_json()
    {'id': 'labelsToFields', 'options': {}}
    """
    return Transformation("labelsToFields", {} if value_label is None else {"valueLabel": value_label})


def reduce_rows(*calcs: str) -> Transformation:
    """Series to rows of reductions (`reduce_rows("lastNotNull", "max")`).

    >>> reduce_rows("lastNotNull", "max").to_json()["options"]
    {'reducers': ['lastNotNull', 'max'], 'mode': 'seriesToRows'}
    """
    from airflow_dash.panel_schema import REDUCERS

    for calc in calcs:
        if calc not in REDUCERS:
            raise ValueError(f"reduce_rows: unknown reducer {calc!r}")
    return Transformation("reduce", {"reducers": list(calcs or ("lastNotNull",)), "mode": "seriesToRows"})
