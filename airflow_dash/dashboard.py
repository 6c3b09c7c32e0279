"""A dashboard defined once: rows of panels over catalog signals, and variables bound to catalog dimensions.

    >>> from airflow_dash.catalog import host
    >>> from airflow_dash.catalog.dimensions import HOST
    >>> from airflow_dash.panels import Row, timeseries
    >>> dashboard = Dashboard(
    ...     key="system",
    ...     title="System",
    ...     variables=[DimensionVariable(HOST)],
    ...     rows=[Row("CPU", [timeseries("CPU busy", host.cpu_busy)])],
    ... )
    >>> [panel.title for row in dashboard.rows for panel in row.panels]
    ['CPU busy']

Nothing here depends on a backend: `airflow_dash.compile` renders it for each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence, Union

from airflow_dash.catalog.model import Dimension, Signal
from airflow_dash.frozen import freeze
from airflow_dash.panels import Row
from airflow_dash.query.values import Variable

# The dashboards airflow-dash ships: links may name them by key from any dashboards directory.
BUNDLED_KEYS = frozenset({"system", "docker", "airflow-overview", "airflow-dag", "host-basics"})
_REFRESH = re.compile(r"(\d+(s|m|h|d))?")
_TIME = re.compile(r"now(-\d+[smhdwMy])?(/[smhdwMy])?|\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?|\d{10,13}")

_KEY = re.compile(r"[a-z][a-z0-9_-]{0,30}")


@dataclass(frozen=True)
class DimensionVariable:
    """A query variable listing the values of a catalog dimension (host, container, dag_id...).

    `depends_on` chains it: its values are filtered by those variables (e.g. containers of the chosen hosts).
    Multi-value with "All" by default; "All" is the regex `.+` (any value), which is the form every backend's
    regex rendering handles.

    >>> from airflow_dash.catalog.dimensions import CONTAINER, HOST
    >>> DimensionVariable(CONTAINER, depends_on=(HOST,), label="Container").name
    'container'
    """

    dimension: Dimension
    multi: bool = True
    include_all: bool = True
    depends_on: tuple[Dimension, ...] = ()
    label: str | None = None
    hide: bool = False

    @property
    def name(self) -> str:
        return self.dimension.name

    def reference(self) -> Variable:
        """How queries reference it: by regex when it may hold several values or All.

        >>> from airflow_dash.catalog.dimensions import HOST
        >>> DimensionVariable(HOST).reference(), DimensionVariable(HOST, multi=False, include_all=False).reference()
        (Variable(name='host', multi=True), Variable(name='host', multi=False))
        """
        return Variable(self.dimension.name, multi=self.multi or self.include_all)


@dataclass(frozen=True)
class RawVariable:
    """A template variable given as Grafana JSON, used as written (what `airflow-dash import` produces for
    variables that are not catalog dimensions). Its query is not rendered per backend.

    >>> RawVariable({"type": "custom", "name": "env", "query": "prod,staging"}).name
    'env'
    """

    body: Mapping[str, Any]  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        if not isinstance(self.body, Mapping) or not isinstance(self.body.get("name"), str) or not self.body["name"]:
            raise ValueError(f"raw variable: needs a dict with a 'name', got {self.body!r:.60}")
        object.__setattr__(self, "body", freeze(self.body))

    @property
    def name(self) -> str:
        return str(self.body["name"])

    depends_on: tuple[Dimension, ...] = ()


@dataclass(frozen=True)
class RawAnnotation:
    """An annotation given as Grafana JSON, used as written.

    >>> RawAnnotation({"name": "Deploys", "enable": True}).body["name"]
    'Deploys'
    """

    body: Mapping[str, Any]  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        _freeze_body(self, "raw annotation")


@dataclass(frozen=True)
class RawLink:
    """A dashboard header link given as Grafana JSON, used as written.

    >>> RawLink({"title": "Docs", "type": "link", "url": "https://airflow.apache.org"}).body["type"]
    'link'
    """

    body: Mapping[str, Any]  # read-only (a FrozenDict) once constructed

    def __post_init__(self) -> None:
        _freeze_body(self, "raw link")


def _freeze_body(item: object, what: str) -> None:
    body = getattr(item, "body")
    if not isinstance(body, Mapping):
        raise TypeError(f"{what}: needs a dict of Grafana JSON, got {type(body).__name__} {body!r:.60}")
    object.__setattr__(item, "body", freeze(body))


@dataclass(frozen=True)
class DashboardLink:
    """A link in the dashboard header to another dashboard by key (same backend): one built with it, or a
    bundled one (`BUNDLED_KEYS`); or, with `url=`, to any address.

    >>> DashboardLink("Hosts", "system").dashboard, DashboardLink("Runbook", url="https://wiki/x").url
    ('system', 'https://wiki/x')
    """

    title: str
    dashboard: str = ""
    keep_time: bool = True
    keep_variables: bool = True
    url: str = ""
    new_tab: bool = False

    def __post_init__(self) -> None:
        if bool(self.dashboard) == bool(self.url):
            raise ValueError(f"dashboard link {self.title!r}: give a dashboard key or a url (one of them)")


@dataclass(frozen=True)
class Annotation:
    """Events drawn over every time series of the dashboard.

    - `Annotation("Task failures", airflow.ti_failures_rate)`: where the signal's query has values above 0,
      on each backend (left out where the signal has no definition);
    - `Annotation("Deploys", tags=("deploy",))`: Grafana's own annotations with these tags (e.g. posted by CI).

    >>> Annotation("Deploys", tags=("deploy",), color="blue").tags
    ('deploy',)
    """

    name: str
    signal: Signal | None = None
    tags: tuple[str, ...] = ()
    color: str = "red"
    enabled: bool = True

    def __post_init__(self) -> None:
        if (self.signal is None) == (not self.tags):
            raise ValueError(f"annotation {self.name!r}: give a signal or tags (one of them)")
        if self.signal is not None and not isinstance(self.signal, Signal):
            raise TypeError(f"annotation {self.name!r}: signal must be a catalog Signal, got {self.signal!r:.60}")
        if isinstance(self.tags, str):
            raise TypeError(f"annotation {self.name!r}: tags is a tuple of tags, got the string {self.tags!r}")


@dataclass(frozen=True)
class Dashboard:
    """A dashboard defined once: rows of panels over catalog signals, variables bound to catalog dimensions,
    links, annotations and settings. Checked when constructed (one line naming what is wrong); compile
    renders it for each backend.

    >>> from airflow_dash.catalog import host
    >>> from airflow_dash.catalog.dimensions import HOST
    >>> from airflow_dash.panels import Row, timeseries
    >>> board = Dashboard("hosts", "Hosts", [Row("CPU", [timeseries("CPU busy", host.cpu_busy)])],
    ...                   variables=[DimensionVariable(HOST)], time_from="now-24h", refresh="5m")
    >>> board.scope()
    {'host': Variable(name='host', multi=True)}
    """
    key: str
    title: str
    rows: tuple[Row, ...]
    variables: tuple[DimensionVariable | RawVariable, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[DashboardLink | RawLink, ...] = ()
    time_from: str = "now-6h"
    refresh: str = "1m"
    folder: str | None = None
    time_to: str = "now"
    timezone: str = "browser"  # browser | utc | an IANA zone such as Europe/Berlin
    refresh_choices: tuple[str, ...] = ()  # the refresh picker's choices; () keeps Grafana's
    annotations: tuple[Annotation | RawAnnotation, ...] = ()

    def __init__(
        self,
        key: str,
        title: str,
        rows: Sequence[Row],
        variables: Sequence[DimensionVariable | RawVariable] = (),
        description: str = "",
        tags: Sequence[str] = (),
        links: Sequence[DashboardLink | RawLink] = (),
        time_from: str = "now-6h",
        refresh: str = "1m",
        folder: str | None = None,
        time_to: str = "now",
        timezone: str = "browser",
        refresh_choices: Sequence[str] = (),
        annotations: Sequence[Annotation | RawAnnotation] = (),
    ) -> None:
        if not _KEY.fullmatch(key):
            raise ValueError(f"dashboard key {key!r}: use 1-31 lowercase letters, digits, '-' or '_'")
        for name, value in (
            ("key", key), ("title", title), ("rows", tuple(rows)), ("variables", tuple(variables)),
            ("description", description), ("tags", tuple(tags)), ("links", tuple(links)),
            ("time_from", time_from), ("refresh", refresh), ("folder", folder), ("time_to", time_to),
            ("timezone", timezone), ("refresh_choices", tuple(refresh_choices)), ("annotations", tuple(annotations)),
        ):  # fmt: skip
            object.__setattr__(self, name, value)
        self._check_time(key)
        if folder is not None and (not isinstance(folder, str) or not all(p.strip() for p in folder.split("/"))):
            raise ValueError(f"dashboard {key}: folder {folder!r}: expected a folder path such as 'Components' or "
                             "'Team/Components', without empty parts")
        for row in self.rows:
            if not isinstance(row, Row):
                raise TypeError(f"dashboard {key}: rows takes Row values, got {type(row).__name__}")
        for annotation in self.annotations:
            if not isinstance(annotation, (Annotation, RawAnnotation)):
                raise TypeError(f"dashboard {key}: annotations takes Annotation values, got {annotation!r:.60}")
        names = [v.name for v in self.variables]
        for row in self.rows:
            if row.repeat is not None and row.repeat not in names:
                raise ValueError(
                    f"dashboard {key}: row {row.title!r} repeats by {row.repeat!r}, which is not one of its "
                    f"variables ({', '.join(names) or 'none'})"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"dashboard {key}: duplicate variables {names}")
        for variable in self.variables:
            for dependency in variable.depends_on:
                if dependency.name not in names[: names.index(variable.name)]:
                    raise ValueError(
                        f"dashboard {key}: variable {variable.name} depends on {dependency.name}, "
                        "which must be defined before it"
                    )

    def _check_time(self, key: str) -> None:
        for name in ("time_from", "time_to"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _TIME.fullmatch(value):
                raise ValueError(f"dashboard {key}: {name} {value!r}: expected e.g. now-6h, now, now/d or 2026-01-31")
        for value in (self.refresh, *self.refresh_choices):
            if not isinstance(value, str) or not _REFRESH.fullmatch(value):
                raise ValueError(f"dashboard {key}: refresh {value!r}: expected '' (off) or e.g. 30s, 1m, 5m, 1h")
        if self.refresh_choices and self.refresh and self.refresh not in self.refresh_choices:
            raise ValueError(f"dashboard {key}: refresh {self.refresh!r} is not one of refresh_choices")
        if self.timezone not in ("browser", "utc", "default", ""):
            import zoneinfo

            zones = zoneinfo.available_timezones()
            if zones and self.timezone not in zones:
                raise ValueError(f"dashboard {key}: timezone {self.timezone!r}: expected browser, utc or an IANA zone")

    def scope(self) -> dict[str, Variable]:
        """Dimension name -> the variable filtering it, for every panel query."""
        return {v.name: v.reference() for v in self.variables if isinstance(v, DimensionVariable)}
