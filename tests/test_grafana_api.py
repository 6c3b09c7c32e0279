"""Which API a server gets, and what the version-independent interface reports (airflow_dash.grafana.api)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_dash.errors import UserError
from airflow_dash.grafana.api import ServerInfo, parse_release
from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.testing.grafana_emulator import GrafanaEmulator


@pytest.mark.parametrize("text, release", [("11.3.0", (11, 3)), ("13.2.1", (13, 2)), ("v12.0.0+security-01", (12, 0)),
                                           ("8.3.3", (8, 3)), ("", None), ("main", None)])
def test_release_is_parsed_from_health_versions(text, release):
    assert parse_release(text) == release


@pytest.mark.parametrize("version, api, expected", [
    ("11.6.0", "", 41), ("12.1.0", "dashboard.grafana.app/v1beta1", 41), ("12.2.0", "dashboard.grafana.app/v1beta1", 42),
    ("13.0.0", "dashboard.grafana.app/v1", 42), ("", "dashboard.grafana.app/v1", 42), ("", "", 41), ("8.3.3", "", 41),
])
def test_schema_version_follows_the_target(version, api, expected):
    assert ServerInfo(version=version, api="resources" if api else "legacy", dashboard_api=api).schema_version == expected


def test_grafana_11_gets_the_legacy_api_after_one_health_read():
    with GrafanaEmulator(version="11.3.0") as emulator:
        client = GrafanaClient(emulator.url, token=emulator.admin_token)
        assert client.api.server.api == "legacy"
        assert client.get_dashboard("nothing") is None
        paths = [r.path for r in emulator.requests]
        assert paths == ["/api/health", "/api/dashboards/uid/nothing"]


class _NotGrafana(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server naming
        data = json.dumps({"status": "up"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_grafana_is_refused_before_any_dashboard_request():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = GrafanaClient(f"http://127.0.0.1:{server.server_address[1]}", token="t", retries=0)
        with pytest.raises(UserError, match="does not look like Grafana"):
            client.get_dashboard("x")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("choice, expected", [("auto", "resources"), ("legacy", "legacy"), ("resources", "resources")])
def test_the_api_can_be_forced_by_setting(choice, expected, tmp_path):
    from airflow_dash.settings import load_settings

    with GrafanaEmulator(flavor="grafana13") as emulator:
        settings = load_settings({}, env={"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": emulator.admin_token,
                                          "AIRFLOW_DASH_GRAFANA_API": choice}, start=tmp_path)
        with settings.client() as client:
            assert client.server.api == expected
            client.ensure_folder("f", "F")
        folder_requests = [r.path for r in emulator.requests if "folder" in r.path]
        assert all(p.startswith("/apis/" if expected == "resources" else "/api/folders") for p in folder_requests)


def test_forcing_resources_on_grafana_11_is_a_clear_error():
    with GrafanaEmulator(flavor="grafana11") as emulator:
        client = GrafanaClient(emulator.url, token=emulator.admin_token, api="resources")
        with pytest.raises(UserError, match="does not serve dashboard.grafana.app"):
            client.get_dashboard("x")


def test_publish_says_which_grafana_and_api_it_talks_to(grafana, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from airflow_dash.grafana.model import pretty_json
    from tests.grafana_fixtures import sample_dashboard

    (tmp_path / "pyproject.toml").write_text("[tool.airflow-dash]\npublish_datasources = false\n")
    (tmp_path / "compiled").mkdir()
    dashboard = sample_dashboard(grafana.prefix, "plan")
    (tmp_path / "compiled" / f"{dashboard.uid}.json").write_text(pretty_json(dashboard.model))
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "publish", "--dry-run", "--from-dir", "compiled"],
                            cwd=tmp_path, env={**grafana.env(), "PYTHONPATH": str(repo)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    if grafana.emulator is not None:
        expected = ("Grafana 13.2.0 via dashboard.grafana.app/v1" if grafana.modern
                    else "Grafana 11.3.0 via legacy /api routes")
        assert f"Plan for {grafana.url}, {expected} (folder" in result.stdout
