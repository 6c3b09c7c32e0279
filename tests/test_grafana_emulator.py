"""The Grafana 11 emulator, exercised over HTTP with plain ``requests``.

Tests taking the ``target`` fixture are *contract* tests: they also run against a real Grafana
(marked ``real_grafana``) when AIRFLOW_DASH_TEST_GRAFANA_URL and AIRFLOW_DASH_TEST_GRAFANA_TOKEN are set, which is how we keep
the emulator honest. Everything else uses emulator-only features (faults, seeding, flavors).
"""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from airflow_dash.testing.grafana_emulator import GrafanaEmulator
from tests.grafana_fixtures import TEST_TOKEN_VAR, TEST_URL_VAR

ADMIN = "glsa_test_admin"
EDITOR = "glsa_test_editor"
VIEWER = "glsa_test_viewer"
TOKENS = {ADMIN: "Admin", EDITOR: "Editor", VIEWER: "Viewer"}
TIMEOUT = 5


class Api:
    """A tiny authenticated client: ``api.post("/api/...", json=...)`` -> requests.Response."""

    def __init__(self, base_url: str, token: str | None = ADMIN, **headers: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers.update(headers)

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            kwargs.setdefault("timeout", TIMEOUT)
            return self.session.request(method.upper(), self.base_url + path, **kwargs)
        return call


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


@pytest.fixture
def emulator():
    # Not named `grafana`: that fixture (tests/grafana_fixtures.py) means "maybe a real Grafana".
    with GrafanaEmulator(tokens=TOKENS, users={("admin", "admin"): "Admin", ("viewer", "pw"): "Viewer"}) as running:
        yield running


@pytest.fixture
def newest():
    with GrafanaEmulator(flavor="newest") as emulator:
        yield emulator


@pytest.fixture
def api(emulator):
    return Api(emulator.url)


class Target:
    """A Grafana to run contract tests against; remembers what it created to clean up."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.prefix = "t" + uuid.uuid4().hex[:8]
        self.created_folders: list[str] = []
        self.created_dashboards: list[str] = []

    def uid(self, name: str) -> str:
        uid = f"{self.prefix}-{name}"
        return uid

    def folder(self, name: str) -> str:
        uid = self.uid(name)
        response = self.api.post("/api/folders", json={"uid": uid, "title": f"{self.prefix} {name}"})
        assert response.status_code == 200, response.text
        self.created_folders.append(uid)
        return uid

    def save(self, dashboard: dict, **body) -> requests.Response:
        response = self.api.post("/api/dashboards/db", json={"dashboard": dashboard, **body})
        if response.status_code == 200:
            self.created_dashboards.append(response.json()["uid"])
        return response

    def cleanup(self) -> None:
        for uid in self.created_dashboards:
            self.api.delete(f"/api/dashboards/uid/{uid}")
        for uid in self.created_folders:
            self.api.delete(f"/api/folders/{uid}")


@pytest.fixture(params=["emulator", pytest.param("real", marks=pytest.mark.real_grafana)])
def target(request):
    if request.param == "real":
        url, token = os.environ.get(TEST_URL_VAR), os.environ.get(TEST_TOKEN_VAR)
        if not (url and token):
            pytest.skip(f"real Grafana not requested ({TEST_URL_VAR} and {TEST_TOKEN_VAR} are not set)")
        chosen = Target(Api(url.rstrip("/"), token))
        yield chosen
        chosen.cleanup()
        return
    with GrafanaEmulator() as emulator:
        yield Target(Api(emulator.url, emulator.admin_token))


# --------------------------------------------------------------------------- contract tests


def test_version_and_overwrite_rules_step_by_step(target):
    uid = target.uid("versions")
    created = target.save({"id": None, "uid": uid, "title": f"{target.prefix} versions"})
    assert created.status_code == 200
    body = created.json()
    assert body["version"] == 1 and body["status"] == "success" and body["uid"] == uid
    assert body["url"] == f"/d/{uid}/{body['slug']}"
    assert {"id", "uid", "url", "status", "version", "slug"} <= body.keys()

    updated = target.save({"uid": uid, "title": f"{target.prefix} versions", "version": 1})
    assert updated.status_code == 200 and updated.json()["version"] == 2

    stale = target.save({"uid": uid, "title": f"{target.prefix} versions", "version": 1})
    assert stale.status_code == 412
    assert stale.json()["status"] == "version-mismatch"
    assert stale.json()["message"] == "The dashboard has been changed by someone else"

    missing_version = target.save({"uid": uid, "title": f"{target.prefix} versions"})
    assert missing_version.status_code == 412 and missing_version.json()["status"] == "version-mismatch"

    forced = target.save({"uid": uid, "title": f"{target.prefix} versions", "version": 1}, overwrite=True)
    assert forced.status_code == 200 and forced.json()["version"] == 3

    fetched = target.api.get(f"/api/dashboards/uid/{uid}").json()
    assert fetched["dashboard"]["version"] == 3 == fetched["meta"]["version"]
    assert fetched["dashboard"]["uid"] == uid and fetched["dashboard"]["id"] == body["id"]


def test_name_exists_only_within_the_same_folder(target):
    title = f"{target.prefix} same name"
    other_folder = target.folder("other")
    assert target.save({"uid": target.uid("first"), "title": title}).status_code == 200
    clash = target.save({"uid": target.uid("second"), "title": title})
    assert clash.status_code == 412
    assert clash.json() == {"status": "name-exists",
                            "message": "A dashboard with the same name in the folder already exists"}
    elsewhere = target.save({"uid": target.uid("second"), "title": title}, folderUid=other_folder)
    assert elsewhere.status_code == 200


def test_unknown_folder_invalid_uid_and_bad_json(target):
    unknown = target.save({"title": f"{target.prefix} x"}, folderUid=target.uid("no-such-folder"))
    assert unknown.status_code == 400 and unknown.json()["message"] == "folder not found"

    illegal = target.save({"uid": "bad uid!", "title": f"{target.prefix} x"})
    assert illegal.status_code == 400 and illegal.json()["message"] == "uid contains illegal characters"
    too_long = target.save({"uid": "a" * 41, "title": f"{target.prefix} x"})
    assert too_long.status_code == 400 and too_long.json()["message"] == "uid too long, max 40 characters"

    empty_title = target.save({"uid": target.uid("untitled"), "title": "  "})
    assert empty_title.status_code == 400
    assert empty_title.json() == {"status": "empty-name", "message": "Dashboard title cannot be empty"}

    not_json = target.api.post("/api/dashboards/db", data=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["message"] == "bad request data"


def test_unknown_dashboard_is_404(target):
    missing = target.api.get(f"/api/dashboards/uid/{target.uid('missing')}")
    assert missing.status_code == 404 and missing.json()["message"] == "Dashboard not found"
    deleted = target.api.delete(f"/api/dashboards/uid/{target.uid('missing')}")
    assert deleted.status_code == 404


def test_update_without_folder_moves_to_general(target):
    folder = target.folder("home")
    uid = target.uid("mover")
    assert target.save({"uid": uid, "title": f"{target.prefix} mover"}, folderUid=folder).status_code == 200
    meta = target.api.get(f"/api/dashboards/uid/{uid}").json()["meta"]
    assert meta["folderUid"] == folder
    assert target.save({"uid": uid, "title": f"{target.prefix} mover", "version": 1}).status_code == 200
    meta = target.api.get(f"/api/dashboards/uid/{uid}").json()["meta"]
    assert meta["folderTitle"] == "General" and not meta.get("folderUid")


# --------------------------------------------------------------------------- misc endpoints and auth


def test_health_org_and_user(emulator, api):
    health = requests.get(emulator.url + "/api/health", timeout=TIMEOUT)
    assert health.status_code == 200 and health.json() == {"commit": "0000000000", "database": "ok",
                                                            "version": "11.3.0"}
    assert api.get("/api/org").json()["name"] == "Main Org."
    user = Api(emulator.url, None, Authorization=basic("admin", "admin")).get("/api/user").json()
    assert user["login"] == "admin" and user["isGrafanaAdmin"] is True and user["orgId"] == 1
    service_account = api.get("/api/user").json()
    assert service_account["login"].startswith("sa-") and service_account["isGrafanaAdmin"] is False


def test_unauthenticated_and_forbidden(emulator):
    for headers in ({}, {"Authorization": basic("admin", "nope")}):
        response = requests.get(emulator.url + "/api/search", headers=headers, timeout=TIMEOUT)
        assert response.status_code == 401 and response.json()["message"] == "Unauthorized"
    bad_token = requests.get(emulator.url + "/api/search", headers={"Authorization": "Bearer glsa_wrong"}, timeout=TIMEOUT)
    assert bad_token.status_code == 401
    assert (bad_token.json()["messageId"], bad_token.json()["message"]) == ("api-key.invalid", "Invalid API key")

    as_basic = Api(emulator.url, None, Authorization=basic("admin", "admin"))
    assert as_basic.get("/api/org", headers={"X-Grafana-Org-Id": "1"}).status_code == 200
    assert as_basic.get("/api/org", headers={"X-Grafana-Org-Id": "2"}).status_code == 401
    token_other_org = Api(emulator.url).get("/api/org", headers={"X-Grafana-Org-Id": "2"})
    assert token_other_org.status_code == 401

    viewer = Api(emulator.url, VIEWER)
    save = viewer.post("/api/dashboards/db", json={"dashboard": {"title": "x"}})
    assert save.status_code == 403 and save.json() == {"message": "Access denied to save dashboard"}
    assert viewer.post("/api/folders", json={"title": "f"}).status_code == 403
    assert viewer.get("/api/search").status_code == 200
    basic_viewer = Api(emulator.url, None, Authorization=basic("viewer", "pw"))
    assert basic_viewer.post("/api/dashboards/db", json={"dashboard": {"title": "x"}}).status_code == 403

    editor = Api(emulator.url, EDITOR)
    assert editor.post("/api/dashboards/db", json={"dashboard": {"title": "x"}}).status_code == 200
    denied = editor.post("/api/datasources", json={"name": "p", "type": "prometheus"})
    assert denied.status_code == 403 and denied.json()["title"] == "Access denied"


def test_unknown_route_and_wrong_method(api):
    missing = api.get("/api/no/such/thing")
    assert missing.status_code == 404 and missing.json() == {"message": "Not found"}
    assert api.delete("/api/search").status_code == 405


# --------------------------------------------------------------------------- dashboards


def test_create_generates_uid_and_exact_response_shape(api, newest):
    created = api.post("/api/dashboards/db", json={"dashboard": {"id": None, "uid": None, "title": "Airflow Pools"}})
    body = created.json()
    assert set(body) == {"id", "uid", "url", "status", "version", "slug"}
    assert len(body["uid"]) == 14 and body["slug"] == "airflow-pools"
    assert body["url"] == f"/d/{body['uid']}/airflow-pools"
    newest_body = Api(newest.url).post("/api/dashboards/db", json={"dashboard": {"title": "N"}}).json()
    assert newest_body["folderUid"] == ""


def test_get_dashboard_meta(emulator, api):
    emulator.add_folder("airflow", "Airflow")
    uid = api.post("/api/dashboards/db", json={"dashboard": {"uid": "dags", "title": "DAGs", "tags": ["a"]},
                                                 "folderUid": "airflow"}).json()["uid"]
    got = api.get(f"/api/dashboards/uid/{uid}").json()
    assert got["dashboard"]["title"] == "DAGs" and got["dashboard"]["tags"] == ["a"]
    meta = got["meta"]
    assert meta["folderUid"] == "airflow" and meta["folderTitle"] == "Airflow"
    assert meta["folderUrl"] == "/dashboards/f/airflow/airflow"
    assert meta["url"] == "/d/dags/dags" and meta["slug"] == "dags" and meta["type"] == "dash-db"
    assert meta["provisioned"] is False and meta["version"] == 1
    for key in ("created", "updated", "createdBy", "updatedBy", "canSave", "canEdit", "canAdmin", "canDelete",
                "canStar", "hasAcl", "isFolder", "folderId", "provisionedExternalId", "annotationsPermissions",
                "publicDashboardEnabled", "isStarred"):
        assert key in meta
    assert meta["createdBy"] == meta["updatedBy"] and meta["createdBy"].startswith("sa-")


def test_overwrite_replaces_same_name_dashboard(emulator, api):
    first = api.post("/api/dashboards/db", json={"dashboard": {"uid": "one", "title": "T"}}).json()
    replaced = api.post("/api/dashboards/db", json={"dashboard": {"uid": "two", "title": "T"}, "overwrite": True})
    # Grafana 11 takes over the existing row: its id and uid, and the next version.
    assert replaced.json()["uid"] == "one" and replaced.json()["id"] == first["id"]
    assert replaced.json()["version"] == 2 and emulator.dashboard("two") is None


def test_newest_flavor_differences(newest):
    api = Api(newest.url)
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "a", "title": "Same"}})
    assert api.post("/api/dashboards/db", json={"dashboard": {"uid": "b", "title": "Same"}}).status_code == 200
    stale = api.post("/api/dashboards/db", json={"dashboard": {"uid": "a", "title": "Same", "version": 7}})
    assert stale.status_code == 409
    assert stale.json() == {"message": "Dashboard already exists. Use overwrite flag to update."}
    untitled = api.post("/api/dashboards/db", json={"dashboard": {"uid": "c"}})
    assert untitled.json() == {"message": "Dashboard spec is missing required title property"}
    assert api.post("/api/folders", json={"title": "F"}).status_code == 200
    assert api.post("/api/folders", json={"title": "F"}).status_code == 200


def test_id_lookup_rules(api):
    a = api.post("/api/dashboards/db", json={"dashboard": {"uid": "a", "title": "A"}}).json()
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "b", "title": "B"}})
    unknown_id = api.post("/api/dashboards/db", json={"dashboard": {"id": 999, "title": "A"}})
    assert unknown_id.status_code == 404
    assert unknown_id.json() == {"status": "not-found", "message": "Dashboard not found"}
    conflict = api.post("/api/dashboards/db", json={"dashboard": {"id": a["id"], "uid": "b", "title": "A",
                                                                  "version": 1}})
    assert conflict.status_code == 400
    assert conflict.json() == {"message": "A dashboard with the same uid already exists"}
    by_id = api.post("/api/dashboards/db", json={"dashboard": {"id": a["id"], "title": "A2", "version": 1}})
    assert by_id.status_code == 200 and by_id.json()["uid"] == "a" and by_id.json()["version"] == 2


def test_plugin_provisioned_folder_uid_and_limits(emulator, api):
    emulator.add_dashboard({"uid": "plug", "title": "Plugin"}, plugin_id="grafana-airflow-app")
    plugin = api.post("/api/dashboards/db", json={"dashboard": {"uid": "plug", "title": "Plugin", "version": 1}})
    assert plugin.status_code == 412
    assert plugin.json() == {"status": "plugin-dashboard",
                             "message": "The dashboard belongs to plugin grafana-airflow-app."}
    assert api.post("/api/dashboards/db", json={"dashboard": {"uid": "plug", "title": "Plugin"},
                                                "overwrite": True}).status_code == 200

    emulator.add_dashboard({"uid": "prov", "title": "Provisioned"}, provisioned=True)
    prov = api.post("/api/dashboards/db", json={"dashboard": {"uid": "prov", "title": "Provisioned"},
                                                "overwrite": True})
    assert prov.status_code == 400 and prov.json() == {"message": "Cannot save provisioned dashboard"}
    assert api.get("/api/dashboards/uid/prov").json()["meta"]["provisioned"] is True
    undeletable = api.delete("/api/dashboards/uid/prov")
    assert undeletable.status_code == 400 and undeletable.json()["message"] == "provisioned dashboard cannot be deleted"

    emulator.add_folder("fold", "Fold")
    as_dash = api.post("/api/dashboards/db", json={"dashboard": {"uid": "fold", "title": "X"}})
    assert as_dash.status_code == 400 and as_dash.json()["message"] == "Dashboard cannot be changed to a folder"
    assert api.post("/api/dashboards/db", json={"dashboard": {"uid": "a" * 40, "title": "Long"}}).status_code == 200
    too_chatty = api.post("/api/dashboards/db", json={"dashboard": {"title": "M"}, "message": "m" * 501})
    assert too_chatty.status_code == 400 and too_chatty.json()["message"] == "message too long, max 500 characters"
    fast = api.post("/api/dashboards/db", json={"dashboard": {"title": "Fast", "refresh": "1s"}})
    assert fast.status_code == 400 and fast.json()["message"] == "Dashboard refresh interval is too low"
    is_folder = api.post("/api/dashboards/db", json={"dashboard": {"title": "F", "isFolder": True}})
    assert is_folder.json() == {"message": "Use folders endpoint for saving folders."}


def test_delete_dashboard(emulator, api):
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "gone", "title": "Gone"}})
    deleted = api.delete("/api/dashboards/uid/gone")
    assert deleted.status_code == 200
    assert deleted.json() == {"title": "Gone", "message": "Dashboard Gone deleted", "uid": "gone"}
    assert emulator.dashboard("gone") is None and api.get("/api/dashboards/uid/gone").status_code == 404


# --------------------------------------------------------------------------- versions


def test_versions_list_and_single_version(emulator, api):
    for version, message in enumerate(["first", "second", "third"]):
        body = {"dashboard": {"uid": "v", "title": "V", "version": version, "panels": [version]},
                "message": message}
        assert api.post("/api/dashboards/db", json=body).status_code == 200
    listing = api.get("/api/dashboards/uid/v/versions").json()
    assert listing["continueToken"] == ""
    versions = listing["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["message"] for v in versions] == ["third", "second", "first"]
    assert set(versions[0]) == {"id", "dashboardId", "uid", "parentVersion", "restoredFrom", "version",
                                "created", "createdBy", "message"}
    assert versions[0]["parentVersion"] == 2 and versions[0]["uid"] == "v"

    page = api.get("/api/dashboards/uid/v/versions", params={"limit": 1, "start": 1}).json()["versions"]
    assert [v["version"] for v in page] == [2]
    second = api.get("/api/dashboards/uid/v/versions/2").json()
    assert second["message"] == "second" and second["data"]["panels"] == [1] and second["data"]["version"] == 2
    missing = api.get("/api/dashboards/uid/v/versions/9")
    assert missing.status_code == 404 and missing.json() == {"message": "Dashboard version not found"}

    restored = api.post("/api/dashboards/uid/v/restore", json={"version": 1}).json()
    assert restored["status"] == "success" and restored["version"] == 4
    assert emulator.dashboard("v")["panels"] == [0]
    assert emulator.dashboard_versions("v")[-1]["restoredFrom"] == 1


def test_edit_dashboard_as_user_records_a_version(emulator, api):
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "ui", "title": "UI"}})
    new_version = emulator.edit_dashboard_as_user("ui", lambda d: d.update(description="hand edit"))
    assert new_version == 2
    got = api.get("/api/dashboards/uid/ui").json()
    assert got["dashboard"]["description"] == "hand edit" and got["meta"]["updatedBy"] == "admin"
    latest = api.get("/api/dashboards/uid/ui/versions").json()["versions"][0]
    assert latest["message"] == "edited in UI" and latest["version"] == 2


# --------------------------------------------------------------------------- search

def test_versions_and_reads_never_share_what_a_later_change_or_a_caller_mutates(emulator, api):
    # The stored model and its version entries share their values (no copy per save): nothing may
    # change them in place, neither a UI edit of nested values nor a caller mutating what it was given.
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "s", "title": "S", "panels": [{"title": "a"}]}})
    emulator.edit_dashboard_as_user("s", lambda d: d["panels"][0].update(title="b"))
    emulator.dashboard("s")["panels"][0]["title"] = "mutated by a caller"
    emulator.dashboard_versions("s")[0]["data"]["panels"][0]["title"] = "mutated by a caller"
    api.post("/api/dashboards/uid/s/restore", json={"version": 1})
    emulator.edit_dashboard_as_user("s", lambda d: d["panels"][0].update(title="c"))
    titles = [api.get(f"/api/dashboards/uid/s/versions/{n}").json()["data"]["panels"][0]["title"] for n in (1, 2, 3, 4)]
    assert titles == ["a", "b", "a", "c"]
    assert api.get("/api/dashboards/uid/s").json()["dashboard"]["panels"] == [{"title": "c"}]



def test_search_filters(emulator, api):
    emulator.add_folder("ops", "Ops")
    emulator.add_folder("zz", "Archive")
    for uid, title, tags, folder in [("d1", "Airflow Scheduler", ["airflow", "prod"], "ops"),
                                     ("d2", "airflow workers", ["airflow"], None),
                                     ("d3", "Docker", ["docker", "prod"], "ops"),
                                     ("d4", "Node", [], "zz")]:
        emulator.add_dashboard({"uid": uid, "title": title, "tags": tags}, folder)

    def uids(**params):
        return [hit["uid"] for hit in api.get("/api/search", params=params).json()]

    assert uids() == ["zz", "ops", "d1", "d2", "d3", "d4"]  # folders first, then case-insensitive title
    assert uids(query="AIRFLOW") == ["d1", "d2"]
    assert uids(tag=["airflow", "prod"]) == ["d1"]
    assert uids(tag="prod") == ["d1", "d3"]
    assert uids(type="dash-folder") == ["zz", "ops"]
    assert uids(type="dash-db", folderUIDs="general") == ["d2"]
    assert uids(type="dash-db", folderUIDs=["ops", "general"]) == ["d1", "d2", "d3"]
    assert uids(dashboardUIDs=["d3", "d4"]) == ["d3", "d4"]
    assert uids(type="dash-db", limit=2, page=2) == ["d3", "d4"]

    hits = {hit["uid"]: hit for hit in api.get("/api/search", params={"type": "dash-db"}).json()}
    assert hits["d1"]["folderUid"] == "ops" and hits["d1"]["folderTitle"] == "Ops"
    assert hits["d1"]["tags"] == ["airflow", "prod"] and hits["d1"]["uri"] == "db/airflow-scheduler"
    assert hits["d1"]["url"] == "/d/d1/airflow-scheduler" and hits["d1"]["type"] == "dash-db"
    assert "folderUid" not in hits["d2"] and "folderTitle" not in hits["d2"]


# --------------------------------------------------------------------------- folders


def test_folders_crud(emulator, api):
    created = api.post("/api/folders", json={"uid": "parent", "title": "Parent"})
    assert created.status_code == 200
    body = created.json()
    assert body["url"] == "/dashboards/f/parent/parent" and body["version"] == 1
    for key in ("id", "uid", "title", "hasAcl", "canSave", "canEdit", "canAdmin", "canDelete", "createdBy",
                "created", "updatedBy", "updated"):
        assert key in body
    duplicate_uid = api.post("/api/folders", json={"uid": "parent", "title": "Other"})
    assert duplicate_uid.status_code == 409
    duplicate_title = api.post("/api/folders", json={"title": "Parent"})
    assert duplicate_title.status_code == 409
    assert api.post("/api/folders", json={"title": ""}).status_code == 400
    child = api.post("/api/folders", json={"uid": "child", "title": "Child", "parentUid": "parent"}).json()
    assert child["parentUid"] == "parent" and child["parents"][0]["uid"] == "parent"
    assert [f["uid"] for f in api.get("/api/folders").json()] == ["parent"]
    assert api.get("/api/folders", params={"parentUid": "parent"}).json() == [
        {"id": child["id"], "uid": "child", "title": "Child"}]

    missing = api.get("/api/folders/nope")
    assert missing.status_code == 404 and missing.json()["message"] == "folder not found"

    stale = api.put("/api/folders/parent", json={"title": "Renamed", "version": 7})
    assert stale.status_code == 412 and stale.json()["status"] == "version-mismatch"
    renamed = api.put("/api/folders/parent", json={"title": "Renamed", "version": 1})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    assert api.put("/api/folders/parent", json={"title": "Again", "overwrite": True}).json()["version"] == 3

    emulator.add_dashboard({"uid": "inside", "title": "Inside"}, "child")
    deleted = api.delete("/api/folders/parent")
    assert deleted.status_code == 200 and deleted.json()["message"] == "Folder deleted"
    assert emulator.dashboard("inside") is None and emulator.folder("child") is None


# --------------------------------------------------------------------------- data sources


def test_datasources_hide_secrets(emulator, api):
    payload = {"name": "Influx", "type": "influxdb", "uid": "influx", "url": "http://localhost:8086",
               "access": "proxy", "jsonData": {"version": "Flux", "organization": "airflow"},
               "secureJsonData": {"token": "s3cret"}, "basicAuthPassword": "pw"}
    created = api.post("/api/datasources", json=payload)
    assert created.status_code == 200
    body = created.json()
    assert body["message"] == "Datasource added" and body["name"] == "Influx" and body["id"] == body["datasource"]["id"]
    for response in (body["datasource"], api.get("/api/datasources/uid/influx").json(),
                     api.get("/api/datasources/name/Influx").json()):
        assert response["secureJsonFields"] == {"token": True, "basicAuthPassword": True}
        assert "s3cret" not in str(response) and "secureJsonData" not in response
        assert response["jsonData"]["organization"] == "airflow" and response["readOnly"] is False
    assert "s3cret" not in api.get("/api/datasources").text
    assert emulator.datasource("influx")["secureJsonData"]["token"] == "s3cret"

    duplicate = api.post("/api/datasources", json={"name": "Influx", "type": "influxdb"})
    assert duplicate.status_code == 409
    assert duplicate.json() == {"message": "data source with the same name already exists"}

    updated = api.put("/api/datasources/uid/influx", json={**payload, "secureJsonData": {}, "url": "http://x:1",
                                                          "version": 1})
    assert updated.status_code == 200 and updated.json()["message"] == "Datasource updated"
    assert updated.json()["datasource"]["secureJsonFields"]["token"] is True  # kept when not resent
    assert updated.json()["datasource"]["version"] == 2

    emulator.add_datasource({"name": "Prom Main", "type": "prometheus", "uid": "prom"}, read_only=True)
    by_spaced_name = api.get("/api/datasources/name/Prom%20Main")
    assert by_spaced_name.status_code == 200 and by_spaced_name.json()["readOnly"] is True
    assert api.delete("/api/datasources/uid/prom").status_code == 403
    assert [d["name"] for d in api.get("/api/datasources").json()] == ["Influx", "Prom Main"]

    missing = api.get("/api/datasources/uid/nope")
    assert missing.status_code == 404 and missing.json() == {"message": "Data source not found"}
    deleted = api.delete("/api/datasources/uid/influx")
    assert deleted.status_code == 200 and deleted.json()["message"] == "Data source deleted"
    assert [d["uid"] for d in api.get("/api/datasources").json()] == ["prom"]


# --------------------------------------------------------------------------- faults


def test_fail_next_is_not_applied_and_sends_retry_after(emulator, api):
    emulator.faults.fail_next(2, status=503, path_prefix="/api/dashboards", retry_after=3)
    assert api.get("/api/search").status_code == 200  # another prefix is untouched
    for _ in range(2):
        failed = api.post("/api/dashboards/db", json={"dashboard": {"uid": "f", "title": "F"}})
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "3"
        assert failed.json() == {"message": "Service Unavailable"}
    assert emulator.dashboard("f") is None
    assert api.post("/api/dashboards/db", json={"dashboard": {"uid": "f", "title": "F"}}).status_code == 200


def test_fail_always_until_clear(emulator, api):
    emulator.faults.fail_always(500, path_prefix="/api/folders")
    assert [api.get("/api/folders").status_code for _ in range(3)] == [500, 500, 500]
    emulator.faults.clear()
    assert api.get("/api/folders").status_code == 200


def test_drop_next_closes_the_connection(emulator, api):
    emulator.faults.drop_next(1, path_prefix="/api/dashboards/db")
    with pytest.raises(requests.ConnectionError):
        api.post("/api/dashboards/db", json={"dashboard": {"uid": "d", "title": "D"}})
    assert emulator.dashboard("d") is None
    emulator.faults.drop_next(1, after_apply=True)
    with pytest.raises(requests.ConnectionError):
        api.post("/api/dashboards/db", json={"dashboard": {"uid": "d", "title": "D"}})
    assert emulator.dashboard("d")["version"] == 1  # landed, but the client never heard
    assert emulator.requests[-1].status is None


def test_slow_next_exceeds_read_timeout_but_is_applied(emulator, api):
    emulator.faults.slow_next(1, 1.0, path_prefix="/api/dashboards/db")
    with pytest.raises(requests.ReadTimeout):
        api.post("/api/dashboards/db", json={"dashboard": {"uid": "s", "title": "S"}}, timeout=0.2)
    assert emulator.dashboard("s")["version"] == 1
    assert api.get("/api/dashboards/uid/s").status_code == 200


def test_every_answer_waits_at_least_the_latency(emulator, api):
    emulator.faults.latency = 0.15
    started = time.monotonic()
    api.get("/api/health")
    assert time.monotonic() - started >= 0.15
    emulator.faults.clear()
    assert emulator.faults.latency == 0


def test_latency_delays_the_answer_not_the_apply(emulator, api):
    # Like a round trip: the request is applied when it arrives and its answer leaves `latency` after that,
    # so the emulator's own work is inside the latency, not added to it.
    applied = threading.Event()
    emulator.on_next_dashboard_write(applied.set)
    emulator.faults.latency = 60
    answers: list[object] = []

    def send() -> None:
        try:
            answers.append(api.post("/api/dashboards/db", json={"dashboard": {"uid": "l", "title": "L"}}, timeout=90))
        except requests.RequestException as exc:
            answers.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert applied.wait(30), "the write waited out the latency before it was applied"
        assert answers == []  # its answer is still on its way
    finally:
        emulator.stop()  # wakes the delayed answer: the connection closes without one
        sender.join(30)
    assert emulator.dashboard("l") is not None and isinstance(answers[0], requests.ConnectionError)


# --------------------------------------------------------------------------- concurrency and hooks


def test_concurrent_change_between_read_and_write(emulator, api):
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "race", "title": "Race"}})
    read = api.get("/api/dashboards/uid/race").json()["dashboard"]
    emulator.on_next_dashboard_write(lambda: emulator.edit_dashboard_as_user("race", lambda d: d.update(x=1)))
    write = api.post("/api/dashboards/db", json={"dashboard": {**read, "title": "Race"}})
    assert write.status_code == 412 and write.json()["status"] == "version-mismatch"
    assert emulator.dashboard("race")["x"] == 1 and emulator.dashboard("race")["version"] == 2
    # the hook ran once only
    again = api.post("/api/dashboards/db", json={"dashboard": {**read, "version": 2}})
    assert again.status_code == 200


def test_concurrent_saves_of_one_version_let_exactly_one_win(emulator):
    api = Api(emulator.url)
    api.post("/api/dashboards/db", json={"dashboard": {"uid": "hot", "title": "Hot"}})
    barrier = threading.Barrier(8)

    def save(n: int) -> int:
        client = Api(emulator.url)
        barrier.wait()
        return client.post("/api/dashboards/db", json={"dashboard": {"uid": "hot", "title": "Hot", "version": 1,
                                                                     "n": n}}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(save, range(8)))
    assert statuses == [200] + [412] * 7
    assert emulator.dashboard("hot")["version"] == 2


# --------------------------------------------------------------------------- recording and lifecycle


def test_requests_are_recorded(emulator, api):
    requests.get(emulator.url + "/api/health", timeout=TIMEOUT)
    api.get("/api/search", params={"tag": ["a", "b"]})
    method, path, query, status, had_auth, arrived = emulator.requests[-1]
    assert (method, path, query, status, had_auth) == ("GET", "/api/search", {"tag": ["a", "b"]}, 200, True)
    assert emulator.requests[0].arrived <= arrived <= time.monotonic()
    assert emulator.requests[0].had_auth is False
    emulator.reset_requests()
    assert emulator.requests == []


def test_stop_is_idempotent_and_frees_the_port():
    emulator = GrafanaEmulator()
    url = emulator.start()
    assert emulator.admin_token == "glsa_test_admin"
    requests.get(url + "/api/health", timeout=TIMEOUT)
    emulator.stop()
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/api/health", timeout=1)


def test_constructor_validates_flavor_and_roles():
    with pytest.raises(ValueError):
        GrafanaEmulator(flavor="grafana9")
    with pytest.raises(ValueError):
        GrafanaEmulator(tokens={"t": "Owner"})
