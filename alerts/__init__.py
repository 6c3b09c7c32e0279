"""The bundled alerts, installed as `airflow_dash.bundled_alerts`: Airflow, host and container alerts over the
catalog signals the bundled dashboards show. Each module defines `alerts = [...]`.

An alert in your alerts directory with the name of a bundled one replaces it; to tune one, import it:

    import dataclasses
    from airflow_dash.bundled_alerts import airflow

    alert = dataclasses.replace(airflow.pool_starving, for_="15m")
"""
