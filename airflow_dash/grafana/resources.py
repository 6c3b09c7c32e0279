"""`DashboardApi` over Grafana 12/13's resource APIs (`dashboard.grafana.app`, `folder.grafana.app`), and the
discovery that decides which API a server gets (facts and sources: docs/grafana-facts.md).

Shapes: `/apis/<group>/<version>/namespaces/<ns>/<resource>[/<name>]`; the name is the Grafana uid; the
namespace is `default` for org 1 and `org-<id>` otherwise. A dashboard is `{"metadata": {"name",
"resourceVersion", "generation", "annotations": {"grafana.app/folder": <folder uid>, ...}}, "spec": <classic
JSON model>}`. Create is POST (201; 409 when the name exists); a conditional update is PUT carrying the
`resourceVersion` we read (409 Conflict when stale); a PUT without it overwrites unconditionally (only
`--force`). A dashboard's folder is only its annotation: leaving it out moves the dashboard to the root.

Reads check `status.conversion`: a dashboard stored as schema v2 (a UI save with dynamic dashboards) comes
back converted, lossily, and is reported through `LiveDashboard.stored_as`. One stored by the legacy route
(`v0alpha1`, e.g. before an upgrade from Grafana 11) is migrated on a v1 read; we re-read it through the
legacy route, which returns it exactly as stored, so a drift check compares what was really saved.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import quote

from airflow_dash.errors import UserError
from airflow_dash.grafana.api import (
    DASHBOARD_API_VERSIONS, FOLDER_API_VERSIONS, LiveDashboard, ServerInfo, parse_release,
)
from airflow_dash.grafana.client import GrafanaClient, GrafanaHTTPError, folder_conflict_error

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
FOLDER_ANNOTATION = "grafana.app/folder"
MESSAGE_ANNOTATION = "grafana.app/message"
MANAGED_BY_ANNOTATION = "grafana.app/managedBy"
MANAGER_ALLOWS_EDITS_ANNOTATION = "grafana.app/managerAllowsEdits"
INTERNAL_ID_LABEL = "grafana.app/deprecatedInternalID"
LIST_PAGE = 200
# Keys the server owns in a classic model: never part of a resource spec we send.
_SERVER_KEYS = ("id", "uid", "version")


def namespace_for(org_id: int | None) -> str:
    return "default" if org_id in (None, 1) else f"org-{org_id}"


def _group_version(client: GrafanaClient, group: str, wanted: tuple[str, ...]) -> str:
    """The first of `wanted` that `/apis/<group>` serves, or "" when the group is not there."""
    status, body = client.request("GET", f"/apis/{group}", what=f"reading Grafana's API discovery ({group})", allow=(403, 404, 406))
    if status != 200 or not isinstance(body, dict):
        return ""
    served = {v.get("version") for v in body.get("versions") or [] if isinstance(v, dict)}
    return next((f"{group}/{v}" for v in wanted if v in served), "")


def discover(client: GrafanaClient, prefer: str = "auto") -> ServerInfo:
    """Read /api/health, then (Grafana 12+, or version hidden) the /apis groups; choose the API."""
    status, health = client.request("GET", "/api/health", what=f"checking Grafana at {client.url}",
                                    allow=(404, 405, 503))
    if not isinstance(health, dict) or "database" not in health:
        raise UserError(f"{client.url} does not look like Grafana: /api/health answered HTTP {status} "
                        f"without Grafana's health document")
    version = str(health.get("version") or "")
    namespace = namespace_for(client.org_id)
    legacy = ServerInfo(version=version, api="legacy", namespace=namespace)
    release = parse_release(version)
    if prefer == "legacy" or (prefer == "auto" and release is not None and release < (12, 0)):
        return legacy
    dashboards = _group_version(client, DASHBOARD_GROUP, DASHBOARD_API_VERSIONS)
    folders = _group_version(client, FOLDER_GROUP, FOLDER_API_VERSIONS)
    if not (dashboards and folders):
        if prefer == "resources":
            raise UserError(f"Grafana at {client.url} does not serve {DASHBOARD_GROUP} and {FOLDER_GROUP} "
                            f"at {'/'.join(DASHBOARD_API_VERSIONS)}")
        return legacy
    return ServerInfo(version=version, api="resources", dashboard_api=dashboards, folder_api=folders,
                      namespace=namespace)


def _metadata(obj: Any) -> dict[str, Any]:
    return (obj.get("metadata") or {}) if isinstance(obj, dict) else {}


def _annotations(obj: Any) -> dict[str, Any]:
    return _metadata(obj).get("annotations") or {}


class ResourceApi:
    def __init__(self, client: GrafanaClient, server: ServerInfo):
        self.client = client
        self.server = server
        self.url = client.url

    def _path(self, group_version: str, resource: str, name: str | None = None) -> str:
        path = f"/apis/{group_version}/namespaces/{quote(self.server.namespace, safe='')}/{resource}"
        return path + (f"/{quote(name, safe='')}" if name is not None else "")

    def _dashboards(self, name: str | None = None) -> str:
        return self._path(self.server.dashboard_api, "dashboards", name)

    def _folders(self, name: str | None = None) -> str:
        return self._path(self.server.folder_api, "folders", name)

    def _list(self, path: str, what: str, page_size: int | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            params: dict[str, Any] = {"limit": page_size or LIST_PAGE}
            if token:
                params["continue"] = token
            _, body = self.client.request("GET", path, params=params, what=what)
            body = body if isinstance(body, dict) else {}
            items += [item for item in body.get("items") or [] if isinstance(item, dict)]
            token = _metadata(body).get("continue") or ""
            if not token:
                return items

    # -- dashboards -----------------------------------------------------------------------------------------

    def _live(self, uid: str, obj: dict[str, Any]) -> LiveDashboard:
        metadata = _metadata(obj)
        annotations = metadata.get("annotations") or {}
        conversion = (obj.get("status") or {}).get("conversion") or {}
        stored = str(conversion.get("storedVersion") or "")
        ours = self.server.dashboard_api.rsplit("/", 1)[-1]
        generation = int(metadata.get("generation") or 0)
        model = dict(obj.get("spec") or {})
        if stored and not stored.startswith("v2") and stored != ours:
            exact = self._legacy_model(uid)
            if exact is not None:
                model = exact
        model["uid"] = uid
        model["version"] = generation
        internal_id = (metadata.get("labels") or {}).get(INTERNAL_ID_LABEL)
        if str(internal_id or "").isdigit():
            model["id"] = int(str(internal_id))
        managed_by = str(annotations.get(MANAGED_BY_ANNOTATION) or "")
        locked = bool(managed_by) and str(annotations.get(MANAGER_ALLOWS_EDITS_ANNOTATION)).lower() != "true"
        return LiveDashboard(uid=uid, model=model, version=generation,
                             folder_uid=annotations.get(FOLDER_ANNOTATION) or None, provisioned=locked,
                             resource_version=str(metadata.get("resourceVersion") or ""),
                             stored_as=stored if stored.startswith("v2") else "", managed_by=managed_by)

    def _legacy_model(self, uid: str) -> dict[str, Any] | None:
        status, body = self.client.request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}",
                                           what=f"reading dashboard {uid!r} as stored", allow=(404, 406))
        if status != 200 or not isinstance(body, dict):
            return None
        return dict(body.get("dashboard") or {})

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        status, body = self.client.request("GET", self._dashboards(uid), what=f"reading dashboard {uid!r}",
                                           allow=(404,))
        if status == 404:
            return None
        return self._live(uid, body if isinstance(body, dict) else {})

    def save_dashboard(self, model: Mapping[str, Any], folder_uid: str | None = None, message: str = "",
                       overwrite: bool = False, *, revision: str | None = None) -> dict[str, Any]:
        uid = str(model.get("uid") or "")
        if not uid:
            raise UserError("a dashboard needs a uid to be published")
        annotations = {}
        if folder_uid:
            annotations[FOLDER_ANNOTATION] = folder_uid
        if message:
            annotations[MESSAGE_ANNOTATION] = message[:500]
        metadata: dict[str, Any] = {"name": uid, "annotations": annotations}
        spec = {k: v for k, v in model.items() if k not in _SERVER_KEYS}
        body = {"apiVersion": self.server.dashboard_api, "kind": "Dashboard", "metadata": metadata, "spec": spec}
        what = f"saving dashboard {uid!r}"
        if revision is None and not overwrite:
            _, answer = self.client.request("POST", self._dashboards(), json=body, what=what)
        else:
            if revision is not None and not overwrite:
                metadata["resourceVersion"] = revision
            _, answer = self.client.request("PUT", self._dashboards(uid), json=body, what=what)
        answered = _metadata(answer)
        return {"uid": answered.get("name") or uid, "version": int(answered.get("generation") or 0),
                "resourceVersion": str(answered.get("resourceVersion") or ""), "status": "success"}

    def delete_dashboard(self, uid: str) -> bool:
        status, _ = self.client.request("DELETE", self._dashboards(uid), what=f"deleting dashboard {uid!r}",
                                        allow=(404,))
        return status != 404

    def search(self, query: str | None = None, tags: Iterable[str] = (), folder_uids: Iterable[str] = (),
               type: str | None = None, page_size: int | None = None) -> list[dict[str, Any]]:
        tags, folders = list(tags), set(folder_uids)
        text = (query or "").lower()
        hits: list[dict[str, Any]] = []
        if type in (None, "dash-folder") and not tags:
            for item in self._list(self._folders(), "listing folders", page_size):
                parent = _annotations(item).get(FOLDER_ANNOTATION) or None
                title = str((item.get("spec") or {}).get("title") or "")
                if (not folders or parent in folders) and text in title.lower():
                    hits.append({"uid": _metadata(item).get("name"), "title": title, "type": "dash-folder",
                                 "tags": [], "folderUid": parent})
        if type in (None, "dash-db"):
            for item in self._list(self._dashboards(), "listing dashboards", page_size):
                spec = item.get("spec") or {}
                folder = _annotations(item).get(FOLDER_ANNOTATION) or None
                title = str(spec.get("title") or "")
                item_tags = [t for t in spec.get("tags") or [] if isinstance(t, str)]
                if folders and folder not in folders:
                    continue
                if text not in title.lower() or not all(t in item_tags for t in tags):
                    continue
                hits.append({"uid": _metadata(item).get("name"), "title": title, "type": "dash-db",
                             "tags": sorted(item_tags), "folderUid": folder})
        hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower(), h["uid"] or ""))
        return hits

    # -- folders --------------------------------------------------------------------------------------------

    @staticmethod
    def _folder(obj: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(obj)
        return {"uid": metadata.get("name"), "title": (obj.get("spec") or {}).get("title", ""),
                "parentUid": _annotations(obj).get(FOLDER_ANNOTATION) or None,
                "version": int(metadata.get("generation") or 0),
                "resourceVersion": str(metadata.get("resourceVersion") or "")}

    def _get_folder_object(self, uid: str) -> dict[str, Any] | None:
        status, body = self.client.request("GET", self._folders(uid), what=f"reading folder {uid!r}", allow=(404,))
        return None if status == 404 or not isinstance(body, dict) else body

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        obj = self._get_folder_object(uid)
        return None if obj is None else self._folder(obj)

    def ensure_folder(self, uid: str, title: str, parent_uid: str | None = None,
                      known_missing: bool = False) -> tuple[dict[str, Any], bool]:
        if not known_missing:
            existing = self.get_folder(uid)
            if existing is not None:
                return existing, False
        metadata: dict[str, Any] = {"name": uid}
        if parent_uid:
            metadata["annotations"] = {FOLDER_ANNOTATION: parent_uid}
        body = {"apiVersion": self.server.folder_api, "kind": "Folder", "metadata": metadata,
                "spec": {"title": title}}
        status, answer = self.client.request("POST", self._folders(), json=body, what=f"creating folder {title!r}",
                                             allow=(409,))
        if status == 409:
            existing = self.get_folder(uid)
            if existing is None:
                raise folder_conflict_error(title, answer)
            return existing, False
        return self._folder(answer if isinstance(answer, dict) else body), True

    def rename_folder(self, uid: str, title: str) -> dict[str, Any]:
        obj = self._get_folder_object(uid)
        if obj is None:
            raise GrafanaHTTPError(f"renaming folder {uid!r} failed: HTTP 404: folder not found", status=404)
        obj = {**obj, "spec": {**(obj.get("spec") or {}), "title": title}}
        _, answer = self.client.request("PUT", self._folders(uid), json=obj, what=f"renaming folder {uid!r}")
        return self._folder(answer if isinstance(answer, dict) else obj)

    def delete_folder(self, uid: str) -> bool:
        status, _ = self.client.request("DELETE", self._folders(uid), what=f"deleting folder {uid!r}", allow=(404,))
        return status != 404
