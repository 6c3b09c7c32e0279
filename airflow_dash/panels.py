"""Backend-neutral panels: what to show (catalog signals) and how (type, unit, thresholds, size).

Panels are small immutable specs; `airflow_dash.compile` turns them into grafanalib panel objects for one
backend and serializes them. Helpers (`timeseries`, `stat`, `gauge`, `bargauge`, `table`, `text`) fill in
Grafana's defaults a person would pick, so a dashboard module reads like the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

from airflow_dash.catalog.model import Signal

PANEL_TYPES = frozenset({"timeseries", "stat", "gauge", "bargauge", "table", "text"})
GRID_COLUMNS = 24


@dataclass(frozen=True)
class Query:
    """One target of a panel: a catalog signal, optionally with its own legend (`{dimension}` placeholders)."""

    signal: Signal
    legend: str | None = None


@dataclass(frozen=True)
class Threshold:
    """A colour step; the first step of a panel has value None (meaning from -infinity)."""

    value: float | None
    color: str


def thresholds(base: str = "green", *steps: tuple[float, str]) -> tuple[Threshold, ...]:
    """`thresholds("green", (80, "orange"), (90, "red"))`."""
    return (Threshold(None, base),) + tuple(Threshold(float(v), c) for v, c in steps)


@dataclass(frozen=True)
class PanelLink:
    """A link from a panel to another bundled dashboard (resolved to its uid for the same backend)."""

    title: str
    dashboard: str  # the other dashboard's key
    keep_time: bool = True
    keep_variables: bool = True


@dataclass(frozen=True)
class Panel:
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
    reduce: str = "lastNotNull"  # stat/gauge/bargauge reduction
    links: tuple[PanelLink, ...] = ()
    content: str = ""  # text panels (markdown)
    options: dict = field(default_factory=dict, hash=False, compare=False)  # escape hatch, merged last

    def __post_init__(self) -> None:
        if self.type not in PANEL_TYPES:
            raise ValueError(f"panel {self.title!r}: unknown type {self.type!r}")
        if not 0 < self.width <= GRID_COLUMNS or self.height <= 0:
            raise ValueError(f"panel {self.title!r}: size {self.width}x{self.height} does not fit a 24-column grid")
        if self.type != "text" and not self.queries:
            raise ValueError(f"panel {self.title!r} has no queries")

    @property
    def effective_unit(self) -> str:
        if self.unit:
            return self.unit
        if self.queries:
            return self.queries[0].signal.unit
        return "none"

    @property
    def effective_description(self) -> str:
        if self.description is not None:
            return self.description
        seen: list[str] = []
        for query in self.queries:
            if query.signal.description not in seen:
                seen.append(query.signal.description)
        return " ".join(seen)


QueryLike = Union[Signal, Query]


def _queries(items: Sequence[QueryLike]) -> tuple[Query, ...]:
    return tuple(item if isinstance(item, Query) else Query(item) for item in items)


def timeseries(title: str, *queries: QueryLike, **options) -> Panel:
    """A time series panel (the default for anything over time)."""
    return Panel(title, "timeseries", _queries(queries), **options)


def stat(title: str, *queries: QueryLike, width: int = 4, height: int = 4, **options) -> Panel:
    """A single big number (last value by default) with a sparkline."""
    return Panel(title, "stat", _queries(queries), width=width, height=height, **options)


def gauge(title: str, *queries: QueryLike, width: int = 4, height: int = 4, **options) -> Panel:
    return Panel(title, "gauge", _queries(queries), width=width, height=height, **options)


def bargauge(title: str, *queries: QueryLike, **options) -> Panel:
    return Panel(title, "bargauge", _queries(queries), **options)


def table(title: str, *queries: QueryLike, **options) -> Panel:
    return Panel(title, "table", _queries(queries), **options)


def text(title: str, content: str, width: int = 24, height: int = 3) -> Panel:
    return Panel(title, "text", (), width=width, height=height, content=content, unit="none", description="")


@dataclass(frozen=True)
class Row:
    """A titled, optionally collapsed group of panels laid out left to right, wrapping at 24 columns."""

    title: str
    panels: tuple[Panel, ...]
    collapsed: bool = False

    def __init__(self, title: str, panels: Sequence[Panel], collapsed: bool = False) -> None:
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "panels", tuple(panels))
        object.__setattr__(self, "collapsed", collapsed)
