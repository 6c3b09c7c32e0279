"""Bad input to the Grafana commands is one line and exit 2, never a guess: no Grafana URL, a server that is not
Grafana, an empty folder path, a concurrency below 1; `--insecure` warns once; `pull` writes only inside --out.

Run as a user runs them (`python -m airflow_dash.cli` in a subprocess) against the Grafana 11 and 13 emulators.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from airflow_dash.testing.grafana_emulator import GrafanaEmulator
from tests.grafana_fixtures import GRAFANA_MODES, sample_dashboard

REPO = Path(__file__).resolve().parents[1]
TOKEN = "glsa_test_admin"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "AIRFLOW_DASH_"))}
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd,
                            env={**base, "PYTHONPATH": str(REPO), **env}, capture_output=True, text=True,
                            timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    return result


def one_line_exit_2(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    """A project directory with two compiled dashboards in compiled/ (publish --from-dir)."""
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\npublish_datasources = false\n')
    (tmp_path / "compiled").mkdir()
    for name in ("overview", "workers"):
        d = sample_dashboard("in", name)
        (tmp_path / "compiled" / f"{d.uid}.json").write_text(json.dumps(d.model))
    return tmp_path


@pytest.mark.parametrize("args", [["publish", "--from-dir", "compiled", "--dry-run"], ["diff", "--from-dir", "compiled"],
                                  ["pull", "some-uid"]], ids=lambda a: a[0])
def test_no_grafana_url_is_one_line_not_localhost(compiled, args):
    line = one_line_exit_2(run(args, compiled, {"GRAFANA_TOKEN": TOKEN}), "GRAFANA_URL")
    assert "localhost" not in line


def test_config_shows_the_grafana_url_as_not_set(compiled):
    result = run(["config"], compiled, {})
    assert result.returncode == 0, result.stderr
    assert "localhost:3000" not in result.stdout
    assert [line.split() for line in result.stdout.splitlines() if line.startswith("grafana_url ")] == [
        ["grafana_url", "(not", "set)", "(default)"]]


class _NotGrafana(BaseHTTPRequestHandler):
    """Some other web server: every path answers 200 with a JSON document that is not Grafana's."""

    def do_GET(self):  # noqa: N802 - http.server naming
        data = json.dumps({"status": "ok", "service": "something else"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_grafana_gives_no_happy_dry_run(compiled):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotGrafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for args in (["publish", "--from-dir", "compiled", "--dry-run"], ["diff", "--from-dir", "compiled"]):
            result = run(args, compiled, {"GRAFANA_URL": url, "GRAFANA_TOKEN": TOKEN})
            assert "Plan for" not in result.stdout and "No differences" not in result.stdout
            one_line_exit_2(result, "does not look like Grafana")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("folder", ["///", "/", "Airflow//Prod", " / ", "/Airflow"])
def test_a_folder_path_with_an_empty_component_is_refused(compiled, folder):
    with GrafanaEmulator() as emulator:
        result = run(["publish", "--from-dir", "compiled", "--folder", folder], compiled,
                     {"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": TOKEN})
        one_line_exit_2(result, "folder")
        assert [r for r in emulator.requests if r.method != "GET"] == []


@pytest.mark.parametrize("value", ["0", "-1"])
def test_concurrency_below_one_is_refused_not_clamped(compiled, value):
    with GrafanaEmulator() as emulator:
        result = run(["publish", "--from-dir", "compiled", "--concurrency", value], compiled,
                     {"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": TOKEN})
        one_line_exit_2(result, "concurrency", ">= 1", value)
        assert emulator.requests == []


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


def test_insecure_warns_once_in_our_words_and_silences_urllib3(compiled, tmp_path):
    with GrafanaEmulator(tls=_self_signed(tmp_path)) as emulator:
        env = {"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": TOKEN}
        refused = run(["publish", "--from-dir", "compiled", "--dry-run"], compiled, env)
        assert refused.returncode != 0 and "certificate" in refused.stderr  # a self-signed server is not trusted
        result = run(["publish", "--from-dir", "compiled", "--insecure"], compiled, env)
        assert result.returncode == 0, result.stderr
        assert sum(r.method == "POST" for r in emulator.requests) >= 3  # a folder and two dashboards
    assert "InsecureRequestWarning" not in result.stderr and "Unverified HTTPS" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "not verified" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: --insecure") and emulator.url in warnings[0]


# -- pull stays inside --out ----------------------------------------------------------------------------------

HOSTILE = ["../escaped", "/tmp/airflow-dash-absolute", "a\x00b", "x" * 300, ".hidden", "..", "sub/dir"]


@pytest.mark.parametrize("flavor", GRAFANA_MODES)
@pytest.mark.parametrize("uid", HOSTILE, ids=["parent", "absolute", "nul", "long", "dot", "dotdot", "slash"])
def test_pull_refuses_a_hostile_uid_from_the_server_and_writes_nothing(tmp_path, flavor, uid):
    work = tmp_path / "work"
    work.mkdir()
    with GrafanaEmulator(flavor=flavor) as emulator:
        emulator.add_folder("team", "Team")
        emulator.add_dashboard(sample_dashboard("in", "fine").model, "team")
        emulator.add_dashboard({**sample_dashboard("in", "evil").model, "uid": uid}, "team")
        result = run(["pull", "--folder", "Team", "--out", "out"], work,
                     {"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": TOKEN})
    line = one_line_exit_2(result, "refusing to pull dashboard uid", "nothing was written")
    assert "\x00" not in line and len(line) < 400
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # not even the fine one, nor out/
    assert not Path("/tmp/airflow-dash-absolute.json").exists()


@pytest.mark.parametrize("uid", ["../escaped", "", "/etc/passwd", "x" * 201])
def test_pull_refuses_a_hostile_uid_given_on_the_command_line_before_any_request(tmp_path, uid):
    with GrafanaEmulator() as emulator:
        result = run(["pull", "--out", "out", "fine", uid], tmp_path, {"GRAFANA_URL": emulator.url,
                                                                         "GRAFANA_TOKEN": TOKEN})
        assert [r.path for r in emulator.requests] == []
    one_line_exit_2(result, "refusing to pull dashboard uid")
    assert list(tmp_path.rglob("*")) == []


def test_pull_writes_each_file_inside_out_and_replaces_a_symlink_instead_of_following_it(tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("keep me\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "in-fine.json").symlink_to(outside)
    with GrafanaEmulator(flavor="grafana13") as emulator:
        emulator.add_dashboard(sample_dashboard("in", "fine").model)
        emulator.add_dashboard(sample_dashboard("in", "Mixed.Case_1").model)
        result = run(["pull", "--out", "out", "in-fine", "in-Mixed.Case_1"], tmp_path,
                     {"GRAFANA_URL": emulator.url, "GRAFANA_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == "keep me\n"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["in-Mixed.Case_1.json", "in-fine.json"]
    assert not (tmp_path / "out" / "in-fine.json").is_symlink()
    assert json.loads((tmp_path / "out" / "in-fine.json").read_text())["uid"] == "in-fine"


@pytest.mark.parametrize("folder", ["", "/", "Team//Components", "Team/"])
def test_a_dashboard_folder_with_an_empty_part_is_refused_where_it_is_defined(folder):
    from airflow_dash.catalog import host
    from airflow_dash.dashboard import Dashboard
    from airflow_dash.panels import Row, stat

    with pytest.raises(ValueError, match="without empty parts"):
        Dashboard("x", "X", [Row("R", [stat("Load", host.load1)])], folder=folder)
    assert Dashboard("x", "X", [Row("R", [stat("Load", host.load1)])], folder="Team/Components").folder


@pytest.mark.parametrize("flavor", GRAFANA_MODES)
@pytest.mark.parametrize("out", [False, True], ids=["no-out", "out"])
def test_pull_skips_a_folder_hit_without_a_uid(tmp_path, flavor, out):
    """A search hit whose uid is null or empty names nothing to fetch: skipped as before, not fetched (a
    TypeError traceback without --out) and not a hostile file name (the whole pull refused with --out)."""
    from airflow_dash.grafana.client import GrafanaClient
    from airflow_dash.grafana.pull import pull_dashboards

    with GrafanaEmulator(flavor=flavor) as emulator:
        emulator.add_folder("team", "Team")
        emulator.add_dashboard(sample_dashboard("in", "fine").model, "team")
        with GrafanaClient(emulator.url, token=emulator.admin_token) as client:
            search = client.search

            def with_blank_hits(*args, **kwargs):
                hits = search(*args, **kwargs)
                if kwargs.get("type") == "dash-db":
                    hits = [*hits, {"uid": None, "folderUid": "team"}, {"uid": "", "folderUid": "team"}]
                return hits

            client.search = with_blank_hits  # type: ignore[method-assign]
            exported = pull_dashboards(client, folder="Team", out_dir=tmp_path / "out" if out else None)
    assert [item.uid for item in exported] == ["in-fine"]
    if out:
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in-fine.json"]
