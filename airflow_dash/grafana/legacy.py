"""`DashboardApi` over the legacy routes (`/api/dashboards`, `/api/folders`, `/api/search`): Grafana 8.3-11,
and Grafana 12/13 when their resource APIs are not reachable (the routes are deprecated there, not removed).

Grafana 13's legacy GET answers 406 for a dashboard stored as schema v2; that becomes a `LiveDashboard`
with `stored_as` set and an empty model, so publish refuses to overwrite it instead of failing oddly.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from airflow_dash.grafana.api import LiveDashboard, ServerInfo
from airflow_dash.grafana.client import GrafanaClient, folder_conflict_error

SEARCH_PAGE = 1000  # Grafana's default; the maximum is 5000 (above it: 422)
_STORED_VERSION = re.compile(r"/apis/dashboard\.grafana\.app/([a-z0-9]+)/")


class LegacyApi:
    def __init__(self, client: GrafanaClient, server: ServerInfo):
        self.client = client
        self.server = server
        self.url = client.url

    def _request(self, method: str, path: str, *, what: str,
                 params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, json: Any = None,
                 allow: Iterable[int] = ()) -> tuple[int, Any]:
        return self.client.request(method, path, what=what, params=params, json=json, allow=allow)

    # -- dashboards -----------------------------------------------------------------------------------------

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        status, body = self._request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}",
                                     what=f"reading dashboard {uid!r}", allow=(404, 406))
        if status == 404:
            return None
        if status == 406:
            message = str(body.get("message") if isinstance(body, dict) else body)
            match = _STORED_VERSION.search(message)
            return LiveDashboard(uid=uid, model={}, version=0, folder_uid=None,
                                 stored_as=match[1] if match else "v2")
        model = body.get("dashboard") or {}
        meta = body.get("meta") or {}
        return LiveDashboard(uid=uid, model=model, version=int(model.get("version") or meta.get("version") or 0),
                             folder_uid=meta.get("folderUid") or None, provisioned=bool(meta.get("provisioned")))

    def save_dashboard(self, model: Mapping[str, Any], folder_uid: str | None = None, message: str = "",
                       overwrite: bool = False, *, revision: str | None = None) -> dict[str, Any]:
        dashboard = dict(model)
        if revision is not None:
            dashboard["version"] = int(revision)  # Grafana refuses it if anyone saved since
        body: dict[str, Any] = {"dashboard": dashboard, "message": message[:500], "overwrite": bool(overwrite)}
        if folder_uid:
            body["folderUid"] = folder_uid
        uid = model.get("uid")
        return self._request("POST", "/api/dashboards/db", json=body, what=f"saving dashboard {uid!r}")[1] or {}

    def delete_dashboard(self, uid: str) -> bool:
        status, _ = self._request("DELETE", f"/api/dashboards/uid/{quote(uid, safe='')}",
                                  what=f"deleting dashboard {uid!r}", allow=(404,))
        return status != 404

    def search(self, query: str | None = None, tags: Iterable[str] = (), folder_uids: Iterable[str] = (),
               type: str | None = None, page_size: int | None = None) -> list[dict[str, Any]]:
        """GET /api/search, following pages until a short one."""
        limit = page_size or SEARCH_PAGE
        base: list[tuple[str, Any]] = []
        if query:
            base.append(("query", query))
        base += [("tag", t) for t in tags]
        base += [("folderUIDs", f) for f in folder_uids]
        if type:
            base.append(("type", type))
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            params = base + [("limit", limit), ("page", page)]
            _, body = self._request("GET", "/api/search", params=params, what="searching dashboards")
            batch = body or []
            hits.extend(batch)
            if len(batch) < limit:
                return hits
            page += 1

    # -- folders --------------------------------------------------------------------------------------------

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        status, body = self._request("GET", f"/api/folders/{quote(uid, safe='')}", what=f"reading folder {uid!r}",
                                     allow=(404,))
        return None if status == 404 else body

    def ensure_folder(self, uid: str, title: str, parent_uid: str | None = None,
                      known_missing: bool = False) -> tuple[dict[str, Any], bool]:
        if not known_missing:
            existing = self.get_folder(uid)
            if existing is not None:
                return existing, False
        payload = {"uid": uid, "title": title, **({"parentUid": parent_uid} if parent_uid else {})}
        status, body = self._request("POST", "/api/folders", json=payload, what=f"creating folder {title!r}",
                                     allow=(409,))
        if status == 409:
            existing = self.get_folder(uid)
            if existing is None:
                raise folder_conflict_error(title, body)
            return existing, False
        return body or {}, True

    def rename_folder(self, uid: str, title: str) -> dict[str, Any]:
        folder = self.get_folder(uid) or {}
        return self._request("PUT", f"/api/folders/{quote(uid, safe='')}",
                             json={"title": title, "version": folder.get("version", 1)},
                             what=f"renaming folder {uid!r}")[1] or {}

    def delete_folder(self, uid: str) -> bool:
        status, _ = self._request("DELETE", f"/api/folders/{quote(uid, safe='')}", what=f"deleting folder {uid!r}",
                                  allow=(404,))
        return status != 404
