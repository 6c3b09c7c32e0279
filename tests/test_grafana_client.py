"""GrafanaClient against the emulator (or a real Grafana): typed calls, retries, one-line errors, no secrets."""

from __future__ import annotations

import socket
import time

import pytest

from airflow_dash.errors import OperationError, UserError
from airflow_dash.grafana.client import GrafanaAuthError, GrafanaClient, GrafanaHTTPError, GrafanaUnreachable

SECRET = "glsa_this_must_never_be_printed_42"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_and_dashboard_round_trip(grafana):
    client = grafana.client()
    assert client.health().get("database") == "ok"
    folder, created = client.ensure_folder(f"{grafana.prefix}-f", grafana.root_folder)
    assert created and folder["uid"] == f"{grafana.prefix}-f"
    assert client.ensure_folder(f"{grafana.prefix}-f", grafana.root_folder) == (client.get_folder(folder["uid"]), False)
    uid = f"{grafana.prefix}-rt"
    assert client.get_dashboard(uid) is None
    answer = client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} rt", "panels": [], "tags": ["t1"]},
                                   folder_uid=folder["uid"], message="first")
    assert answer["version"] == 1
    live = client.get_dashboard(uid)
    assert live.version == 1 and live.folder_uid == folder["uid"] and live.model["tags"] == ["t1"]
    assert [h["uid"] for h in client.search(tags=["t1"], folder_uids=[folder["uid"]], type="dash-db")] == [uid]
    versions = client.dashboard_versions(uid)
    assert [v["version"] for v in versions] == [1] and versions[0]["message"] == "first"
    assert client.delete_dashboard(uid) is True
    assert client.delete_dashboard(uid) is False  # already gone: not an error
    client.delete_folder(folder["uid"])


def test_a_stale_revision_is_refused_with_grafanas_message(grafana):
    client = grafana.client()
    uid = f"{grafana.prefix}-stale"
    client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} stale", "panels": []})
    try:
        read = client.get_dashboard(uid)
        client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} stale", "panels": [1]}, revision=read.revision)
        with pytest.raises(GrafanaHTTPError) as caught:
            client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} stale", "panels": [2]},
                                  revision=read.revision)
        if grafana.modern:  # resource API: a Kubernetes Conflict
            assert caught.value.status == 409 and caught.value.grafana_status == "Conflict"
            assert "the object has been modified" in str(caught.value)
        else:
            assert caught.value.status == 412 and caught.value.grafana_status == "version-mismatch"
            assert str(caught.value) == (f"saving dashboard '{uid}' failed: HTTP 412 version-mismatch: "
                                         "The dashboard has been changed by someone else")
        assert client.get_dashboard(uid).model["panels"] == [1]
    finally:
        client.delete_dashboard(uid)


def test_a_create_over_an_existing_uid_is_refused(grafana):
    client = grafana.client()
    uid = f"{grafana.prefix}-twice"
    client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} twice", "panels": []})
    try:
        with pytest.raises(GrafanaHTTPError) as caught:
            client.save_dashboard({"uid": uid, "title": f"{grafana.prefix} twice", "panels": [1]})
        assert caught.value.status == (409 if grafana.modern else 412)
        assert client.get_dashboard(uid).model["panels"] == []
    finally:
        client.delete_dashboard(uid)


def test_search_follows_pages(grafana):
    client = grafana.client()
    folder, _ = client.ensure_folder(f"{grafana.prefix}-pages", grafana.root_folder)
    for i in range(5):
        client.save_dashboard({"uid": f"{grafana.prefix}-p{i}", "title": f"{grafana.prefix} p{i}", "panels": []},
                              folder_uid=folder["uid"])
    hits = client.search(folder_uids=[folder["uid"]], type="dash-db", limit=2)
    assert sorted(h["uid"] for h in hits) == [f"{grafana.prefix}-p{i}" for i in range(5)]
    client.delete_folder(folder["uid"])


def test_wrong_token_is_a_user_error_without_the_token(grafana):
    client = grafana.client(token=SECRET)
    with pytest.raises(GrafanaAuthError) as caught:
        client.get_dashboard("anything")
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    # On Grafana 12/13 the first authenticated request is the API discovery (/api/health needs no token).
    attempt = "reading Grafana's API discovery (dashboard.grafana.app)" if grafana.modern else "reading dashboard 'anything'"
    assert message == f"{attempt} failed: token rejected by Grafana at {grafana.url} (HTTP 401)"
    assert SECRET not in message and SECRET not in repr(client) and SECRET not in repr(caught.value)


def test_repr_hides_token_and_password():
    client = GrafanaClient("http://admin:hunter2-secret@127.0.0.1:1", token=SECRET)
    assert SECRET not in repr(client) and "hunter2-secret" not in repr(client)
    assert client.url == "http://127.0.0.1:1"


def test_basic_auth_from_user_and_password(grafana):
    emulator = grafana.require_emulator()
    assert GrafanaClient(emulator.url, user="admin", password="admin").get_dashboard("none") is None
    with pytest.raises(GrafanaAuthError, match="user/password rejected"):
        GrafanaClient(emulator.url, user="admin", password="wrong").get_dashboard("none")


def test_unreachable_host_names_host_and_cause():
    port = closed_port()
    client = GrafanaClient(f"http://127.0.0.1:{port}", token=SECRET, retries=1, backoff=0.01)
    with pytest.raises(GrafanaUnreachable) as caught:
        client.health()
    assert isinstance(caught.value, OperationError)
    assert f"cannot reach Grafana at 127.0.0.1:{port} (connection refused)" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_503_burst_is_retried(grafana):
    emulator = grafana.require_emulator()
    client = grafana.client()
    client.api  # discovery first: the burst hits the dashboard read
    emulator.reset_requests()
    emulator.faults.fail_next(3, 503)
    assert client.get_dashboard("missing") is None
    assert [r.status for r in emulator.requests] == [503, 503, 503, 404]


def test_retries_are_bounded_and_the_last_answer_is_reported(grafana):
    emulator = grafana.require_emulator()
    emulator.faults.fail_always(503, path_prefix=grafana.dashboard_read_prefix)
    client = grafana.client(retries=2)
    client.api
    emulator.reset_requests()
    with pytest.raises(GrafanaHTTPError) as caught:
        client.get_dashboard("missing")
    assert caught.value.status == 503 and "reading dashboard 'missing' failed: HTTP 503" in str(caught.value)
    assert len(emulator.requests) == 3  # first try + 2 retries


def test_retry_after_is_honoured(grafana):
    emulator = grafana.require_emulator()
    emulator.faults.fail_next(1, 429, retry_after=1)
    started = time.monotonic()
    assert grafana.client().get_dashboard("missing") is None
    assert time.monotonic() - started >= 0.9


def test_read_timeout_is_one_line(grafana):
    emulator = grafana.require_emulator()
    emulator.faults.slow_next(5, 1.0)
    client = grafana.client(timeout=(1.0, 0.2), retries=1)
    with pytest.raises(GrafanaUnreachable, match=r"did not answer within 0.2s"):
        client.get_dashboard("slow")


def test_server_error_message_is_one_line(grafana):
    emulator = grafana.require_emulator()
    emulator.faults.fail_always(500, path_prefix=grafana.folders_path)
    with pytest.raises(GrafanaHTTPError) as caught:
        grafana.client().ensure_folder("x", "X")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("reading folder 'x' failed: HTTP 500")


def test_tls_verification_is_on_by_default(tmp_path):
    # Plain HTTP server spoken to over https: the TLS handshake fails, and the message says how to fix it.
    port = closed_port()
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen()
    try:
        client = GrafanaClient(f"https://127.0.0.1:{port}", token=SECRET, retries=0, timeout=(1, 1))
        assert client.verify is True
        with pytest.raises(GrafanaUnreachable) as caught:
            client.health()
        assert "127.0.0.1" in str(caught.value) and SECRET not in str(caught.value)
    finally:
        listener.close()


def test_bad_url_is_a_user_error_that_does_not_echo_credentials():
    with pytest.raises(UserError) as caught:
        GrafanaClient("ftp://user:pw-secret@host")
    assert "pw-secret" not in str(caught.value)


# --- redirects are reported, not followed; credentials a header cannot carry are refused ------------------------


class _Recorder:
    """A loopback HTTP server answering every request with `status` and `headers`; it keeps what it got."""

    def __init__(self, status: int = 200, headers: dict | None = None, body: bytes = b"{}"):
        import http.server
        import threading

        self.seen: list[tuple[str, str, bytes, str | None]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorder.seen.append((self.command, self.path, self.rfile.read(length) if length else b"",
                                      self.headers.get("Authorization")))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_reported_in_one_line_and_no_write_or_token_goes_to_its_target(status):
    elsewhere = _Recorder()
    grafana = _Recorder(status, {"Location": f"{elsewhere.url.replace('http://', 'http://u:' + SECRET + '@')}"
                                             f"/api/datasources?token={SECRET}"})
    try:
        client = GrafanaClient(grafana.url, token=SECRET, retries=0)
        with pytest.raises(GrafanaHTTPError) as raised:
            client.create_datasource({"name": "influx", "secureJsonData": {"token": "INFLUX-SECRET-123"}})
        message = str(raised.value)
        assert message == (f"creating datasource 'influx' failed: Grafana at {grafana.url} answered HTTP {status}, "
                           f"a redirect to {elsewhere.url}/api/datasources: set GRAFANA_URL to the address Grafana "
                           "answers on (redirects are not followed)")
        assert elsewhere.seen == [] and len(grafana.seen) == 1
    finally:
        grafana.close()
        elsewhere.close()


def test_a_relative_redirect_is_shown_against_the_grafana_url():
    grafana = _Recorder(302, {"Location": "/login?redirect=%2Fapi"})
    try:
        with pytest.raises(GrafanaHTTPError, match=rf"a redirect to {grafana.url}/login: set GRAFANA_URL"):
            GrafanaClient(grafana.url, token=SECRET, retries=0).health()
    finally:
        grafana.close()


@pytest.mark.parametrize("credentials", [
    {"token": SECRET + "\n"}, {"token": SECRET + "\r\n"}, {"token": "glsa_\x00x"}, {"token": "glsa_é"},
    {"user": "admin", "password": "pa\nss"}, {"user": "adm\tin", "password": "x"}, {"user": "admin", "password": "p€"},
])
def test_credentials_a_header_cannot_carry_are_refused_in_one_line(credentials):
    with pytest.raises(UserError) as raised:
        GrafanaClient("http://127.0.0.1:3000", **credentials)
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message and "pa" not in message.split("Grafana")[0]
    assert message.startswith("the Grafana ")


def test_a_token_with_a_trailing_newline_is_one_line_exit_2_from_the_cli(tmp_path):
    import os

    from tests.cli import assert_one_line_error, run_cli

    env = {**os.environ, "GRAFANA_URL": "http://127.0.0.1:9", "GRAFANA_TOKEN": SECRET + "\n"}
    line = assert_one_line_error(run_cli("pull", "some-uid", "--out", str(tmp_path / "out"), cwd=tmp_path, env=env),
                                 "line break")
    assert SECRET not in line and not (tmp_path / "out").exists()
