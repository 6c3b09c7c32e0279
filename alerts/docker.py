"""Container alerts: OOM kills, restart loops, memory at the limit (cAdvisor / Telegraf inputs.docker)."""

from airflow_dash.alerts import Alert, Threshold
from airflow_dash.catalog import docker

oom_killed = Alert(
    name="ContainerOOMKilled",
    condition=Threshold(docker.oom_events, ">", 0),
    window="10m",
    for_="0s",  # one kill is already the event: nothing to wait for
    severity="warning",
    group="containers",
    summary="Container {container} on {host} was OOM-killed",
    description="{value} out-of-memory kill(s) in {container} on {host} in the last 10 minutes.",
    runbook="A task or service died mid-work: raise the container's memory limit or lower its concurrency; "
    "`docker inspect {container}` shows the limit, the Memory of limit panel how close it runs.",
    dashboard="docker",
    panel="OOM kills",
)

restarting = Alert(
    name="ContainerRestarting",
    # Never up for 5 minutes during the last 15: it keeps restarting (a new container passes after 5 minutes).
    condition=Threshold(docker.uptime, "<", 300e9, reduce="max"),
    window="15m",
    for_="5m",
    severity="warning",
    group="containers",
    summary="Container {container} on {host} keeps restarting",
    description="{container} on {host} has not stayed up for 5 minutes in the last 15 (longest uptime {value} ns).",
    runbook="Read why it exits: `docker logs --tail 100 {container}`, and its exit code in `docker inspect "
    "{container}` (137 is an OOM kill or a kill from outside).",
    dashboard="docker",
    panel="Container uptime",
)

memory_near_limit = Alert(
    name="ContainerMemoryNearLimit",
    condition=Threshold(docker.memory_limit_used, ">", 90),
    window="5m",
    for_="5m",
    severity="warning",
    group="containers",
    summary="Container {container} on {host} is close to its memory limit",
    description="{container} on {host} uses {value}% of its memory limit.",
    runbook="Raise the container's memory limit or lower its worker concurrency before it is OOM-killed.",
    dashboard="docker",
    panel="Memory of limit",
)

alerts = [oom_killed, restarting, memory_near_limit]
