"""Package layout only (metadata is in pyproject.toml): the bundled dashboards are the top-level dashboards/
directory, shipped as `airflow_dash.bundled` so users can import and extend them; the bundled alerts (alerts/)
ship as `airflow_dash.bundled_alerts`."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["airflow_dash", "airflow_dash.*"]), "airflow_dash.bundled",
              "airflow_dash.bundled_alerts"],
    package_dir={"airflow_dash.bundled": "dashboards", "airflow_dash.bundled_alerts": "alerts"},
)
