"""Run dashboard queries against live datasources, the way Grafana would (backs `verify`).

- `interpolate`: Grafana's variable formats, datasource default escaping and macros;
- `runner`: `PrometheusLive`, `InfluxQLLive`, `FluxLive` (`run`, `variable_values`);
- `verify`: `verify_dashboard(model, datasource, time_range)` and `format_results`.
"""

from airflow_dash.live.interpolate import Dialect, QueryContext, TimeRange, VariableValue, interpolate
from airflow_dash.live.runner import FluxLive, InfluxQLLive, LiveDatasource, PrometheusLive, QueryResult, Series
from airflow_dash.live.verify import PanelResult, format_results, has_problems, verify_dashboard

__all__ = [
    "Dialect", "QueryContext", "TimeRange", "VariableValue", "interpolate",
    "FluxLive", "InfluxQLLive", "LiveDatasource", "PrometheusLive", "QueryResult", "Series",
    "PanelResult", "format_results", "has_problems", "verify_dashboard",
]
