"""Backend-neutral panels: what to show (catalog signals) and how (kind, unit, thresholds, options, size).

Panels are small immutable specs, checked when constructed (one line naming the panel and the field), and
`airflow_dash.compile` renders them for one backend. Helpers fill in the defaults a person would pick, so a
dashboard module reads like the dashboard:

    >>> from airflow_dash.catalog import host
    >>> p = timeseries("CPU busy", host.cpu_busy, thresholds=thresholds("green", (80, "orange")))
    >>> p.type, p.unit is None, p.effective_unit
    ('timeseries', True, 'percent')

Kinds: `timeseries`, `stat`, `gauge`, `bargauge`, `table`, `text`, `state_timeline`, `heatmap`, `barchart`,
`piechart`, `logs`. Every kind takes `options=` (Grafana's panel `options`, merged over our defaults) and
`custom=` (`fieldConfig.defaults.custom`), both checked against Grafana's published schema for that kind;
`mappings=`, `overrides=`, `transformations=`, `data_links=` take the typed values of
`airflow_dash.field_config`. A grafanalib panel or a Grafana panel dict goes in a `Row` as is (`RawPanel`),
and `LibraryPanel` places a library panel.
"""

from __future__ import annotations

import dataclasses

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

from airflow_dash.catalog.model import Signal
from airflow_dash.frozen import FrozenDict, freeze, thaw
from airflow_dash.field_config import MAPPING_TYPES, DataLink, Override, Transformation, ValueMapping
from airflow_dash.panel_schema import REDUCERS, check_options, check_unit

PANEL_TYPES = frozenset(
    {"timeseries", "stat", "gauge", "bargauge", "table", "text", "state-timeline", "heatmap", "barchart",
     "piechart", "logs"}
)  # fmt: skip
GRID_COLUMNS = 24
DRAW_STYLES = ("line", "bars", "points")
LEGEND_PLACEMENTS = ("bottom", "right")
FORMATS = ("time_series", "table", "heatmap")
_INTERVAL = re.compile(r">?(\d+(ms|s|m|h|d|w|y))+|\$\w+|\$\{\w+\}")


@dataclass(frozen=True)
class Query:
    """One target of a panel: a catalog signal, optionally with its own legend (`{dimension}` placeholders).

    `instant=True` asks for one value per series (the latest) instead of a range; `format="table"` returns
    rows (what a table wants); `format="heatmap"` buckets for heatmaps (Prometheus).

    >>> from airflow_dash.catalog import host
    >>> Query(host.cpu_busy, instant=True, format="table").format
    'table'
    """

    signal: Signal
    legend: str | None = None
    instant: bool = False
    format: str = "time_series"

    def __post_init__(self) -> None:
        if not isinstance(self.signal, Signal):
            raise TypeError(f"Query takes a catalog Signal, got {type(self.signal).__name__} {self.signal!r:.60}")
        if self.format not in FORMATS:
            raise ValueError(f"query {self.signal.key}: format {self.format!r}: expected one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Threshold:
    """A colour step; the first step of a panel has value None (meaning from -infinity). Build them with
    `thresholds`.

    >>> thresholds("green", (80, "red"))[1]
    Threshold(value=80.0, color='red')
    """

    value: float | None
    color: str


def thresholds(base: str = "green", *steps: tuple[float, str]) -> tuple[Threshold, ...]:
    """`thresholds("green", (80, "orange"), (90, "red"))`: steps in increasing order.

    >>> [t.value for t in thresholds("green", (80, "orange"), (90, "red"))]
    [None, 80.0, 90.0]
    """
    result = (Threshold(None, base),) + tuple(Threshold(float(v), c) for v, c in steps)
    problem = _threshold_problem(result)
    if problem:
        raise ValueError(f"thresholds: {problem}")
    return result


def _threshold_problem(steps: Sequence[Threshold]) -> str | None:
    for index, step in enumerate(steps):
        if not isinstance(step, Threshold):
            return f"expected Threshold values (use thresholds(...)), got {step!r}"
        if index == 0 and step.value is not None:
            return "the first step must have value None (it starts at -infinity)"
        if index > 0:
            if step.value is None:
                return f"only the first step may have value None (step {index + 1})"
            previous = steps[index - 1].value
            if previous is not None and step.value <= previous:
                return f"out of order: {step.value:g} after {previous:g} (steps must increase)"
    return None


@dataclass(frozen=True)
class PanelLink:
    """A link from a panel to another bundled dashboard (resolved to its uid for the same backend).

    >>> from airflow_dash.catalog import host
    >>> timeseries("CPU", host.cpu_busy, links=[PanelLink("Containers", "docker")]).links[0].dashboard
    'docker'
    """

    title: str
    dashboard: str  # the other dashboard's key
    keep_time: bool = True
    keep_variables: bool = True


@dataclass(frozen=True)
class UrlLink:
    """A panel link to any URL (`${__url_time_range}` and `$var` are filled in by Grafana).

    >>> UrlLink("Runbook", "https://wiki.example.com/airflow").url
    'https://wiki.example.com/airflow'
    """

    title: str
    url: str
    new_tab: bool = True


PanelLinkLike = Union[PanelLink, UrlLink]


def _freeze(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    frozen: Mapping[str, Any] = freeze(value or {})  # a FrozenDict: freeze keeps a mapping a mapping
    return frozen


@dataclass(frozen=True)
class Panel:
    """A panel over catalog signals. Use the helpers (`timeseries`, `stat`, ...) rather than this class.

    `options` are Grafana's panel `options` (legend, tooltip, reduceOptions, ...) deep-merged over the
    defaults for the kind; `custom` is `fieldConfig.defaults.custom` (lineWidth, drawStyle, ...). Both are
    checked against Grafana's schema for the kind when the panel is constructed, and frozen (read-only).

    >>> from airflow_dash.catalog import host
    >>> Panel("CPU", "timeseries", (Query(host.cpu_busy),), unit="percent").effective_unit
    'percent'
    """

    title: str
    type: str
    queries: tuple[Query, ...] = ()
    unit: str | None = None
    description: str | None = None
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    thresholds: tuple[Threshold, ...] = ()
    stacked: bool = False
    fill_opacity: int = 10
    draw_style: str = "line"  # line | bars | points
    legend_calcs: tuple[str, ...] = ()
    legend_placement: str = "bottom"
    reduce: str = "lastNotNull"  # stat/gauge/bargauge/piechart reduction
    links: tuple[PanelLinkLike, ...] = ()
    content: str = ""  # text panels (markdown)
    options: Mapping[str, Any] = field(default_factory=FrozenDict)  # Grafana panel `options`, merged last (frozen)
    custom: Mapping[str, Any] = field(default_factory=FrozenDict)  # fieldConfig.defaults.custom, merged last (frozen)
    mappings: tuple[ValueMapping, ...] = ()
    overrides: tuple[Override, ...] = ()
    transformations: tuple[Transformation, ...] = ()
    data_links: tuple[DataLink, ...] = ()
    interval: str | None = None  # the panel's min interval (Grafana "Min interval"): `1m`, `$scrape`
    # What the panel's id is derived from instead of its kind and title (airflow_dash.compile.panel_ids): set
    # it (`.keyed("cpu-busy")`) to rename or retype a panel in code and keep its id, and links to it.
    key: str | None = None

    def keyed(self, key: str) -> "Panel":
        """This panel with a fixed identity: its id no longer follows its title or kind."""
        return dataclasses.replace(self, key=key)

    def __post_init__(self) -> None:
        name = f"panel {self.title!r}"
        if self.key is not None and (not isinstance(self.key, str) or not self.key.strip()):
            raise ValueError(f"{name}: key must be a non-empty string, got {self.key!r}")
        if self.interval is not None and not _INTERVAL.fullmatch(str(self.interval)):
            raise ValueError(f"{name}: interval {self.interval!r}: expected e.g. 30s, 1m, 1h or a $variable")
        if not isinstance(self.title, str):
            raise TypeError(f"panel title must be a str, got {self.title!r}")
        if self.type not in PANEL_TYPES:
            raise ValueError(f"{name}: unknown type {self.type!r} (expected one of {', '.join(sorted(PANEL_TYPES))})")
        if not isinstance(self.width, int) or not isinstance(self.height, int):
            raise TypeError(f"{name}: width and height are grid units (int), got {self.width!r}x{self.height!r}")
        if not 0 < self.width <= GRID_COLUMNS or self.height <= 0:
            raise ValueError(f"{name}: size {self.width}x{self.height} does not fit a 24-column grid")
        for query in self.queries:
            if not isinstance(query, Query):
                raise TypeError(f"{name}: {_not_a_query(query)}")
        if self.type != "text" and not self.queries:
            raise ValueError(f"{name} has no queries")
        if self.unit is not None and (problem := check_unit(self.unit)):
            raise ValueError(f"{name}: {problem}")
        if not self.unit and self.queries and (problem := check_unit(self.effective_unit)):  # the catalog's, shown
            raise ValueError(f"{name}: signal {self.queries[0].signal.key}: {problem}")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TypeError(f"{name}: {key} must be a number, got {value!r}")
        if self.decimals is not None and (isinstance(self.decimals, bool) or not isinstance(self.decimals, int)):
            raise TypeError(f"{name}: decimals must be an int, got {self.decimals!r}")
        if self.draw_style not in DRAW_STYLES:
            raise ValueError(f"{name}: draw_style {self.draw_style!r}: expected one of {', '.join(DRAW_STYLES)}")
        if self.legend_placement not in LEGEND_PLACEMENTS:
            raise ValueError(f"{name}: legend_placement {self.legend_placement!r}: expected bottom or right")
        if not isinstance(self.fill_opacity, int) or not 0 <= self.fill_opacity <= 100:
            raise ValueError(f"{name}: fill_opacity {self.fill_opacity!r}: expected 0-100")
        for calc in (self.reduce, *self.legend_calcs):
            if calc not in REDUCERS:
                field_name = "reduce" if calc == self.reduce else "legend_calcs"
                raise ValueError(
                    f"{name}: {field_name} {calc!r} is not a Grafana reducer (e.g. lastNotNull, mean, max, sum, p95)"
                )
        problem = _threshold_problem(self.thresholds)
        if problem:
            raise ValueError(f"{name}: thresholds {problem}")
        for part in ("options", "custom"):  # read-only from here on: a dict changed later changes nothing
            if isinstance(getattr(self, part), Mapping):
                object.__setattr__(self, part, freeze(getattr(self, part)))
        _check_items(name, "mappings", self.mappings, MAPPING_TYPES)
        _check_items(name, "overrides", self.overrides, (Override,))
        _check_items(name, "transformations", self.transformations, (Transformation,))
        _check_items(name, "data_links", self.data_links, (DataLink,))
        _check_items(name, "links", self.links, (PanelLink, UrlLink))
        for part, value in (("options", self.options), ("custom", self.custom)):
            if not isinstance(value, Mapping):
                raise TypeError(f"{name}: {part} must be a dict, got {value!r}")
            checked = _options_key(self.type, part, value)
            if checked is not None and checked in _VALID_OPTIONS:
                continue  # the same options, checked once already (the check is pure; only its verdict is kept)
            problems = check_options(self.type, part, thaw(value), where=name)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise ValueError(f"{problems[0]}{more}")
            if checked is not None:
                if len(_VALID_OPTIONS) >= _VALID_OPTIONS_MAX:
                    _VALID_OPTIONS.clear()
                _VALID_OPTIONS.add(checked)

    @property
    def effective_unit(self) -> str:
        """The unit shown: the panel's own, else its first signal's, else "none"."""
        if self.unit:
            return self.unit
        if self.queries:
            return self.queries[0].signal.unit
        return "none"

    @property
    def effective_description(self) -> str:
        """The panel's description, else its signals' descriptions joined."""
        if self.description is not None:
            return self.description
        seen: list[str] = []
        for query in self.queries:
            if query.signal.description not in seen:
                seen.append(query.signal.description)
        return " ".join(seen)


# (kind, part, exact structure) of panel options / custom that passed Grafana's schema check: a thousand panels
# built with the same options are checked once, not a thousand times (jsonschema dominated construction).
_VALID_OPTIONS: set[tuple[Any, ...]] = set()
_VALID_OPTIONS_MAX = 4096
_SCALARS = (str, int, float, bool, type(None))


def _structure(value: Any) -> Any:
    """`value` as a hashable key that tells apart what the schema check tells apart (True from 1, 1 from 1.0,
    a list from a tuple, key order); raises TypeError for anything else (then nothing is remembered)."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if isinstance(value, Mapping):
        return ("d", tuple((_structure(k), _structure(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("l", tuple(_structure(v) for v in value))
    if isinstance(value, tuple):
        return ("t", tuple(_structure(v) for v in value))
    raise TypeError(kind)


def _options_key(kind: str, part: str, value: Mapping[str, Any]) -> tuple[Any, ...] | None:
    try:
        key = (kind, part, _structure(value))
        hash(key)
    except TypeError:
        return None
    return key


def _check_items(name: str, what: str, items: object, kinds: tuple[type, ...]) -> None:
    if not isinstance(items, tuple):
        raise TypeError(f"{name}: {what} must be a tuple or list, got {items!r}")
    for item in items:
        if not isinstance(item, kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            raise TypeError(f"{name}: {what} takes {expected} values, got {type(item).__name__} {item!r:.60}")


def _not_a_query(item: object) -> str:
    hint = ""
    if isinstance(item, str):
        hint = " (a raw query goes in a Signal: Signal(..., prometheus=promql.raw(...)))"
    return f"{item!r:.60} is a {type(item).__name__}, not a catalog Signal or Query{hint}"


QueryLike = Union[Signal, Query]


def _queries(title: str, items: Sequence[QueryLike]) -> tuple[Query, ...]:
    result = []
    for item in items:
        if isinstance(item, Query):
            result.append(item)
        elif isinstance(item, Signal):
            result.append(Query(item))
        else:
            raise TypeError(f"panel {title!r}: {_not_a_query(item)}")
    return tuple(result)


def _table_queries(title: str, items: Sequence[QueryLike], instant: bool, format: str) -> tuple[Query, ...]:
    """Signals become instant/table queries; explicit `Query` objects keep what they say."""
    _queries(title, items)  # one clear error for anything that is not a query
    return tuple(item if isinstance(item, Query) else Query(item, instant=instant, format=format) for item in items)


# The keyword arguments every kind shares; each helper lists them explicitly so type checkers and help() see them.


def timeseries(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 12,
    height: int = 8,
    min: float | None = None,
    max: float | None = None,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    stacked: bool = False,
    fill_opacity: int = 10,
    draw_style: str = "line",
    legend_calcs: Sequence[str] = (),
    legend_placement: str = "bottom",
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    transformations: Sequence[Transformation] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A time series panel (the default for anything over time).

    >>> from airflow_dash.catalog import host
    >>> timeseries("CPU", host.cpu_busy, legend_calcs=["mean", "max"], draw_style="bars").draw_style
    'bars'
    """
    return Panel(
        title, "timeseries", _queries(title, queries), unit=unit, description=description, width=width, height=height,
        min=min, max=max, decimals=decimals, thresholds=tuple(thresholds), stacked=stacked, fill_opacity=fill_opacity,
        draw_style=draw_style, legend_calcs=tuple(legend_calcs), legend_placement=legend_placement, links=tuple(links),
        options=_freeze(options), custom=_freeze(custom), mappings=tuple(mappings), overrides=tuple(overrides),
        transformations=tuple(transformations), data_links=tuple(data_links), interval=interval,
    )  # fmt: skip


def _single_value(
    kind: str,
    title: str,
    queries: Sequence[QueryLike],
    unit: str | None,
    description: str | None,
    width: int,
    height: int,
    min: float | None,
    max: float | None,
    decimals: int | None,
    thresholds: tuple[Threshold, ...],
    reduce: str,
    links: Sequence[PanelLinkLike],
    options: Mapping[str, Any] | None,
    mappings: Sequence[ValueMapping],
    overrides: Sequence[Override],
    data_links: Sequence[DataLink],
    transformations: Sequence[Transformation] = (),
    custom: Mapping[str, Any] | None = None,
    interval: str | None = None,
) -> Panel:
    return Panel(
        title, kind, _queries(title, queries), unit=unit, description=description, width=width, height=height,
        min=min, max=max, decimals=decimals, thresholds=tuple(thresholds), reduce=reduce, links=tuple(links),
        options=_freeze(options), custom=_freeze(custom), mappings=tuple(mappings), overrides=tuple(overrides),
        data_links=tuple(data_links), transformations=tuple(transformations), interval=interval,
    )  # fmt: skip


def stat(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 4,
    height: int = 4,
    min: float | None = None,
    max: float | None = None,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    reduce: str = "lastNotNull",
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A single big number (last value by default) with a sparkline.

    >>> from airflow_dash.catalog import host
    >>> stat("Uptime", host.uptime, reduce="last").reduce
    'last'
    """
    return _single_value("stat", title, queries, unit, description, width, height, min, max, decimals, thresholds,
                         reduce, links, options, mappings, overrides, data_links, interval=interval)  # fmt: skip


def gauge(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 4,
    height: int = 4,
    min: float | None = None,
    max: float | None = None,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    reduce: str = "lastNotNull",
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A radial gauge of one value against `min`..`max` and the thresholds.

    >>> from airflow_dash.catalog import host
    >>> gauge("CPU", host.cpu_busy, min=0, max=100).max
    100
    """
    return _single_value("gauge", title, queries, unit, description, width, height, min, max, decimals, thresholds,
                         reduce, links, options, mappings, overrides, data_links, interval=interval)  # fmt: skip


def bargauge(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 12,
    height: int = 8,
    min: float | None = None,
    max: float | None = None,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    reduce: str = "lastNotNull",
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """Horizontal bars, one per series, of one reduced value each (e.g. disk usage per mount).

    >>> from airflow_dash.catalog import host
    >>> bargauge("Disk used", host.disk_used).type
    'bargauge'
    """
    return _single_value("bargauge", title, queries, unit, description, width, height, min, max, decimals,
                         thresholds, reduce, links, options, mappings, overrides, data_links, interval=interval)  # fmt: skip


def piechart(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 8,
    height: int = 8,
    decimals: int | None = None,
    reduce: str = "lastNotNull",
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A pie (or donut: `options={"pieType": "donut"}`) of each series' reduced value.

    >>> from airflow_dash.catalog import host
    >>> piechart("Memory", host.memory_used, options={"pieType": "donut"}).options["pieType"]
    'donut'
    """
    return _single_value("piechart", title, queries, unit, description, width, height, None, None, decimals, (),
                         reduce, links, options, mappings, overrides, data_links, interval=interval)  # fmt: skip


def table(
    title: str,
    *queries: QueryLike,
    instant: bool = True,
    format: str = "table",
    unit: str | None = None,
    description: str | None = None,
    width: int = 12,
    height: int = 8,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    transformations: Sequence[Transformation] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A table: by default each signal is an instant query in table format (one row per series, its labels
    as columns); pass `instant=False, format="time_series"` for a table of points.

    >>> from airflow_dash.catalog import host
    >>> t = table("Hosts", host.cpu_busy)
    >>> t.queries[0].instant, t.queries[0].format
    (True, 'table')
    """
    return Panel(
        title, "table", _table_queries(title, queries, instant, format), unit=unit, description=description,
        width=width, height=height, decimals=decimals, thresholds=tuple(thresholds), links=tuple(links),
        options=_freeze(options), custom=_freeze(custom), mappings=tuple(mappings), overrides=tuple(overrides),
        transformations=tuple(transformations), data_links=tuple(data_links), interval=interval,
    )  # fmt: skip


def state_timeline(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 24,
    height: int = 8,
    thresholds: tuple[Threshold, ...] = (),
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """States over time, one band per series; pair it with `mappings` (e.g. 1 → "up", green).

    >>> from airflow_dash.catalog import host
    >>> from airflow_dash.field_config import ValueMap
    >>> state_timeline("Up", host.cpu_busy, mappings=[ValueMap("1", "up", "green")]).type
    'state-timeline'
    """
    return Panel(
        title, "state-timeline", _queries(title, queries), unit=unit, description=description, width=width,
        height=height, thresholds=tuple(thresholds), links=tuple(links), options=_freeze(options),
        custom=_freeze(custom), mappings=tuple(mappings), overrides=tuple(overrides), data_links=tuple(data_links),
        interval=interval,
    )  # fmt: skip


def heatmap(
    title: str,
    *queries: QueryLike,
    unit: str | None = None,
    description: str | None = None,
    width: int = 12,
    height: int = 8,
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """A heatmap; signals are asked in heatmap format (Prometheus histogram buckets by `le`).

    >>> from airflow_dash.catalog import host
    >>> heatmap("Load", host.cpu_busy).queries[0].format
    'heatmap'
    """
    return Panel(
        title, "heatmap", _table_queries(title, queries, False, "heatmap"), unit=unit, description=description,
        width=width, height=height, links=tuple(links), options=_freeze(options), custom=_freeze(custom),
        data_links=tuple(data_links), interval=interval,
    )  # fmt: skip


def barchart(
    title: str,
    *queries: QueryLike,
    instant: bool = True,
    unit: str | None = None,
    description: str | None = None,
    width: int = 12,
    height: int = 8,
    decimals: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    links: Sequence[PanelLinkLike] = (),
    options: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    mappings: Sequence[ValueMapping] = (),
    overrides: Sequence[Override] = (),
    transformations: Sequence[Transformation] = (),
    data_links: Sequence[DataLink] = (),
    interval: str | None = None,
) -> Panel:
    """Bars of categories (one per series by default: instant queries in table format, reduced per series).

    >>> from airflow_dash.catalog import host
    >>> barchart("CPU by host", host.cpu_busy).queries[0].instant
    True
    """
    return Panel(
        title, "barchart", _table_queries(title, queries, instant, "table" if instant else "time_series"), unit=unit,
        description=description, width=width, height=height, decimals=decimals, thresholds=tuple(thresholds),
        links=tuple(links), options=_freeze(options), custom=_freeze(custom), mappings=tuple(mappings),
        overrides=tuple(overrides), transformations=tuple(transformations), data_links=tuple(data_links),
        interval=interval,
    )  # fmt: skip


def logs(
    title: str,
    *queries: QueryLike,
    description: str | None = None,
    width: int = 24,
    height: int = 10,
    options: Mapping[str, Any] | None = None,
) -> Panel:
    """Log lines (for datasources that return logs; `options` such as `{"showTime": True}` go as written).

    >>> from airflow_dash.catalog import host
    >>> logs("Events", host.cpu_busy).width
    24
    """
    return Panel(title, "logs", _queries(title, queries), description=description, width=width, height=height,
                 options=_freeze(options), unit="none")  # fmt: skip


def text(title: str, content: str, width: int = 24, height: int = 3) -> Panel:
    """A Markdown text panel.

    >>> text("Read me", "**Runbook:** https://wiki.example.com").content
    '**Runbook:** https://wiki.example.com'
    """
    return Panel(title, "text", (), width=width, height=height, content=content, unit="none", description="")


@dataclass(frozen=True)
class RawPanel:
    """A panel given as Grafana JSON (a dict) or a grafanalib panel object, placed in a row like the others.

    It is laid out (its own `gridPos` w/h, else `width`/`height`), gets the dashboard's datasource, and its
    queries are checked like ours. With `queries` (catalog signals), its targets are rendered per backend;
    otherwise the targets it holds are kept as written (raw), and on a backend whose query language differs
    from theirs the panel is left out (shown by `list --verbose`).

    >>> RawPanel({"type": "news", "title": "News", "options": {"feedUrl": "https://grafana.com/blog/news.xml"}}).title
    'News'
    """

    body: Any  # a read-only FrozenDict of the panel's JSON once constructed
    queries: tuple[Query, ...] = ()
    width: int | None = None
    height: int | None = None

    def __init__(
        self, body: Any, queries: Sequence[QueryLike] = (), width: int | None = None, height: int | None = None
    ) -> None:
        """`body`: a Grafana panel dict or a grafanalib panel object; `queries`: signals rendered per backend."""
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "queries", tuple(queries))
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)
        self._check()

    def _check(self) -> None:
        body = self.body
        if not isinstance(body, Mapping):
            to_json_data = getattr(body, "to_json_data", None)
            if to_json_data is None:
                raise TypeError(f"RawPanel takes a panel dict or a grafanalib panel, got {type(body).__name__}")
            object.__setattr__(self, "body", freeze(_plain(to_json_data())))
        else:
            object.__setattr__(self, "body", freeze(_plain(body)))
        if not isinstance(self.body.get("type"), str) or not self.body["type"]:
            raise ValueError(f"raw panel {self.title!r}: needs a 'type' (the Grafana panel plugin id)")
        if self.body["type"] == "row":
            raise ValueError(f"raw panel {self.title!r}: rows are Row(...), not panels")
        object.__setattr__(self, "queries", _queries(self.title, self.queries))
        w, h = self.size
        if not 0 < w <= GRID_COLUMNS or h <= 0:
            raise ValueError(f"raw panel {self.title!r}: size {w}x{h} does not fit a 24-column grid")

    @property
    def title(self) -> str:
        return str(self.body.get("title") or "")

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height): explicit, else the body's gridPos, else 12x8."""
        pos: Mapping[str, Any] = self.body["gridPos"] if isinstance(self.body.get("gridPos"), Mapping) else {}
        width = self.width if self.width is not None else pos.get("w") or 12
        height = self.height if self.height is not None else pos.get("h") or 8
        return int(width), int(height)


def _plain(value: Any) -> Any:
    """JSON data of a dict or grafanalib object: grafanalib values become their JSON, tuples lists, copied."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    to_json_data = getattr(value, "to_json_data", None)
    if to_json_data is None:
        raise TypeError(f"raw panel: {type(value).__name__} is not JSON data")
    return _plain(to_json_data())


@dataclass(frozen=True)
class LibraryPanel:
    """A library panel (kept in Grafana, shared by dashboards) placed by uid; Grafana fills in the rest.

    >>> LibraryPanel("abc123", "Airflow heartbeat", width=8).width
    8
    """

    uid: str
    name: str
    width: int = 12
    height: int = 8

    def __post_init__(self) -> None:
        if not self.uid or not isinstance(self.uid, str):
            raise ValueError(f"library panel {self.name!r}: needs the library panel's uid")
        if not 0 < self.width <= GRID_COLUMNS or self.height <= 0:
            raise ValueError(f"library panel {self.name!r}: size {self.width}x{self.height} does not fit")

    @property
    def title(self) -> str:
        return self.name


AnyPanel = Union[Panel, RawPanel, LibraryPanel]


def _row_item(row: str, item: object) -> AnyPanel:
    if isinstance(item, (Panel, RawPanel, LibraryPanel)):
        return item
    if isinstance(item, Mapping) or hasattr(item, "to_json_data"):
        return RawPanel(item)  # a Grafana panel dict or a grafanalib panel
    raise TypeError(f"row {row!r}: {type(item).__name__} {item!r:.60} is not a panel (Panel, RawPanel, dict, grafanalib panel)")


@dataclass(frozen=True)
class Row:
    """A titled, optionally collapsed group of panels laid out left to right, wrapping at 24 columns.

    `repeat="dag_id"` repeats the row once per value of that dashboard variable (Grafana's row repeat).
    Panels are `Panel`s, `RawPanel`s / panel dicts / grafanalib panels, or `LibraryPanel`s.

    >>> Row("DAG $dag_id", [text("About", "per DAG")], repeat="dag_id").repeat
    'dag_id'
    """

    title: str
    panels: tuple[AnyPanel, ...]
    collapsed: bool = False
    repeat: str | None = None

    def __init__(self, title: str, panels: Sequence[object], collapsed: bool = False, repeat: str | None = None) -> None:
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "panels", tuple(_row_item(title, p) for p in panels))
        object.__setattr__(self, "collapsed", collapsed)
        object.__setattr__(self, "repeat", repeat)
