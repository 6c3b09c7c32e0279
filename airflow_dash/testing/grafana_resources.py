"""Grafana 13's resource APIs for the emulator: `dashboard.grafana.app` and `folder.grafana.app`.

Mounted by `GrafanaEmulator(flavor="grafana13")`; it works on the emulator's own state (one store, as in
Grafana, where the legacy routes and these APIs read and write the same unified storage). Facts and their
sources: docs/grafana-facts.md. In short:

- discovery: `GET /apis` (APIGroupList) and `GET /apis/<group>` (APIGroup with `preferredVersion`);
- `/apis/<group>/<version>/namespaces/default/<resource>[/<name>]`; only org 1 (`default`) exists here;
- create: POST, 201 with the stored object; 409 AlreadyExists when the name is taken;
- update: PUT; a `metadata.resourceVersion` other than the current one gives 409 Conflict; none means an
  unconditional overwrite; a PUT to an unknown name creates it (201);
- `generation` (= the legacy version) grows only when the spec changes, `resourceVersion` on every write;
- a dashboard's folder is the `grafana.app/folder` annotation; without it the dashboard sits at the root;
- a read at another version than the stored one carries `status.conversion` (`storedVersion`); a v1 read of a
  legacy-written (v0alpha1) dashboard is migrated to the latest schemaVersion; a v1 read of a schema v2
  dashboard is a lossy conversion;
- errors are Kubernetes `Status` objects; folders nest at most 4 deep; dashboards above the emulator's
  `max_dashboard_bytes` give 413.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, NamedTuple

from airflow_dash.testing.emulator_http import json_copy
from airflow_dash.testing.grafana_emulator import (
    MAX_FOLDER_DEPTH, Answer, GrafanaEmulator, Query, RouteSpec, _ApiError, _as_str, _Dashboard, _Folder, _Identity,
    _now, _query_int,
)

DASHBOARD_GROUP = "dashboard.grafana.app"
FOLDER_GROUP = "folder.grafana.app"
DASHBOARD_VERSIONS = ("v1", "v1beta1", "v0alpha1", "v2beta1")  # preferred first
FOLDER_VERSIONS = ("v1", "v1beta1")


class _Resource(NamedTuple):
    """What the generic list/get routes need to know of a resource."""

    plural: str  # in URLs and Status details
    group: str
    versions: tuple[str, ...]
    list_kind: str
    store: str  # the emulator's dict of them, by uid


DASHBOARDS = _Resource("dashboards", DASHBOARD_GROUP, DASHBOARD_VERSIONS, "DashboardList", "_dashboards")
FOLDERS = _Resource("folders", FOLDER_GROUP, FOLDER_VERSIONS, "FolderList", "_folders")
NAMESPACE = "default"
FOLDER_ANNOTATION = "grafana.app/folder"
MESSAGE_ANNOTATION = "grafana.app/message"
LATEST_SCHEMA_VERSION = 42
_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
# Annotations the server writes itself; a client's values for them are ignored.
_SERVER_ANNOTATIONS = ("grafana.app/createdBy", "grafana.app/updatedBy", "grafana.app/updatedTimestamp")


def _status(code: int, reason: str, message: str, name: str = "", group: str = "", kind: str = "") -> _ApiError:
    details = {key: value for key, value in (("name", name), ("group", group), ("kind", kind)) if value}
    return _ApiError(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "details": details, "code": code})


def _not_found(resource: str, group: str, name: str) -> _ApiError:
    return _status(404, "NotFound", f'{resource}.{group} "{name}" not found', name, group, resource)


def _conflict(resource: str, group: str, name: str) -> _ApiError:
    return _status(409, "Conflict", f'Operation cannot be fulfilled on {resource}.{group} "{name}": the object has '
                                    "been modified; please apply your changes to the latest version and try again",
                   name, group, resource)


def _exists(resource: str, group: str, name: str) -> _ApiError:
    return _status(409, "AlreadyExists", f'{resource}.{group} "{name}" already exists', name, group, resource)


def _forbidden(resource: str, group: str, verb: str) -> _ApiError:
    return _status(403, "Forbidden", f'{resource}.{group} is forbidden: User cannot {verb} resource "{resource}" '
                                     f'in API group "{group}"', group=group, kind=resource)


def _migrated(spec: dict[str, Any]) -> dict[str, Any]:
    """What a v1 read does to a classic model stored at an older schemaVersion: it runs the migrations."""
    spec = json_copy(spec)
    if isinstance(spec.get("schemaVersion"), int) and spec["schemaVersion"] < LATEST_SCHEMA_VERSION:
        spec["schemaVersion"] = LATEST_SCHEMA_VERSION
    return spec


class ResourceRoutes:
    """Routes for `GrafanaEmulator.mount`."""

    def routes(self, emulator: GrafanaEmulator) -> list[RouteSpec]:
        self.emulator = emulator
        ns = r"/namespaces/([^/]+)"
        dash = rf"/apis/{re.escape(DASHBOARD_GROUP)}/([^/]+){ns}/dashboards"
        folder = rf"/apis/{re.escape(FOLDER_GROUP)}/([^/]+){ns}/folders"
        return [
            ("GET", r"/apis/?", self._group_list, True),
            ("GET", rf"/apis/({re.escape(DASHBOARD_GROUP)}|{re.escape(FOLDER_GROUP)})/?", self._group, True),
            ("GET", dash, self._list_dashboards, True),
            ("POST", dash, self._create_dashboard, True),
            ("GET", rf"{dash}/([^/]+)", self._get_dashboard, True),
            ("PUT", rf"{dash}/([^/]+)", self._put_dashboard, True),
            ("DELETE", rf"{dash}/([^/]+)", self._delete_dashboard, True),
            ("GET", folder, self._list_folders, True),
            ("POST", folder, self._create_folder, True),
            ("GET", rf"{folder}/([^/]+)", self._get_folder, True),
            ("PUT", rf"{folder}/([^/]+)", self._put_folder, True),
            ("DELETE", rf"{folder}/([^/]+)", self._delete_folder, True),
        ]

    # -- discovery ----------------------------------------------------------------------------------------------

    @staticmethod
    def _group_doc(group: str) -> dict[str, Any]:
        versions = DASHBOARD_VERSIONS if group == DASHBOARD_GROUP else FOLDER_VERSIONS
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
                "preferredVersion": entries[0]}

    def _group_list(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        groups = [self._group_doc(g) for g in (DASHBOARD_GROUP, FOLDER_GROUP)]
        for group in groups:
            group.pop("kind"), group.pop("apiVersion")
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _group(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return self._group_doc(params[0])

    # -- helpers ------------------------------------------------------------------------------------------------

    @staticmethod
    def _check(version: str, namespace: str, group: str, served: tuple[str, ...]) -> None:
        if version not in served:
            raise _ApiError(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": "the server could not find the requested resource", "reason": "NotFound",
                                  "details": {}, "code": 404})
        if namespace != NAMESPACE:
            raise _forbidden("dashboards" if group == DASHBOARD_GROUP else "folders", group, "access namespace")

    def _body(self, raw: bytes, group_version: str, kind: str, url_name: str | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        try:
            obj = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _status(400, "BadRequest", "the request body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise _status(400, "BadRequest", "the request body must be an object")
        if obj.get("apiVersion") not in (None, group_version):
            raise _status(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does not match "
                                             f"the expected API version ({group_version})")
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else None
        name = _as_str(metadata.get("name"))
        if url_name is not None and name and name != url_name:
            raise _status(400, "BadRequest", "the name of the object does not match the name on the URL")
        if url_name is None and not name:
            raise _status(422, "Invalid", f"{kind}.{group_version.split('/')[0]} is invalid: metadata.name: Required "
                                          "value: name or generateName is required")
        if spec is None:
            raise _status(400, "BadRequest", f"{kind} spec is required")
        return obj, metadata, spec

    def _dashboard_object(self, dash: _Dashboard, version: str) -> dict[str, Any]:
        annotations = {**dash.annotations, "grafana.app/createdBy": f"user:{dash.created_by}",
                       "grafana.app/updatedBy": f"user:{dash.updated_by}", "grafana.app/updatedTimestamp": dash.updated}
        if dash.folder_uid:
            annotations[FOLDER_ANNOTATION] = dash.folder_uid
        else:
            annotations.pop(FOLDER_ANNOTATION, None)
        status: dict[str, Any] = {}
        if version.startswith("v2"):
            spec = json_copy(dash.v2_spec) if dash.v2_spec is not None else {"title": dash.title, "elements": {}}
        else:
            spec = {k: v for k, v in json_copy(dash.data).items() if k not in ("id", "uid", "version")}
            if dash.stored_version == "v0alpha1" and version != "v0alpha1":
                spec = _migrated(spec)
        if dash.stored_version != version:
            status["conversion"] = {"failed": False, "storedVersion": dash.stored_version}
        return {"kind": "Dashboard", "apiVersion": f"{DASHBOARD_GROUP}/{version}",
                "metadata": {"name": dash.uid, "namespace": NAMESPACE, "uid": f"{dash.id:08d}-emulated",
                             "resourceVersion": str(dash.resource_version), "generation": dash.version,
                             "creationTimestamp": dash.created,
                             "labels": {**dash.labels, "grafana.app/deprecatedInternalID": str(dash.id)},
                             "annotations": annotations},
                "spec": spec, "status": status}

    def _folder_object(self, folder: _Folder, version: str) -> dict[str, Any]:
        annotations = {"grafana.app/createdBy": f"user:{folder.created_by}",
                       "grafana.app/updatedBy": f"user:{folder.updated_by}",
                       "grafana.app/updatedTimestamp": folder.updated}
        if folder.parent_uid:
            annotations[FOLDER_ANNOTATION] = folder.parent_uid
        spec = {"title": folder.title, **({"description": folder.description} if folder.description else {})}
        return {"kind": "Folder", "apiVersion": f"{FOLDER_GROUP}/{version}",
                "metadata": {"name": folder.uid, "namespace": NAMESPACE, "uid": f"{folder.id:08d}-emulated",
                             "resourceVersion": str(folder.resource_version), "generation": folder.version,
                             "creationTimestamp": folder.created,
                             "labels": {"grafana.app/deprecatedInternalID": str(folder.id)},
                             "annotations": annotations},
                "spec": spec, "status": {}}

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, Any], kind: str, group_version: str) -> dict[str, Any]:
        limit = _query_int(query, "limit", 0) or 500
        start = _query_int(query, "continue", 0)
        page = items[start:start + limit]
        metadata: dict[str, Any] = {"resourceVersion": ""}
        if start + limit < len(items):
            metadata["continue"] = str(start + limit)
        return {"kind": kind, "apiVersion": group_version, "metadata": metadata, "items": page}

    def _list(self, resource: _Resource, render: Callable[[Any, str], dict[str, Any]], params: list[str],
              query: Query) -> dict[str, Any]:
        """GET of a collection, the same for dashboards and folders: every object by name, paged."""
        version, namespace = params
        self._check(version, namespace, resource.group, resource.versions)
        em = self.emulator
        with em._lock:
            stored = getattr(em, resource.store)
            items = [render(obj, version) for obj in sorted(stored.values(), key=lambda obj: obj.uid)]
        return self._page(items, query, resource.list_kind, f"{resource.group}/{version}")

    def _get(self, resource: _Resource, render: Callable[[Any, str], dict[str, Any]], params: list[str]) -> dict[str, Any]:
        """GET of one object by name (404 in the Status form when there is none)."""
        version, namespace, name = params
        self._check(version, namespace, resource.group, resource.versions)
        em = self.emulator
        with em._lock:
            obj = getattr(em, resource.store).get(name)
            if obj is None:
                raise _not_found(resource.plural, resource.group, name)
            return render(obj, version)

    # -- dashboards ---------------------------------------------------------------------------------------------

    def _list_dashboards(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return self._list(DASHBOARDS, self._dashboard_object, params, query)

    def _get_dashboard(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return self._get(DASHBOARDS, self._dashboard_object, params)

    def _create_dashboard(self, identity: _Identity, params: list[str], query: Query, raw: bytes) -> Answer | dict[str, Any]:
        return self._write_dashboard(identity, params[0], params[1], None, raw)

    def _put_dashboard(self, identity: _Identity, params: list[str], query: Query, raw: bytes) -> Answer | dict[str, Any]:
        return self._write_dashboard(identity, params[0], params[1], params[2], raw)

    def _write_dashboard(self, identity: _Identity, version: str, namespace: str, url_name: str | None,
                         raw: bytes) -> Answer | dict[str, Any]:
        self._check(version, namespace, DASHBOARD_GROUP, DASHBOARD_VERSIONS)
        em = self.emulator
        if identity.role == "Viewer":
            raise _forbidden("dashboards", DASHBOARD_GROUP, "create" if url_name is None else "update")
        if len(raw) > em.max_dashboard_bytes:
            raise _status(413, "RequestEntityTooLarge", "Dashboard is too large")
        group_version = f"{DASHBOARD_GROUP}/{version}"
        obj, metadata, spec = self._body(raw, group_version, "dashboards", url_name)
        if version.startswith("v2"):
            raise _status(405, "MethodNotAllowed", "writing schema v2 is not emulated")
        name = url_name or _as_str(metadata.get("name"))
        if not _NAME.match(name):
            raise _status(422, "Invalid", f'dashboards.{DASHBOARD_GROUP} "{name}" is invalid: metadata.name: '
                                          "at most 40 characters of [a-zA-Z0-9-_]")
        title = _as_str(spec.get("title")).strip()
        if not title:
            raise _status(400, "BadRequest", "Dashboard spec is missing required title property")
        annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                       if isinstance(k, str) and isinstance(v, str) and k not in _SERVER_ANNOTATIONS}
        folder_uid = annotations.pop(FOLDER_ANNOTATION, "")
        message = annotations.pop(MESSAGE_ANNOTATION, "")
        labels = {k: v for k, v in (metadata.get("labels") or {}).items() if isinstance(k, str) and isinstance(v, str)}
        labels.pop("grafana.app/deprecatedInternalID", None)
        sent_rv = _as_str(metadata.get("resourceVersion"))
        data = {k: v for k, v in json_copy(spec).items() if k not in ("id", "uid", "version")}
        with em._lock:
            hooks, em._write_hooks = em._write_hooks, []
        for hook in hooks:  # outside the lock, as on the legacy route: see on_next_dashboard_write
            hook()
        with em._lock:
            if folder_uid and folder_uid not in em._folders:
                raise _status(400, "BadRequest", "folder not found")
            if name in em._folders:
                raise _status(400, "BadRequest", "Dashboard cannot be changed to a folder")
            target = em._dashboards.get(name)
            if target is not None and url_name is None:
                raise _exists("dashboards", DASHBOARD_GROUP, name)
            if target is not None and sent_rv and sent_rv != str(target.resource_version):
                raise _conflict("dashboards", DASHBOARD_GROUP, name)
            if target is not None and target.provisioned:
                raise _forbidden("dashboards", DASHBOARD_GROUP, "update a provisioned")
            if target is not None and {**target.data, "id": None, "uid": None, "version": None} == \
                    {**data, "id": None, "uid": None, "version": None} and target.folder_uid == folder_uid \
                    and target.stored_version == version:
                # Same spec: generation stays, resourceVersion moves (metadata may have changed).
                target.annotations, target.labels = annotations, labels
                target.resource_version = em._take_rv()
                return self._dashboard_object(target, version)
            dash = em._store_dashboard(target, name, title, data, folder_uid, 0, message, identity.login,
                                       stored_version=version, annotations=annotations, labels=labels)
            answer = self._dashboard_object(dash, version)
        return Answer(201, answer) if target is None else answer

    def _delete_dashboard(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        version, namespace, name = params
        self._check(version, namespace, DASHBOARD_GROUP, DASHBOARD_VERSIONS)
        em = self.emulator
        if identity.role == "Viewer":
            raise _forbidden("dashboards", DASHBOARD_GROUP, "delete")
        with em._lock:
            dash = em._dashboards.get(name)
            if dash is None:
                raise _not_found("dashboards", DASHBOARD_GROUP, name)
            if dash.provisioned:
                raise _forbidden("dashboards", DASHBOARD_GROUP, "delete a provisioned")
            em._remove_dashboard(dash)
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": DASHBOARD_GROUP, "kind": "dashboards",
                                "uid": f"{dash.id:08d}-emulated"}}

    # -- folders ------------------------------------------------------------------------------------------------

    def _list_folders(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return self._list(FOLDERS, self._folder_object, params, query)

    def _get_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return self._get(FOLDERS, self._folder_object, params)

    def _create_folder(self, identity: _Identity, params: list[str], query: Query, raw: bytes) -> Answer | dict[str, Any]:
        return self._write_folder(identity, params[0], params[1], None, raw)

    def _put_folder(self, identity: _Identity, params: list[str], query: Query, raw: bytes) -> Answer | dict[str, Any]:
        return self._write_folder(identity, params[0], params[1], params[2], raw)

    def _write_folder(self, identity: _Identity, version: str, namespace: str, url_name: str | None,
                      raw: bytes) -> Answer | dict[str, Any]:
        self._check(version, namespace, FOLDER_GROUP, FOLDER_VERSIONS)
        em = self.emulator
        if identity.role == "Viewer":
            raise _forbidden("folders", FOLDER_GROUP, "create" if url_name is None else "update")
        obj, metadata, spec = self._body(raw, f"{FOLDER_GROUP}/{version}", "folders", url_name)
        name = url_name or _as_str(metadata.get("name"))
        if not _NAME.match(name):
            raise _status(422, "Invalid", f'folders.{FOLDER_GROUP} "{name}" is invalid: metadata.name')
        title = _as_str(spec.get("title")).strip()
        if not title:
            raise _status(400, "BadRequest", "folder title cannot be empty")
        parent = _as_str((metadata.get("annotations") or {}).get(FOLDER_ANNOTATION))
        sent_rv = _as_str(metadata.get("resourceVersion"))
        with em._lock:
            if parent and parent not in em._folders:
                raise _not_found("folders", FOLDER_GROUP, parent)
            existing = em._folders.get(name)
            if existing is not None and url_name is None:
                raise _exists("folders", FOLDER_GROUP, name)
            if name in em._dashboards:
                raise _exists("folders", FOLDER_GROUP, name)
            if existing is not None and sent_rv and sent_rv != str(existing.resource_version):
                raise _conflict("folders", FOLDER_GROUP, name)
            if parent:
                cursor, seen = parent, set()
                while cursor:
                    if cursor == name or cursor in seen:
                        raise _status(400, "BadRequest", "Circular reference detected")
                    seen.add(cursor)
                    cursor = em._folders[cursor].parent_uid if cursor in em._folders else ""
                if em.folder_depth(parent) >= MAX_FOLDER_DEPTH:
                    raise _status(400, "BadRequest", "folder max depth exceeded")
            now = _now()
            if existing is None:
                folder = _Folder(id=em._take_id(), uid=name, title=title, parent_uid=parent, version=1, created=now,
                                 updated=now, created_by=identity.login, updated_by=identity.login,
                                 description=_as_str(spec.get("description")), resource_version=em._take_rv())
                em._folders[name] = folder
                return Answer(201, self._folder_object(folder, version))
            if (existing.title, existing.parent_uid) != (title, parent):
                existing.version += 1
            existing.title, existing.parent_uid = title, parent
            existing.description = _as_str(spec.get("description"))
            existing.updated, existing.updated_by = now, identity.login
            existing.resource_version = em._take_rv()
            return self._folder_object(existing, version)

    def _delete_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        version, namespace, name = params
        self._check(version, namespace, FOLDER_GROUP, FOLDER_VERSIONS)
        em = self.emulator
        if identity.role == "Viewer":
            raise _forbidden("folders", FOLDER_GROUP, "delete")
        with em._lock:
            folder = em._folders.get(name)
            if folder is None:
                raise _not_found("folders", FOLDER_GROUP, name)
            answer = self._folder_object(folder, version)
            em._remove_folder_tree(name)  # nested folders and the dashboards inside go with it
            return answer


__all__ = ["ResourceRoutes", "DASHBOARD_GROUP", "FOLDER_GROUP"]
