"""What lint works on and what it reports: dashboards as JSON documents, rules, findings.

A `DashboardDocument` is one dashboard model plus where it came from (a compiled bundled dashboard or a JSON
file). `LintedDashboard` is the same document indexed once for all rules: its panels with their rows, its
targets with their detected query language, its variables. Rules read it and never change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Literal, TypeVar

Severity = Literal["error", "warning"]
# What a rule's check reads (every linted dashboard, or one alert) and what it yields for each problem.
CheckInput = TypeVar("CheckInput", contravariant=True)
Problem = TypeVar("Problem", covariant=True)

# `lint-disable AD101` or `lint-disable AD101, AD304` anywhere in a description. Descriptions are plain JSON
# strings that Grafana keeps on every save, so the marker survives export, import and `pull`.
SUPPRESSION = re.compile(r"lint-disable((?:[\s,:;]+AD\d{3})+)")
RULE_ID = re.compile(r"AD\d{3}")


def suppressed_ids(description: object) -> frozenset[str]:
    """Rule ids a description disables (empty for anything but a string)."""
    if not isinstance(description, str):
        return frozenset()
    return frozenset(rule_id for match in SUPPRESSION.finditer(description) for rule_id in RULE_ID.findall(match.group(1)))


@dataclass(frozen=True)
class DashboardDocument:
    """One dashboard model to lint, with a file to point findings at and a label for humans."""

    source: str  # a file path (the JSON file, or the Python module a compiled dashboard came from)
    label: str  # "host-basics [prometheus]" or the dashboard title
    model: dict[str, Any] = field(hash=False, compare=False)
    # (panel title, refId) of queries written as raw text in Python (`promql.raw(...)`); JSON files have none.
    raw_queries: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class PanelInfo:
    """A panel (or row) with its place: the row it belongs to and whether a collapsed row holds it."""

    panel: dict[str, Any] = field(hash=False, compare=False)
    row_title: str | None  # None: above the first row
    index: int  # position in document order, for stable sorting
    holder: int | None = None  # index of the row whose `panels` hold it (collapsed rows); None: top-level flow
    legacy: bool = False  # inside a pre-schema-16 `rows[]` entry (no gridPos there)

    @property
    def title(self) -> str:
        return str(self.panel.get("title") or "")

    @property
    def type(self) -> str:
        return str(self.panel.get("type") or "")

    @property
    def is_row(self) -> bool:
        return self.type == "row"

    @property
    def grid_pos(self) -> dict[str, Any] | None:
        pos = self.panel.get("gridPos")
        return pos if isinstance(pos, dict) else None


@dataclass(frozen=True)
class QueryInfo:
    """One query: a panel target or a variable's query, with its language (None: not a language we check)."""

    text: str
    language: str | None
    datasource_type: str | None  # resolved plugin id, "mixed", or None when unknown/default
    panel: PanelInfo | None  # None for variable queries
    variable: str | None = None  # the variable's name for variable queries
    ref_id: str = "-"
    target: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def where(self) -> str:
        return f"variable {self.variable}" if self.variable else f"query {self.ref_id}"


@dataclass(frozen=True)
class Rule(Generic[CheckInput, Problem]):
    """One lint rule: a stable id, a severity, a one-line explanation, and the check that finds problems.

    A dashboard rule's `check` takes the linted dashboards and yields `(dashboard, panel or None, message)`;
    most rules look at one dashboard at a time (see `per_dashboard`), query-valid looks at all of them so each
    checker runs once. An alert rule's `check` takes one alert and yields messages.
    """

    id: str
    name: str
    severity: Severity
    summary: str
    check: Callable[[CheckInput], Iterable[Problem]] = field(hash=False, compare=False, repr=False)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    source: str
    dashboard: str
    panel: str | None = None
    grid_pos: tuple[int, int, int, int] | None = None  # (x, y, w, h)
    order: int = -1  # the panel's position in the document, for stable sorting

    @property
    def location(self) -> str:
        if self.panel is None:
            return self.dashboard
        where = f"{self.dashboard} panel '{self.panel}'"
        if self.grid_pos is not None:
            x, y, w, h = self.grid_pos
            where += f" (x={x} y={y} w={w} h={h})"
        return where

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "file": self.source,
            "dashboard": self.dashboard,
            "panel": self.panel,
            "gridPos": dict(zip("xywh", self.grid_pos)) if self.grid_pos else None,
        }
