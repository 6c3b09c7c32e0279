"""The bundled dashboards, installed as `airflow_dash.bundled`.

Each module defines `dashboard`; import one to extend or restyle it in your own dashboards directory:

    import dataclasses
    from airflow_dash.bundled import system

    dashboard = dataclasses.replace(system.dashboard, key="team-system", title="Team system")

A dashboard in your directory with the key of a bundled one replaces it (links to it then reach yours).
"""
