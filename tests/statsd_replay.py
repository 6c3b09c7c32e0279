"""Replay a recorded Airflow StatsD capture over UDP, live, to real collectors.

StatsD arrives live: collectors stamp what they receive with their own clock (Telegraf flushes every interval,
statsd_exporter is scraped). So the replay keeps the capture's order and its timeline, compressed by
`speedup` (every gap between two lines is divided by it), one datagram per line as Airflow sends them. The
`ReplayWindow` it returns says where on the wall clock the capture landed, for the queries that follow.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.statsd_capture import parse_statsd_line

# Loopback UDP drops datagrams only when a receive buffer overflows; a short pause after this many
# back-to-back datagrams (lines recorded at the same instant) lets the collectors drain theirs.
BURST = 64
BURST_PAUSE_S = 0.002


@dataclass(frozen=True)
class ReplayWindow:
    """Wall-clock unix seconds of the capture's t=0 and of the last line sent, and the compression used."""

    start: float
    end: float
    speedup: float
    lines: int

    def wall_time(self, capture_t: float) -> float:
        """Where a line recorded at `capture_t` (seconds since capture start) was sent."""
        return self.start + capture_t / self.speedup


def capture_lines(path: str | Path) -> list[tuple[float, str]]:
    """(seconds since capture start, raw StatsD line) of a capture file, each line checked by the parser."""
    lines = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        if not raw or raw.startswith("#"):
            continue
        ts, _, line = raw.partition("\t")
        parse_statsd_line(line)
        lines.append((float(ts), line))
    return lines


def replay(lines: Sequence[tuple[float, str]], targets: Sequence[tuple[str, int]], speedup: float) -> ReplayWindow:
    """Send every line to every target, at its recorded time divided by `speedup`. Returns the wall-clock window."""
    if speedup <= 0:
        raise ValueError("speedup must be positive")
    if not lines:
        raise ValueError("nothing to replay")
    first_t = lines[0][0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        wall_start, mono_start = time.time(), time.monotonic()
        burst = 0
        for t, line in lines:
            delay = mono_start + (t - first_t) / speedup - time.monotonic()
            if delay > 0:
                time.sleep(delay)
                burst = 0
            elif burst >= BURST:
                time.sleep(BURST_PAUSE_S)
                burst = 0
            payload = line.encode()
            for target in targets:
                sock.sendto(payload, target)
            burst += 1
        wall_end = time.time()
    return ReplayWindow(start=wall_start - first_t / speedup, end=wall_end, speedup=speedup, lines=len(lines))
