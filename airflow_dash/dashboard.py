"""A dashboard defined once: rows of panels over catalog signals, and variables bound to catalog dimensions.

    dashboard = Dashboard(
        key="system",
        title="System",
        variables=[DimensionVariable(HOST)],
        rows=[Row("CPU", [timeseries("CPU busy", host.cpu_busy)])],
    )

Nothing here depends on a backend: `airflow_dash.compile` renders it for each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from airflow_dash.catalog.model import Dimension
from airflow_dash.panels import Row
from airflow_dash.query.values import Variable

_KEY = re.compile(r"[a-z][a-z0-9_-]{0,30}")


@dataclass(frozen=True)
class DimensionVariable:
    """A query variable listing the values of a catalog dimension (host, container, dag_id...).

    `depends_on` chains it: its values are filtered by those variables (e.g. containers of the chosen hosts).
    Multi-value with "All" by default; "All" expands to every value (no custom all-value), which is the
    form every backend's regex rendering handles.
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
        return Variable(self.dimension.name, multi=self.multi or self.include_all)


@dataclass(frozen=True)
class DashboardLink:
    """A link in the dashboard header to another bundled dashboard (same backend)."""

    title: str
    dashboard: str
    keep_time: bool = True
    keep_variables: bool = True


@dataclass(frozen=True)
class Dashboard:
    key: str
    title: str
    rows: tuple[Row, ...]
    variables: tuple[DimensionVariable, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[DashboardLink, ...] = ()
    time_from: str = "now-6h"
    refresh: str = "1m"
    folder: str | None = None

    def __init__(
        self,
        key: str,
        title: str,
        rows: Sequence[Row],
        variables: Sequence[DimensionVariable] = (),
        description: str = "",
        tags: Sequence[str] = (),
        links: Sequence[DashboardLink] = (),
        time_from: str = "now-6h",
        refresh: str = "1m",
        folder: str | None = None,
    ) -> None:
        if not _KEY.fullmatch(key):
            raise ValueError(f"dashboard key {key!r}: use 1-31 lowercase letters, digits, '-' or '_'")
        for name, value in (
            ("key", key), ("title", title), ("rows", tuple(rows)), ("variables", tuple(variables)),
            ("description", description), ("tags", tuple(tags)), ("links", tuple(links)),
            ("time_from", time_from), ("refresh", refresh), ("folder", folder),
        ):  # fmt: skip
            object.__setattr__(self, name, value)
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise ValueError(f"dashboard {key}: duplicate variables {names}")
        for variable in self.variables:
            for dependency in variable.depends_on:
                if dependency.name not in names[: names.index(variable.name)]:
                    raise ValueError(
                        f"dashboard {key}: variable {variable.name} depends on {dependency.name}, "
                        "which must be defined before it"
                    )

    def scope(self) -> dict[str, Variable]:
        """Dimension name -> the variable filtering it, for every panel query."""
        return {v.name: v.reference() for v in self.variables}
