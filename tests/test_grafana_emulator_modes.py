"""Facts both emulated Grafanas (11 and 13) must get right, and Grafana 13's resource APIs, over HTTP.

Every expectation here comes from docs/grafana-facts.md (which cites its sources), not from the emulator."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.testing.grafana_emulator import GrafanaEmulator

TOKEN = "glsa_test_admin"
DASHBOARDS = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
FOLDERS = "/apis/folder.grafana.app/v1/namespaces/default/folders"


@pytest.fixture(params=["grafana11", "grafana13"])
def any_grafana(request):
    with GrafanaEmulator(flavor=request.param) as emulator:
        yield emulator


@pytest.fixture
def grafana13():
    with GrafanaEmulator(flavor="grafana13", max_dashboard_bytes=20_000) as emulator:
        yield emulator


def call(emulator, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
    return requests.request(method, emulator.url + path, headers=headers, timeout=5, **kwargs)


def test_search_limit_above_5000_is_422(any_grafana):
    assert call(any_grafana, "GET", "/api/search", params={"limit": 5000}).status_code == 200
    answer = call(any_grafana, "GET", "/api/search", params={"limit": 5001})
    assert answer.status_code == 422 and "Limit is above maximum allowed (5000)" in answer.json()["message"]


def test_bad_token_is_401_api_key_invalid(any_grafana):
    answer = call(any_grafana, "GET", "/api/search", headers={"Authorization": "Bearer glsa_not_ours"})
    assert answer.status_code == 401 and answer.json()["messageId"] == "api-key.invalid"


def test_secure_json_fields_list_only_non_empty_secrets(any_grafana):
    call(any_grafana, "POST", "/api/datasources", json={
        "name": "Influx", "type": "influxdb", "uid": "influx", "url": "http://x",
        "secureJsonData": {"token": "s3cret", "password": ""}})
    shown = call(any_grafana, "GET", "/api/datasources/uid/influx").json()
    assert shown["secureJsonFields"] == {"token": True}
    assert "s3cret" not in json.dumps(shown)


def test_folders_nest_four_deep_and_no_deeper(any_grafana):
    parent = None
    for depth in range(1, 5):
        answer = call(any_grafana, "POST", "/api/folders",
                      json={"uid": f"f{depth}", "title": f"F{depth}", **({"parentUid": parent} if parent else {})})
        assert answer.status_code == 200, answer.text
        parent = f"f{depth}"
    fifth = call(any_grafana, "POST", "/api/folders", json={"uid": "f5", "title": "F5", "parentUid": "f4"})
    assert fifth.status_code == 400 and fifth.json()["messageId"] == "folder.maximum-depth-reached"


def test_stale_legacy_save_is_412_on_11_and_409_on_13(any_grafana):
    body = {"dashboard": {"uid": "d", "title": "D", "panels": []}}
    assert call(any_grafana, "POST", "/api/dashboards/db", json=body).status_code == 200
    stale = call(any_grafana, "POST", "/api/dashboards/db", json=body)
    assert stale.status_code == (409 if any_grafana.modern else 412)


def test_discovery_lists_both_groups(grafana13):
    groups = {g["name"]: g for g in call(grafana13, "GET", "/apis").json()["groups"]}
    assert groups["dashboard.grafana.app"]["preferredVersion"]["version"] == "v1"
    assert groups["folder.grafana.app"]["preferredVersion"]["version"] == "v1"
    with GrafanaEmulator(flavor="grafana11") as eleven:
        assert call(eleven, "GET", "/apis").status_code == 404


def test_resource_create_is_201_then_409_and_a_stale_update_is_409(grafana13):
    body = {"metadata": {"name": "d"}, "spec": {"title": "D", "panels": []}}
    created = call(grafana13, "POST", DASHBOARDS, json=body)
    assert created.status_code == 201
    metadata = created.json()["metadata"]
    assert metadata["generation"] == 1 and metadata["resourceVersion"]
    again = call(grafana13, "POST", DASHBOARDS, json=body)
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"
    update = {"metadata": {"name": "d", "resourceVersion": metadata["resourceVersion"]},
              "spec": {"title": "D2", "panels": []}}
    assert call(grafana13, "PUT", f"{DASHBOARDS}/d", json=update).json()["metadata"]["generation"] == 2
    stale = call(grafana13, "PUT", f"{DASHBOARDS}/d", json=update)
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"


def test_the_folder_is_the_annotation_and_leaving_it_out_moves_to_the_root(grafana13):
    call(grafana13, "POST", FOLDERS, json={"metadata": {"name": "f"}, "spec": {"title": "F"}})
    body = {"metadata": {"name": "d", "annotations": {"grafana.app/folder": "f"}}, "spec": {"title": "D"}}
    assert call(grafana13, "POST", DASHBOARDS, json=body).status_code == 201
    assert call(grafana13, "GET", "/api/dashboards/uid/d").json()["meta"]["folderUid"] == "f"
    call(grafana13, "PUT", f"{DASHBOARDS}/d", json={"metadata": {"name": "d"}, "spec": {"title": "D"}})
    assert call(grafana13, "GET", "/api/dashboards/uid/d").json()["meta"]["folderUid"] == ""


def test_resource_folders_nest_four_deep(grafana13):
    for depth in range(1, 6):
        metadata = {"name": f"f{depth}", **({"annotations": {"grafana.app/folder": f"f{depth - 1}"}} if depth > 1 else {})}
        answer = call(grafana13, "POST", FOLDERS, json={"metadata": metadata, "spec": {"title": f"F{depth}"}})
        assert answer.status_code == (201 if depth <= 4 else 400), answer.text


def test_an_over_large_dashboard_is_413(grafana13):
    big = {"metadata": {"name": "big"}, "spec": {"title": "Big", "description": "x" * 30_000}}
    assert call(grafana13, "POST", DASHBOARDS, json=big).status_code == 413
    legacy = call(grafana13, "POST", "/api/dashboards/db", json={"dashboard": big["spec"]})
    assert legacy.status_code == 413 and legacy.json()["message"] == "Dashboard is too large"


def test_a_v2_saved_dashboard_is_406_on_the_legacy_get_and_converted_on_v1(grafana13):
    grafana13.add_dashboard({"uid": "d", "title": "D", "panels": [{"id": 1, "type": "stat", "title": "S"}]})
    grafana13.edit_dashboard_as_user("d", as_v2=True)
    legacy = call(grafana13, "GET", "/api/dashboards/uid/d")
    assert legacy.status_code == 406 and "/apis/dashboard.grafana.app/v2beta1/" in legacy.json()["message"]
    v1 = call(grafana13, "GET", f"{DASHBOARDS}/d").json()
    assert v1["status"]["conversion"]["storedVersion"] == "v2beta1" and v1["spec"]["title"] == "D"
    v2 = call(grafana13, "GET", "/apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards/d").json()
    assert v2["spec"]["layout"]["kind"] == "TabsLayout" and v2["status"] == {}


def test_client_reads_a_legacy_written_dashboard_as_stored_not_as_migrated(grafana13):
    grafana13.add_dashboard({"uid": "old", "title": "Old", "schemaVersion": 39, "panels": []})
    migrated = call(grafana13, "GET", f"{DASHBOARDS}/old").json()
    assert migrated["spec"]["schemaVersion"] == 42  # a v1 read migrates what the legacy route stored
    live = GrafanaClient(grafana13.url, token=TOKEN).get_dashboard("old")
    assert live.model["schemaVersion"] == 39 and not live.stored_as


def test_client_sees_the_v2_save_through_either_api(grafana13):
    grafana13.add_dashboard({"uid": "d", "title": "D", "panels": []})
    grafana13.edit_dashboard_as_user("d", as_v2=True)
    for api in ("resources", "legacy"):
        live = GrafanaClient(grafana13.url, token=TOKEN, api=api).get_dashboard("d")
        assert live.stored_as == "v2beta1" and live.stored_as_v2


@pytest.mark.parametrize("route", ["/api/folders/{uid}", FOLDERS + "/{uid}"])
def test_deleting_a_folder_takes_its_nested_folders_and_their_dashboards(grafana13, route):
    """Grafana deletes a folder's subtree with it, through the legacy route and the folder API alike."""
    grafana13.add_folder("top", "Top")
    grafana13.add_folder("mid", "Mid", parent_uid="top")
    grafana13.add_folder("other", "Other")
    grafana13.add_dashboard({"uid": "deep", "title": "Deep", "panels": []}, folder_uid="mid")
    grafana13.add_dashboard({"uid": "kept", "title": "Kept", "panels": []}, folder_uid="other")
    assert call(grafana13, "DELETE", route.format(uid="top")).status_code == 200
    assert call(grafana13, "GET", "/api/folders/mid").status_code == 404
    assert call(grafana13, "GET", "/api/dashboards/uid/deep").status_code == 404
    assert call(grafana13, "GET", "/api/folders/other").status_code == 200
    assert call(grafana13, "GET", "/api/dashboards/uid/kept").status_code == 200


def test_the_emulator_runs_from_the_command_line_until_sigterm(tmp_path):
    """`python -m airflow_dash.testing`: what a user runs to try publish without a Grafana."""
    import signal as signals
    import subprocess
    import sys
    import urllib.request

    process = subprocess.Popen([sys.executable, "-m", "airflow_dash.testing", "--flavor", "grafana13", "--token", "t0k"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("export GRAFANA_URL=http://127.0.0.1:"), line
        url = line.split("=", 1)[1]
        request = urllib.request.Request(url + "/api/search", headers={"Authorization": "Bearer t0k"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signals.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "t0k" not in process.stdout.read() + process.stderr.read()
    finally:
        process.kill()
        process.wait()
