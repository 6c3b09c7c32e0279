"""`python -m airflow_dash.testing [--flavor grafana11|grafana13] [--token TOKEN]`: serve the Grafana emulator
on a free loopback port until Ctrl-C or SIGTERM, to try publish, diff, pull and import without a Grafana.

It prints `export GRAFANA_URL=...` first; export GRAFANA_TOKEN as the --token value too (an Admin token,
default glsa_emulator_admin; not printed: tokens never are). State is in memory, gone when it stops.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from airflow_dash.testing.grafana_emulator import FLAVORS, GrafanaEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_dash.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", choices=[f for f in FLAVORS if f != "newest"], default="grafana11",
                        help="which Grafana's API to emulate (default grafana11)")
    parser.add_argument("--token", default="glsa_emulator_admin", help="the Admin service-account token it accepts")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with GrafanaEmulator(tokens={args.token: "Admin"}, flavor=args.flavor) as emulator:
        print(f"export GRAFANA_URL={emulator.url}", flush=True)
        print(f"Grafana emulator ({args.flavor}) serving; GRAFANA_TOKEN is the --token value; Ctrl-C to stop",
              file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
