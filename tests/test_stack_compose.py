"""docker-compose.yml (the real stacks for users) agrees with what the project generates.

Docker cannot run on these machines, so this checks the wiring instead: every mounted collector config is one
`airflow-dash collectors` writes, every variable the datasource files need is set for Grafana, datasource
provisioning loads with that environment, and the ports match the generated scrape targets and Airflow's.
"""

from pathlib import Path

import yaml

from airflow_dash.collectors import FILES, render_collectors
from airflow_dash.grafana.datasources import load_datasources

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_collector_configs_mounted_are_the_generated_ones():
    services = compose()["services"]
    mounted = {Path(v.split(":")[0]).name for s in services.values() for v in s.get("volumes", []) if v.startswith("./build/collectors/")}
    assert mounted == set(FILES)
    makefile = (ROOT / "Makefile").read_text()
    assert "stack-up: collectors" in makefile and "$(OUT)/collectors" in makefile


def test_grafana_environment_satisfies_every_datasource_file():
    grafana_env = {k: str(v) for k, v in compose()["services"]["grafana"]["environment"].items()}
    specs = load_datasources(ROOT / "datasources", env=grafana_env)
    assert {s.uid for s in specs} == {"prometheus", "influxdb-flux", "influxdb-influxql"}


def test_scrape_targets_and_ports_line_up():
    services = compose()["services"]
    scrape = yaml.safe_load(render_collectors()["prometheus.yml"])
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    for target in targets:
        host, port = target.split(":")
        assert host in services, target
    assert "9125:9125/udp" in services["statsd-exporter"]["ports"]
    assert "8125:8125/udp" in services["telegraf"]["ports"]
    telegraf_conf = render_collectors()["telegraf.conf"]
    assert 'service_address = ":8125"' in telegraf_conf
