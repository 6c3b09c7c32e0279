"""Test helpers for airflow-dash and its users (no third-party dependencies)."""

from airflow_dash.testing.grafana_emulator import FaultPlan, GrafanaEmulator, RecordedRequest

__all__ = ["FaultPlan", "GrafanaEmulator", "RecordedRequest"]
