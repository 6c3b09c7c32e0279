#!/usr/bin/env python3
"""Minimal UDP StatsD recorder (stdlib only).

Listens on 127.0.0.1:<port> and appends every received StatsD line to a file as

    <seconds since capture start, 3 decimals>\t<raw statsd line>

A datagram may hold several newline-separated metrics; each becomes one row.
The file starts with ``#`` header lines (airflow version, UTC date, prefix, command).

Usage:
    recorder.py --out FILE [--port 0] [--port-file F] [--header 'airflow 3.x'] ...

With ``--port 0`` a free port is picked and written to ``--port-file`` (and stdout),
so the caller can hand it to Airflow. Stops cleanly on SIGTERM/SIGINT, or after
``--max-seconds``. Run with ``--self-test`` for a quick loopback check.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import select
import signal
import socket
import sys
import time


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="capture file to write")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--port-file", help="write the bound port number here once listening")
    p.add_argument("--airflow-version", default="unknown")
    p.add_argument("--prefix", default="airflow")
    p.add_argument("--command", default="", help="free text for the '# command' header line")
    p.add_argument("--header", action="append", default=[], help="extra '# ...' header line (repeatable)")
    p.add_argument("--max-seconds", type=float, default=0.0, help="stop after this long (0 = until signalled)")
    p.add_argument("--self-test", action="store_true")
    return p.parse_args(argv)


class Recorder:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Large receive buffer: Airflow bursts many small datagrams at once.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        except OSError:
            pass
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        self.start = time.monotonic()
        self.lines = 0
        self._stop = False

    def stop(self, *_a) -> None:
        self._stop = True

    def run(self, out, max_seconds: float = 0.0) -> None:
        deadline = self.start + max_seconds if max_seconds > 0 else None
        while not self._stop:
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.25)
            except InterruptedError:
                continue
            if not ready:
                continue
            # Drain everything that is queued right now.
            while True:
                try:
                    data = self.sock.recv(65535, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    break
                t = time.monotonic() - self.start
                for raw in data.decode("utf-8", "replace").splitlines():
                    raw = raw.strip()
                    if raw:
                        out.write(f"{t:.3f}\t{raw}\n")
                        self.lines += 1
            out.flush()
        self.sock.close()


def _header(args: argparse.Namespace) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"# airflow {args.airflow_version}",
        f"# recorded {now}",
        f"# prefix {args.prefix}",
        f"# command {args.command}".rstrip(),
    ]
    lines += [f"# {h}" for h in args.header]
    lines.append("# format: <seconds since capture start>\\t<raw statsd line>")
    return "\n".join(lines) + "\n"


def _self_test() -> int:
    import tempfile
    import threading

    rec = Recorder("127.0.0.1", 0)
    with tempfile.NamedTemporaryFile("w+", suffix=".tsv") as f:
        th = threading.Thread(target=rec.run, args=(f, 3.0), daemon=True)
        th.start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"airflow.a:1|c\nairflow.b:2.5|ms", ("127.0.0.1", rec.port))
        s.sendto(b"airflow.c:3|g|#x:y", ("127.0.0.1", rec.port))
        time.sleep(0.6)
        rec.stop()
        th.join()
        f.seek(0)
        rows = [r.rstrip("\n").split("\t", 1)[1] for r in f]
    ok = rows == ["airflow.a:1|c", "airflow.b:2.5|ms", "airflow.c:3|g|#x:y"]
    print("self-test", "ok" if ok else f"FAILED: {rows}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.self_test:
        return _self_test()
    if not args.out:
        print("--out is required", file=sys.stderr)
        return 2
    rec = Recorder(args.host, args.port)
    signal.signal(signal.SIGTERM, rec.stop)
    signal.signal(signal.SIGINT, rec.stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as pf:
            pf.write(f"{rec.port}\n")
        os.replace(tmp, args.port_file)
    print(f"recording statsd on {args.host}:{rec.port} -> {args.out}", flush=True)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(_header(args))
        out.flush()
        rec.run(out, args.max_seconds)
    print(f"recorder stopped after {time.monotonic() - rec.start:.1f}s, {rec.lines} lines", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
