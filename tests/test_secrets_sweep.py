"""No secret in any output of any command, under failures (issue 9).

The server here is hostile on purpose: it looks enough like Grafana (and InfluxDB) to be talked to, then
answers every request with an error that echoes the request back, credentials first (the Authorization
header, then secure fields of the body, then the rest). Every command runs against it, with and without
`--debug`; each run's stdout and stderr must hold none of the secrets in any form a server echoes, and the
echo must have reached the output (or the test would prove nothing).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from airflow_dash.grafana.model import pretty_json
from airflow_dash.scrub import Scrubber, ScrubbingStream
from tests.grafana_fixtures import sample_dashboard

REPO = Path(__file__).resolve().parents[1]
GRAFANA_USER, GRAFANA_PASSWORD = "deployer", "grafana-pw-Zq81x"
URL_USER, URL_PASSWORD = "urluser", "url-pw-Kk20p"
SECRETS = {
    "GRAFANA_TOKEN": "glsa_SweepTok3nValue_9d1c0ffee",
    "GRAFANA_PASSWORD": GRAFANA_PASSWORD,
    "INFLUXDB_TOKEN": "influx-token-Hq2w9e7r",
    "INFLUXQL_PASSWORD": "influxql-pw-Lm4n5b",
    "INFLUX_TOKEN": "verify-flux-token-Pp0o9i",
    "INFLUX_PASSWORD": "verify-influxql-pw-Uu7y6t",
}


def forms() -> set[str]:
    """Every form of every secret an echoing server could hand back."""
    result = set()
    for value in [*SECRETS.values(), URL_PASSWORD]:
        result |= {value, quote(value, safe="")}
    for user, password in ((GRAFANA_USER, GRAFANA_PASSWORD), (URL_USER, URL_PASSWORD), ("grafana", SECRETS["INFLUXQL_PASSWORD"]),
                           ("reader", SECRETS["INFLUX_PASSWORD"])):
        result.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    return result


class EchoHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _echo(self, status: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"raw": raw}
        secure = body.get("secureJsonData") if isinstance(body, dict) else None
        echo = (f"echo Authorization={self.headers.get('Authorization')} secure={json.dumps(secure)} "
                f"token-header={self.headers.get('Authorization', '').split(' ')[-1]} {self.command} {self.path} "
                f"body={raw[:2000]}")
        self._send(status, {"message": echo, "error": echo, "code": "invalid"})

    def do_GET(self) -> None:
        if self.path.startswith("/api/dashboards/uid/echoed"):  # a dashboard that carries the request back
            model = {**sample_dashboard("sweep", "echoed").model, "uid": "echoed",
                     "description": f"seen: Authorization={self.headers.get('Authorization')} "
                                    f"token={self.headers.get('Authorization', '').split(' ')[-1]} "
                                    f"from {self.headers.get('Host')}"}
            self._send(200, {"dashboard": model, "meta": {"folderUid": ""}})
            return
        if self.path.startswith("/api/health"):
            self._send(200, {"commit": "abc", "database": "ok", "version": "11.3.0"})
            return
        self._echo(500)

    def do_POST(self) -> None:
        self._echo(400)

    do_PUT = do_POST
    do_DELETE = do_GET


@pytest.fixture(scope="module")
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    (root / "pyproject.toml").write_text(
        f'[tool.airflow-dash]\ndatasources_dir = "{REPO / "datasources"}"\ndashboards_dir = "{REPO / "dashboards"}"\n')
    compiled = root / "compiled"
    compiled.mkdir()
    d = sample_dashboard("sweep", "one")
    (compiled / f"{d.uid}.json").write_text(pretty_json(d.model))
    return root


def environment(echo_url: str, auth: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "AIRFLOW_DASH_", "INFLUX"))}
    host = echo_url.split("//", 1)[1]
    env.update({
        "PYTHONPATH": str(REPO), "AIRFLOW_DASH_RETRIES": "0",
        "PROMETHEUS_URL": echo_url, "INFLUXDB_URL": echo_url, "INFLUXDB_ORG": "airflow", "INFLUXDB_BUCKET": "airflow",
        "INFLUXDB_TOKEN": SECRETS["INFLUXDB_TOKEN"], "INFLUXQL_URL": echo_url, "INFLUXQL_DATABASE": "airflow",
        "INFLUXQL_USER": "grafana", "INFLUXQL_PASSWORD": SECRETS["INFLUXQL_PASSWORD"],
        "INFLUX_TOKEN": SECRETS["INFLUX_TOKEN"], "INFLUX_PASSWORD": SECRETS["INFLUX_PASSWORD"], "INFLUX_USER": "reader",
        "INFLUX_ORG": "airflow",
    })
    if auth == "token":
        env.update({"GRAFANA_URL": echo_url, "GRAFANA_TOKEN": SECRETS["GRAFANA_TOKEN"]})
    elif auth == "basic":
        env.update({"GRAFANA_URL": echo_url, "GRAFANA_USER": GRAFANA_USER, "GRAFANA_PASSWORD": GRAFANA_PASSWORD})
    else:  # credentials inside the URL
        env.update({"GRAFANA_URL": f"http://{URL_USER}:{URL_PASSWORD}@{host}"})
    return env


COMMANDS = {
    "publish": ["publish", "--from-dir", "compiled"],
    "publish-bundled": ["publish", "host-basics"],
    "publish-datasources": ["publish", "--datasources-only"],
    "dry-run": ["publish", "--from-dir", "compiled", "--dry-run", "--output", "json"],
    "diff": ["diff", "--from-dir", "compiled", "--output", "markdown"],
    "pull": ["pull", "some-uid"],
    "config": ["config"],
    "config-json": ["config", "--output", "json"],
}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("auth", ["token", "basic", "url"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_secret_in_any_output(echo_url, workdir, command, auth, debug):
    args = (["--debug"] if debug else []) + COMMANDS[command]
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=workdir,
                            env=environment(echo_url, auth), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    leaked = sorted(f for f in forms() if f in output)
    assert leaked == [], f"{command}: leaked {leaked}\n{output[-3000:]}"
    if not command.startswith("config"):
        assert "echo " in output or "Authorization" in output or result.returncode != 0, output[-2000:]
    if command.startswith("publish") and command != "dry-run":
        assert "echo Authorization=" in output, output[-2000:]  # the echo really reached the output


@pytest.mark.parametrize("auth", ["token", "basic", "url"])
def test_no_secret_in_pulled_files_and_they_stay_inside_out(echo_url, tmp_path, auth):
    """A server that echoes the Authorization header into a dashboard: the pulled file masks it (and stays
    JSON), and nothing is written outside --out."""
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "pull", "--out", "out", "echoed"], cwd=tmp_path,
                            env=environment(echo_url, auth), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / "out" / "echoed.json"]
    text = files[0].read_text()
    model = json.loads(text)
    assert "seen: Authorization=" in model["description"]  # the echo reached the file
    leaked = sorted(f for f in forms() if f in text + result.stdout + result.stderr)
    assert leaked == [], leaked


@pytest.mark.parametrize("args", [
    ["verify", "--backend", "flux", "--url", "{url}", "--org", "airflow", "--bucket", "airflow", "host-basics"],
    ["verify", "--backend", "influxql", "--url", "{url}", "--database", "telegraf", "host-basics"],
    ["--debug", "verify", "--backend", "flux", "--url", "{url}", "--org", "airflow", "host-basics"],
], ids=["flux", "influxql", "flux-debug"])
def test_verify_never_prints_the_datasource_credentials(echo_url, workdir, args):
    args = [a.format(url=echo_url) for a in args] + ["--dashboards-dir", str(REPO / "dashboards")]
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=workdir,
                            env=environment(echo_url, "token"), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    leaked = sorted(f for f in forms() if f in output)
    assert leaked == [], f"leaked {leaked}\n{output[-3000:]}"


def test_config_shows_the_url_without_its_password(workdir, echo_url):
    env = environment(echo_url, "url")
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "config"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert URL_PASSWORD not in result.stdout and f"{URL_USER}:***@" in result.stdout


def test_stream_scrubs_a_secret_written_in_pieces():
    import io

    scrubber = Scrubber()
    scrubber.register("piecewise-secret-1")
    sink = io.StringIO()
    stream = ScrubbingStream(sink, scrubber)
    stream.write("before piecewise-")
    stream.write("secret-1 after\npartial ")
    assert sink.getvalue() == "before *** after\n"
    stream.flush()
    assert sink.getvalue().endswith("partial ")


def test_scrubber_masks_known_secrets_in_echoed_forms_and_secret_shapes():
    scrubber = Scrubber()
    scrubber.register_environment({"GRAFANA_USER": "alice", "GRAFANA_PASSWORD": "s3cret/pw+1", "MY_API_KEY": "k-123456",
                                   "GRAFANA_URL": "https://bob:hunter22@grafana.example"})
    basic = base64.b64encode(b"alice:s3cret/pw+1").decode()
    text = (f"pw=s3cret/pw+1 quoted={quote('s3cret/pw+1', safe='')} hdr={basic} key=k-123456 hunter22 "
            'https://carol:other-pw@h/x {"token": "t0k", "name": "n"} Authorization: Bearer abc.def-123 '
            "glsa_0123456789abcdef Basic credentials rejected")
    clean = scrubber.scrub(text)
    for secret in ("s3cret/pw+1", quote("s3cret/pw+1", safe=""), basic, "k-123456", "hunter22", "other-pw", "t0k",
                   "abc.def-123", "0123456789abcdef"):
        assert secret not in clean, (secret, clean)
    assert "carol:***@h/x" in clean and '"name": "n"' in clean and "Basic credentials rejected" in clean
