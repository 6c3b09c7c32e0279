"""Dimensions shared by the catalog: what series are split and filtered by, named per stack.

Telegraf tags every point with `host` (its `hostname` setting, `$HOST_NAME` in our config); node_exporter
series carry the scrape target as `instance`.
"""

from airflow_dash.catalog.model import Dimension

HOST = Dimension(
    "host",
    "Host",
    prometheus_label="instance",
    telegraf_tag="host",
    prometheus_values_from="node_uname_info",
    telegraf_values_from="system",
)
