"""A StatsD gauge ends at the last value Airflow set, on the real Telegraf with our generated telegraf.conf.

Telegraf's statsd input parses datagrams with `number_workers_threads` goroutines (5 by default): two sets of one
gauge sent back to back are then parsed concurrently and may be applied in the wrong order, so the gauge keeps
the older value until the next set (with Airflow's gauges sent once per scheduler loop, a whole loop or for ever
after the last one). That was the gauge final value that disagreed once in about six replays of the airflow2
capture. Our telegraf.conf runs one parser; statsd_exporter applies events in the order it reads them.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.components import wait_for

pytestmark = pytest.mark.slow

SERIES = 200
SETS = 5  # values 1..SETS, sent back to back per series: the last one (SETS) must win
FLUSH_S = 2


def _last_values(influxdb_v1, database: str) -> dict[str, float]:
    body = influxdb_v1.query(database, 'SELECT last("value") FROM "airflow_pool_open_slots" GROUP BY "pool"')
    return {s["tags"]["pool"]: s["values"][0][1] for r in body.get("results") or [] for s in r.get("series") or []}


def test_the_last_gauge_set_wins_on_real_telegraf(telegraf_factory, influxdb_v2, influxdb_v1):
    database = "gauge_order"
    agent = telegraf_factory(influxdb_v2, database, influxdb_v1.url, database, flush_interval_s=FLUSH_S)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for series in range(SERIES):
            for value in range(1, SETS + 1):
                sock.sendto(f"airflow.pool.open_slots.p{series}:{value}|g".encode(), ("127.0.0.1", agent.statsd_port))
            time.sleep(0.002)  # let the receive buffer drain: nothing may be lost, only reordered
    sent = time.time()

    def flushed_after_the_sends() -> bool:
        body = influxdb_v1.query(database, 'SELECT count("value") FROM "airflow_pool_open_slots" '
                                           f"WHERE time > {int(sent * 1e9)} GROUP BY \"pool\"")
        series = [s for r in body.get("results") or [] for s in r.get("series") or []]
        return len(series) == SERIES

    wait_for(flushed_after_the_sends, "a Telegraf flush after the last set, with every series", timeout_s=6 * FLUSH_S)
    last = _last_values(influxdb_v1, database)
    assert len(last) == SERIES
    wrong = {pool: value for pool, value in last.items() if value != SETS}
    assert wrong == {}, f"{len(wrong)} of {SERIES} gauges kept an older value: {sorted(wrong.items())[:5]}"
