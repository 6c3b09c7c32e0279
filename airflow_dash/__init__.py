"""airflow-dash: Grafana dashboards for Apache Airflow, as code.

The public API, layer by layer (each imports only the ones before it):

- query builders: `airflow_dash.query.promql`, `.flux`, `.influxql`, typed values in `.query.values`;
- metric catalog: `Signal`, `Dimension`, `TelegrafSeries`, `Unsupported` and the bundled signals in
  `airflow_dash.catalog.host`, `.docker`, `.airflow`;
- panels and dashboards: `timeseries`, `stat`, `gauge`, `bargauge`, `table`, `text`, `Row`, `Dashboard`,
  `DimensionVariable`, `DashboardLink`;
- compile: `compile_all`, `compile_dashboard`; build: `airflow_dash.build`;
- publish: `airflow_dash.grafana`; the CLI: `airflow_dash.cli`.
"""

import importlib

__version__ = "0.1.0"

# Imported on first use, so `airflow-dash --help` and commands that need none of it start fast.
_EXPORTS = {
    "airflow_dash.catalog.model": ("COUNTER", "DELTA", "GAUGE", "Dimension", "Signal", "TelegrafSeries", "Unsupported"),
    "airflow_dash.compile": ("CompiledDashboard", "compile_all", "compile_dashboard"),
    "airflow_dash.dashboard": ("Dashboard", "DashboardLink", "DimensionVariable"),
    "airflow_dash.panels": ("PanelLink", "Query", "Row", "bargauge", "gauge", "stat", "table", "text", "thresholds", "timeseries"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'airflow_dash' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
