"""airflow-dash: Grafana dashboards for Apache Airflow, as code.

The public API, layer by layer (each imports only the ones before it):

- query builders: `airflow_dash.query.promql`, `.flux`, `.influxql`, typed values in `.query.values`;
- metric catalog: `Signal`, `Dimension`, `TelegrafSeries`, `Unsupported` and the bundled signals in
  `airflow_dash.catalog.host`, `.docker`, `.airflow`;
- panels and dashboards: `timeseries`, `stat`, `gauge`, `bargauge`, `table`, `text`, `state_timeline`,
  `heatmap`, `barchart`, `piechart`, `logs`, `RawPanel`, `LibraryPanel`, `Row`, `Dashboard`,
  `DimensionVariable`, `DashboardLink`, `Annotation`; field config values in `airflow_dash.field_config`
  (guide: docs/library.md);
- compile: `compile_all`, `compile_dashboard`; build: `airflow_dash.build`;
- publish: `airflow_dash.grafana`; the CLI: `airflow_dash.cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Imported on first use, so `airflow-dash --help` and commands that need none of it start fast.
_EXPORTS = {
    "airflow_dash.catalog.model": (
        "COUNTER", "DELTA", "GAUGE", "Dimension", "FluxScope", "InfluxQLScope", "PromScope", "Signal",
        "TelegrafSeries", "Unsupported",
    ),
    "airflow_dash.compile": ("CompiledDashboard", "compile_all", "compile_dashboard"),
    "airflow_dash.dashboard": ("Annotation", "Dashboard", "DashboardLink", "DimensionVariable"),
    "airflow_dash.panels": (
        "LibraryPanel", "PanelLink", "Query", "RawPanel", "Row", "UrlLink", "barchart", "bargauge", "gauge", "heatmap",
        "logs", "piechart", "stat", "state_timeline", "table", "text", "thresholds", "timeseries",
    ),
    "airflow_dash.query.raw": ("RawQuery",),
}  # fmt: skip
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:  # what type checkers see (explicit re-exports); at run time names load lazily via __getattr__
    from airflow_dash.catalog.model import COUNTER as COUNTER
    from airflow_dash.catalog.model import DELTA as DELTA
    from airflow_dash.catalog.model import GAUGE as GAUGE
    from airflow_dash.catalog.model import Dimension as Dimension
    from airflow_dash.catalog.model import FluxScope as FluxScope
    from airflow_dash.catalog.model import InfluxQLScope as InfluxQLScope
    from airflow_dash.catalog.model import PromScope as PromScope
    from airflow_dash.catalog.model import Signal as Signal
    from airflow_dash.catalog.model import TelegrafSeries as TelegrafSeries
    from airflow_dash.catalog.model import Unsupported as Unsupported
    from airflow_dash.compile import CompiledDashboard as CompiledDashboard
    from airflow_dash.compile import compile_all as compile_all
    from airflow_dash.compile import compile_dashboard as compile_dashboard
    from airflow_dash.dashboard import Annotation as Annotation
    from airflow_dash.dashboard import Dashboard as Dashboard
    from airflow_dash.dashboard import DashboardLink as DashboardLink
    from airflow_dash.dashboard import DimensionVariable as DimensionVariable
    from airflow_dash.panels import LibraryPanel as LibraryPanel
    from airflow_dash.panels import PanelLink as PanelLink
    from airflow_dash.panels import Query as Query
    from airflow_dash.panels import RawPanel as RawPanel
    from airflow_dash.panels import Row as Row
    from airflow_dash.panels import UrlLink as UrlLink
    from airflow_dash.panels import barchart as barchart
    from airflow_dash.panels import bargauge as bargauge
    from airflow_dash.panels import gauge as gauge
    from airflow_dash.panels import heatmap as heatmap
    from airflow_dash.panels import logs as logs
    from airflow_dash.panels import piechart as piechart
    from airflow_dash.panels import stat as stat
    from airflow_dash.panels import state_timeline as state_timeline
    from airflow_dash.panels import table as table
    from airflow_dash.panels import text as text
    from airflow_dash.panels import thresholds as thresholds
    from airflow_dash.panels import timeseries as timeseries
    from airflow_dash.query.raw import RawQuery as RawQuery


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'airflow_dash' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
