"""The scheduler alert on a real Prometheus, in real time: our rule file loaded by `prometheus`, a real Airflow
capture sent over UDP to a real statsd_exporter on our mapping, and the alert read from the `ALERTS` series.

Two identical pipelines run side by side for the same minutes: one gets the capture's scheduler phase once
(compressed 5x, as tests/test_real_pipelines.py does) and then nothing more, as when the scheduler stops; the
other gets the same phase in a loop the whole time. The first must fire AirflowSchedulerHeartbeatMissing within
one evaluation interval of "last heartbeat + window + for"; the second must not fire it. Takes ~5 minutes of
wall-clock time (the alert's own window and `for`), little CPU.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from airflow_dash.build import compile_alert_rules
from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
from tests.servers import PrometheusServer, free_port, start_process, wait_until
from tests.statsd_capture import FIXTURE_DIR
from tests.statsd_replay import capture_lines, replay

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ALERT = "AirflowSchedulerHeartbeatMissing"
SPEEDUP = 5.0
WINDOW_S, FOR_S, EVAL_S = 120, 60, 60  # the alert's window and `for`; our rule groups' interval


def _start_prometheus(work_dir: Path, target: str, rule_file: Path):
    config = work_dir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [\"{rule_file}\"]\n"
        "scrape_configs:\n  - job_name: statsd\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
        f"    static_configs:\n      - targets: [\"{target}\"]\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_process("prometheus", [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={work_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", f"--web.console.templates={work_dir}",
        f"--web.console.libraries={work_dir}"], work_dir)
    try:
        wait_until(lambda: requests.get(f"{url}/-/ready", timeout=2).status_code == 200, process, "/-/ready")
    except BaseException:
        process.stop()
        raise
    return process, PrometheusServer(url=url, data_dir=work_dir / "data")


def _firing_times(prometheus: PrometheusServer, start: float, end: float) -> list[float]:
    data = prometheus.query_range(f'ALERTS{{alertname="{ALERT}", alertstate="firing"}}', start, end, 1)
    return sorted(float(t) for series in data["result"] for t, _ in series["values"])


def _last_increase(prometheus: PrometheusServer, start: float, end: float) -> float:
    """When Prometheus last saw the heartbeat counter grow: the scheduler's stop as the rule engine sees it
    (the replay's sleeps can run late on a loaded machine, so the send time is not the reference)."""
    data = prometheus.query_range("sum(airflow_scheduler_heartbeat_total)", start, end, 1)
    values = [(float(t), float(v)) for t, v in data["result"][0]["values"]]
    final = values[-1][1]
    return next(t for t, v in values if v == final)


def test_real_prometheus_fires_the_scheduler_alert_when_heartbeats_stop(statsd_exporter_factory, tmp_path):
    path = FIXTURE_DIR / "airflow3.tsv"
    if not path.exists():
        pytest.skip(f"{path.name} is not recorded")
    rule_file = tmp_path / "airflow-dash.rules.yml"
    rule_file.write_text(compile_alert_rules(["prometheus"], ROOT / "dashboards", ROOT / "alerts").prometheus.to_yaml())
    lines = capture_lines(path)
    beats = [t for t, line in lines if line.startswith("airflow.scheduler_heartbeat:")]
    phase = [(t, line) for t, line in lines if beats[0] <= t <= beats[-1]]  # the scheduler's part of the capture

    pipelines = {}
    for kind in ("stopped", "running"):
        exporter = statsd_exporter_factory(statsd_mapping_yaml("airflow"))
        work_dir = tmp_path / kind
        work_dir.mkdir()
        pipelines[kind] = (exporter, *_start_prometheus(work_dir, exporter.target, rule_file))
    try:
        for _, process, prometheus in pipelines.values():
            rules = requests.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            assert ALERT in {r["name"] for g in rules for r in g["rules"]}  # our rule file is loaded for real

        stop_looping = threading.Event()

        def keep_running() -> None:
            exporter = pipelines["running"][0]
            while not stop_looping.is_set():
                replay(phase, [("127.0.0.1", exporter.statsd_port)], SPEEDUP)

        looper = threading.Thread(target=keep_running, daemon=True)
        looper.start()
        started = time.time()
        window = replay(phase, [("127.0.0.1", pipelines["stopped"][0].statsd_port)], SPEEDUP)
        last_beat = window.wall_time(beats[-1] - phase[0][0])
        deadline = last_beat + WINDOW_S + FOR_S + EVAL_S + 20
        stopped = pipelines["stopped"][2]
        while time.time() < deadline and not _firing_times(stopped, started, time.time()):
            time.sleep(5)
        time.sleep(max(0.0, min(deadline, time.time() + 5) - time.time()))
        stop_looping.set()
        looper.join(timeout=120)

        fired = _firing_times(stopped, started, time.time())
        assert fired, "the scheduler alert never fired on the real Prometheus"
        stop = _last_increase(stopped, started, time.time())
        assert abs(stop - last_beat) < 30  # the counter stopped where the replay stopped sending heartbeats
        # It fires at the first evaluation after the window emptied, plus `for`: one evaluation interval of
        # tolerance (the group's evaluation phase), plus a second for the scrape.
        print(f"\nreal Prometheus: heartbeats stopped at +0 s, alert fired at +{fired[0] - stop:.0f} s "
              f"(window + for = {WINDOW_S + FOR_S} s, evaluation every {EVAL_S} s)")
        assert 0 <= fired[0] - (stop + WINDOW_S + FOR_S) <= EVAL_S + 2, fired[0] - stop
        assert _firing_times(pipelines["running"][2], started, time.time()) == []
    finally:
        for _, process, _ in pipelines.values():
            process.stop()
