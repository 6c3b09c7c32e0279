"""Dimensions shared by the catalog: what series are split and filtered by, named per stack.

Telegraf tags every point with `host` (its `hostname` setting, `$HOST_NAME` in our config); node_exporter
series carry the scrape target as `instance`.

>>> from airflow_dash.catalog.dimensions import CONTAINER, HOST
>>> (HOST.prometheus_label, HOST.telegraf_tag), (CONTAINER.prometheus_label, CONTAINER.telegraf_tag)
(('instance', 'host'), ('name', 'container_name'))
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

# Hosts as seen by cAdvisor (Prometheus) and Telegraf's inputs.docker. Same variable name as HOST, so links
# between the System and Docker dashboards carry the selection over. On Prometheus the `instance` of cAdvisor
# is its own scrape address: relabel `instance` to the host name in both jobs for the two to line up.
DOCKER_HOST = Dimension(
    "host",
    "Host",
    prometheus_label="instance",
    telegraf_tag="host",
    prometheus_values_from="container_last_seen",
    telegraf_values_from="docker_container_cpu",
)

# A mounted filesystem: node_exporter's `mountpoint`, Telegraf disk's `path`.
MOUNTPOINT = Dimension("mountpoint", "Mount point", prometheus_label="mountpoint", telegraf_tag="path")

# A block device: node_exporter diskstats' `device`, Telegraf diskio's `name`.
DISK = Dimension("disk", "Disk", prometheus_label="device", telegraf_tag="name")

# A network interface: node_exporter netdev's `device`, Telegraf net's `interface`.
INTERFACE = Dimension("interface", "Interface", prometheus_label="device", telegraf_tag="interface")

# A Docker container by name: cAdvisor's `name`, Telegraf docker's `container_name`.
CONTAINER = Dimension(
    "container",
    "Container",
    prometheus_label="name",
    telegraf_tag="container_name",
    prometheus_values_from="container_last_seen",
    telegraf_values_from="docker_container_cpu",
)
