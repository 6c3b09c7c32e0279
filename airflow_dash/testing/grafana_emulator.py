"""An in-process emulator of the Grafana 11 and Grafana 13 HTTP APIs, for tests and benchmarks.

It is meant to be *faithful*, not convenient: status codes, JSON body shapes and the
version/overwrite rules follow Grafana 11's legacy SQL store as documented in
``shared/reference/grafana/README.md`` and ``dashboard-errors.json``, so that the same
client tests can run against a real Grafana 11 (``GRAFANA_URL``) unchanged.

Where Grafana 11 and Grafana 13 differ, ``flavor="grafana13"`` (alias ``"newest"``) switches the legacy
routes as below, and mounts the resource APIs ``dashboard.grafana.app`` / ``folder.grafana.app``
(``airflow_dash.testing.grafana_resources``). Facts and sources: ``docs/grafana-facts.md``.

===========================  ==========================================  ==============================
situation                    ``grafana11`` (default)                      ``grafana13``
===========================  ==========================================  ==============================
stale/missing version        412 ``version-mismatch``                     409 "Dashboard already exists.
                                                                          Use overwrite flag to update."
same title, same folder      412 ``name-exists``                          allowed
missing dashboard title      400 ``empty-name``                           400 "Dashboard spec is missing
                                                                          required title property"
save response                id, uid, url, status, version, slug          ... plus ``folderUid``
same folder title            409 "a folder with the same name ..."        allowed
dashboard stored as v2       (no v2)                                      legacy GET 406, "use /apis/..."
JSON over max_dashboard_     accepted                                     413 "Dashboard is too large"
bytes
===========================  ==========================================  ==============================

Both flavors: ``/api/search?limit=`` above 5000 gives 422; a bad bearer token 401 ``api-key.invalid``;
``secureJsonFields`` lists only secrets that are set and non-empty; folders nest at most 4 deep.

Other modules add routes with :meth:`GrafanaEmulator.mount` (an object with ``routes(emulator)``
returning ``(method, regex, handler, needs_auth)`` rows); a handler returns a JSON body, or
:class:`Answer` for another status than 200.

Choices made where the reference is silent or marked [unverified]. These are best guesses
about Grafana 11, not verified against a live server; the contract tests in
``tests/test_grafana_emulator.py`` (``target`` fixture) check the documented ones for real:

* A wrong method on a known route gives 405 ``{"message": "Method Not Allowed"}``.
* Basic auth with an ``X-Grafana-Org-Id`` other than 1 gives 401 ``Unauthorized``; a token
  with another org id gives 401 "API key does not belong to the requested organization".
* A Viewer's save gives 403 "Access denied to save dashboard" (reference). Other denied
  writes use Grafana's RBAC body ``{"title": "Access denied", "message": "You'll need
  additional permissions ...", "accessErrorId": ...}``. Data source writes need Admin;
  every role may read.
* Search hits carry ``slug: ""`` (Grafana 9-11 search does not fill it; use ``uri``/``url``),
  folders sort before dashboards, then case-insensitive title; tags are sorted; ``limit`` and
  ``page`` cut the sorted list.
* The versions list is wrapped: ``{"continueToken": "", "versions": [...]}``, newest first;
  ``limit`` defaults to 1000 and ``start`` is an offset.
* The same-title check compares titles exactly (SQLite ``=``) and only among dashboards
  (older Grafana's 400 "name-match" for a dashboard titled like a sibling folder is not
  emulated). A folder with a sibling's title gives 409 in the grafana11 flavor.
* Folder errors: 404 ``{"status": "not-found", "message": "folder not found"}``, 409 on a
  taken uid, 412 ``version-mismatch`` with "the folder has been changed by someone else".
* Data source PUT: a ``version`` lower than the stored one gives 409; the new version is
  ``max(sent, stored) + 1``; secrets not resent are kept. ``readOnly`` ones give 403.
* GET /api/dashboards/uid/<folder uid> gives 404 here (Grafana may show the folder).
* Slugs are ASCII: lower case words joined by ``-``.
* Fault injection happens before authentication, like a proxy/load balancer in front
  (``airflow_dash.testing.emulator_http``: the HTTP server, the fault plan, the request log).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from airflow_dash.testing.emulator_http import (
    EmulatorHandler, EmulatorServer, FaultPlan, RecordedRequest, json_copy,
)

if TYPE_CHECKING:
    from airflow_dash.testing.grafana_alerting import AlertRuleStore

__all__ = ["GrafanaEmulator", "FaultPlan", "RecordedRequest", "FLAVORS", "Answer"]

FLAVORS = ("grafana11", "grafana13", "newest")  # "newest" = "grafana13" (kept for older tests)
_DEFAULT_VERSIONS = {"grafana11": "11.3.0", "grafana13": "13.2.0"}
MAX_FOLDER_DEPTH = 4  # MaxNestedFolderDepth
MAX_DASHBOARD_BYTES = 10 * 1024 * 1024  # Grafana 13's limit is not documented: configurable, see docs/grafana-facts.md
ROLES = ("Admin", "Editor", "Viewer")

_UID_CHARS = re.compile(r"^[a-zA-Z0-9\-_]*$")
_MAX_UID_LEN = 40
_MAX_TITLE_LEN = 5000
_MAX_MESSAGE_LEN = 500
_MIN_REFRESH_SECONDS = 5.0  # Grafana's default min_refresh_interval
_SEARCH_DEFAULT_LIMIT = 1000
_SEARCH_MAX_LIMIT = 5000
_ORG = {"id": 1, "name": "Main Org.",
        "address": {"address1": "", "address2": "", "city": "", "zipCode": "", "state": "", "country": ""}}
_DS_SECRET_TOP_LEVEL = ("password", "basicAuthPassword")  # legacy fields, moved into secureJsonData
_DS_LOGOS = {
    "prometheus": "public/app/plugins/datasource/prometheus/img/prometheus_logo.svg",
    "influxdb": "public/app/plugins/datasource/influxdb/img/influxdb_logo.svg",
}


# --------------------------------------------------------------------------- public value types


class Answer(NamedTuple):
    """A handler's answer with a status other than 200 (e.g. 201 Created)."""

    status: int
    body: Any


Query = dict[str, list[str]]  # the request's query string, as parse_qs reads it
# A route's handler: (identity, path parameters, query, body) -> the JSON body (status 200) or an Answer. The
# identity is an `_Identity`, or None on routes that need no authentication, so signatures differ by route.
Handler = Callable[..., Any]
RouteSpec = tuple[str, str, Handler, bool]  # method, path regex, handler, needs authentication
Route = tuple[str, "re.Pattern[str]", Handler, bool]


class RouteProvider(Protocol):
    """What `GrafanaEmulator.mount` takes (e.g. `grafana_resources.ResourceRoutes`)."""

    def routes(self, emulator: GrafanaEmulator) -> list[RouteSpec]: ...


# --------------------------------------------------------------------------- internal state


@dataclass(frozen=True)
class _Identity:
    login: str
    role: str
    user_id: int
    is_service_account: bool


@dataclass
class _Dashboard:
    """One stored dashboard. `data` (and a version's) is never changed in place, only replaced by a new
    model: a version entry and an HTTP answer share it instead of copying it (they were most of the
    emulator's time per save). What leaves the emulator to a caller in this process is a copy."""

    id: int
    uid: str
    title: str
    data: dict[str, Any]
    folder_uid: str  # "" = General (root)
    version: int
    created: str
    updated: str
    created_by: str
    updated_by: str
    provisioned: bool = False
    plugin_id: str = ""
    # Grafana 13 unified storage: the API version it was written at, its resourceVersion, the
    # metadata annotations and labels a resource write set, and the schema v2 spec of a v2 save.
    stored_version: str = "v0alpha1"
    resource_version: int = 0
    annotations: dict[str, Any] = field(default_factory=dict[str, Any])
    labels: dict[str, Any] = field(default_factory=dict[str, Any])
    v2_spec: dict[str, Any] | None = None


@dataclass
class _Folder:
    id: int
    uid: str
    title: str
    parent_uid: str  # "" = root
    version: int
    created: str
    updated: str
    created_by: str
    updated_by: str
    description: str = ""
    resource_version: int = 0


@dataclass(frozen=True)
class _Version:
    id: int
    dashboard_id: int
    parent_version: int
    restored_from: int
    version: int
    created: str
    created_by: str
    message: str
    data: dict[str, Any]


@dataclass
class _Datasource:
    id: int
    uid: str
    name: str
    type: str
    fields: dict[str, Any]  # access, url, user, database, basicAuth, basicAuthUser, withCredentials, isDefault, jsonData
    secure: dict[str, Any] = field(default_factory=dict[str, Any])
    version: int = 1
    read_only: bool = False


class _ApiError(Exception):
    """Raised by handlers; rendered as ``status`` with ``body``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, Any] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status, self.body, self.headers = status, body, headers or {}


def _err(status: int, message: str, status_text: str | None = None) -> _ApiError:
    # Grafana's DashboardErr rendering: with a status string -> {"status", "message"}.
    body = {"status": status_text, "message": message} if status_text else {"message": message}
    return _ApiError(status, body)


def _rbac_denied(permission: str) -> _ApiError:
    return _ApiError(403, {
        "title": "Access denied",
        "message": f"You'll need additional permissions to perform this action. Permissions needed: {permission}",
        "accessErrorId": "ACE" + secrets.token_hex(5),
    })


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slugify(title: str) -> str:
    """Grafana-like slug: lower case ASCII words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", title.strip().lower()).strip("-")


def _short_uid() -> str:
    # Grafana 11 generates 14 characters starting with a letter.
    alphabet = string.ascii_lowercase + string.digits
    return secrets.choice(string.ascii_lowercase) + "".join(secrets.choice(alphabet) for _ in range(13))


def _as_int(value: Any) -> int:
    """simplejson ``MustInt64(0)``: numbers become ints, anything else 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def _as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parse_duration(text: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text.strip())
    if not match:
        return None
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[match[2]]
    return float(match[1]) * unit


# --------------------------------------------------------------------------- the emulator


class GrafanaEmulator:
    """A Grafana 11 HTTP API on 127.0.0.1:<free port>, backed by in-memory state.

    Use as a context manager (``with GrafanaEmulator() as grafana: ...``) or call
    :meth:`start`/:meth:`stop`. All state is guarded by one lock so concurrent writes behave
    like Grafana's database (the version check and the write are atomic).
    """

    alerting: AlertRuleStore  # the alert-rule provisioning API's store (set by grafana_alerting.mount)

    def __init__(self, *, tokens: dict[str, str] | None = None,
                 users: dict[tuple[str, str], str] | None = None,
                 flavor: str = "grafana11", version: str | None = None,
                 max_dashboard_bytes: int = MAX_DASHBOARD_BYTES,
                 tls: tuple[str, str] | None = None) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, got {flavor!r}")
        flavor = "grafana13" if flavor == "newest" else flavor
        version = version or _DEFAULT_VERSIONS[flavor]
        self.max_dashboard_bytes = max_dashboard_bytes
        self.tls = tls  # (certificate file, key file): serve https
        self.tokens = dict(tokens if tokens is not None else {"glsa_test_admin": "Admin"})
        self.users = dict(users if users is not None else {("admin", "admin"): "Admin"})
        for role in [*self.tokens.values(), *self.users.values()]:
            if role not in ROLES:
                raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        self.flavor = flavor
        self.version = version
        self.admin_token: str | None = next((t for t, r in self.tokens.items() if r == "Admin"), None)
        self.faults = FaultPlan()
        self.url = ""

        # Identities: users get ids 1.., service accounts follow (they are users in Grafana).
        self._identities_by_login: dict[tuple[str, str], _Identity] = {}
        for n, ((login, password), role) in enumerate(self.users.items(), start=1):
            self._identities_by_login[(login, password)] = _Identity(login, role, n, False)
        self._identities_by_token: dict[str, _Identity] = {}
        for n, (token, role) in enumerate(self.tokens.items(), start=len(self.users) + 1):
            self._identities_by_token[token] = _Identity(f"sa-1-{role.lower()}-{n}", role, n, True)

        self._lock = threading.RLock()
        self._next_id = 1  # folders and dashboards share Grafana's dashboard table, so one sequence
        self._next_version_id = 1
        self._next_ds_id = 1
        self._dashboards: dict[str, _Dashboard] = {}
        self._folders: dict[str, _Folder] = {}
        self._versions: dict[int, list[_Version]] = {}  # dashboard id -> oldest first
        self._datasources: dict[str, _Datasource] = {}
        self._write_hooks: list[Callable[[], None]] = []
        self._next_rv = 1
        self._mounted: list[Route] = []

        self._requests_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []

        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._open_sockets: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted so far (a client's keep-alive reuse shows here)
        self._routes = self._build_routes()
        if self.modern:
            from airflow_dash.testing.grafana_resources import ResourceRoutes

            self.mount(ResourceRoutes())

    @property
    def modern(self) -> bool:
        """Grafana 13 behaviour (see the module docstring)."""
        return self.flavor == "grafana13"

    def mount(self, provider: RouteProvider) -> None:
        """Serve the routes of another module (``provider.routes(self)``), e.g. the resource APIs."""
        self._mounted += [(m, re.compile(p), h, a) for m, p, h, a in provider.routes(self)]

    def _take_rv(self) -> int:
        """The next resourceVersion (one counter for every resource, like etcd/unified storage)."""
        self._next_rv += 1
        return self._next_rv - 1

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on a free loopback port in a background thread; return the base URL."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        server = EmulatorServer(("127.0.0.1", 0), EmulatorHandler)
        server.emulator = self
        scheme = "http"
        if self.tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="grafana-emulator", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        self.url = f"{scheme}://{host.decode() if isinstance(host, bytes) else host}:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving, close kept-alive connections and wake up delayed responses."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._requests_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:  # idle keep-alive connections would otherwise linger
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "GrafanaEmulator":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request seen so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    def _record(self, entry: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(entry)

    # ------------------------------------------------------------------ inspection and seeding

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        """The stored model (a copy) with server-set id/uid/version, or None."""
        with self._lock:
            dash = self._dashboards.get(uid)
            return self._model_of(dash) if dash else None

    def folder(self, uid: str) -> dict[str, Any] | None:
        """The folder as GET /api/folders/:uid would return it, or None."""
        with self._lock:
            folder = self._folders.get(uid)
            return self._folder_dto(folder, "Admin") if folder else None

    def datasource(self, uid: str) -> dict[str, Any] | None:
        """The stored data source *including* its secrets (``secureJsonData``), or None."""
        with self._lock:
            ds = self._datasources.get(uid)
            if ds is None:
                return None
            return {**self._ds_dto(ds), "secureJsonData": dict(ds.secure)}

    def dashboard_versions(self, uid: str) -> list[dict[str, Any]]:
        """Version entries of a dashboard, oldest first, each with ``data``."""
        with self._lock:
            dash = self._dashboards.get(uid)
            if dash is None:
                return []
            return [self._version_dto(v, dash, with_data=True) for v in self._versions.get(dash.id, [])]

    def edit_dashboard_as_user(self, uid: str, mutate: Callable[[dict[str, Any]], None] = lambda model: None,
                               message: str = "edited in UI", *, user: str = "admin", as_v2: bool = False) -> int:
        """Apply ``mutate`` to the stored model like a save from the UI; return the new version.

        ``as_v2`` (grafana13 only): the UI saved it with dynamic dashboards, so it is stored as schema
        v2 (``v2beta1``) with a tabs layout that the classic model cannot express; v1 reads get a lossy
        conversion (the mutated classic model) and the legacy GET answers 406."""
        if as_v2 and not self.modern:
            raise ValueError("schema v2 exists only in the grafana13 flavor")
        with self._lock:
            dash = self._dashboards.get(uid)
            if dash is None:
                raise KeyError(f"no dashboard with uid {uid!r}")
            data = json_copy(dash.data)
            mutate(data)
            title = _as_str(data.get("title")).strip() or dash.title
            parent = dash.version
            dash.version += 1
            dash.title = title
            dash.data = {**data, "id": dash.id, "uid": dash.uid, "title": title, "version": dash.version}
            dash.updated, dash.updated_by = _now(), user
            dash.resource_version = self._take_rv()
            if as_v2:
                dash.stored_version, dash.v2_spec = "v2beta1", _v2_spec_of(dash.data)
                dash.annotations = {**dash.annotations, "grafana.app/saved-from-ui": "true"}
            self._add_version(dash, parent, message, user)
            return dash.version

    def add_dashboard(self, model: dict[str, Any], folder_uid: str | None = None, *, provisioned: bool = False,
                      plugin_id: str | None = None) -> dict[str, Any]:
        """Seed a dashboard directly (no API checks); returns a save-like response."""
        with self._lock:
            if folder_uid and folder_uid not in self._folders:
                raise ValueError(f"unknown folder {folder_uid!r}")
            uid = _as_str(model.get("uid")) or _short_uid()
            if uid in self._dashboards or uid in self._folders:
                raise ValueError(f"uid {uid!r} already used")
            title = _as_str(model.get("title")).strip()
            if not title:
                raise ValueError("a dashboard needs a title")
            by = "Anonymous" if provisioned else "admin"
            now = _now()
            dash = _Dashboard(id=self._take_id(), uid=uid, title=title, data={}, folder_uid=folder_uid or "",
                              version=1, created=now, updated=now, created_by=by, updated_by=by,
                              provisioned=provisioned, plugin_id=plugin_id or "")
            dash.data = {**json_copy(model), "id": dash.id, "uid": uid, "title": title, "version": 1}
            dash.resource_version = self._take_rv()
            self._dashboards[uid] = dash
            self._add_version(dash, 0, "", by)
            return self._save_response(dash)

    def add_folder(self, uid: str, title: str, parent_uid: str | None = None) -> dict[str, Any]:
        """Seed a folder directly; returns the folder as the API shows it."""
        with self._lock:
            if parent_uid and parent_uid not in self._folders:
                raise ValueError(f"unknown parent folder {parent_uid!r}")
            if uid in self._folders or uid in self._dashboards:
                raise ValueError(f"uid {uid!r} already used")
            now = _now()
            folder = _Folder(id=self._take_id(), uid=uid, title=title, parent_uid=parent_uid or "", version=1,
                             created=now, updated=now, created_by="admin", updated_by="admin",
                             resource_version=self._take_rv())
            self._folders[uid] = folder
            return self._folder_dto(folder, "Admin")

    def add_datasource(self, payload: dict[str, Any], *, read_only: bool = False) -> dict[str, Any]:
        """Seed a data source (``read_only=True`` acts like a provisioned one)."""
        with self._lock:
            try:
                ds = self._create_datasource(payload)
            except _ApiError as error:
                raise ValueError(error.body["message"]) from None
            ds.read_only = read_only
            return self._ds_dto(ds)

    def on_next_dashboard_write(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, just before the next POST /api/dashboards/db is applied.

        It runs in the request's thread without the state lock held, so it may call the
        helpers above (or even the HTTP API) to make a concurrent change land between a
        client's read and its write.
        """
        with self._lock:
            self._write_hooks.append(hook)

    # ------------------------------------------------------------------ request entry point

    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | list[Any], dict[str, Any]]:
        """Route and run one request; returns (status, JSON body, extra headers)."""
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        path = split.path
        allowed_methods = []
        for route_method, pattern, handler, needs_auth in [*self._routes, *self._mounted]:
            match = pattern.fullmatch(path)
            if not match:
                continue
            if route_method != method:
                allowed_methods.append(route_method)
                continue
            try:
                identity = self._authenticate(headers) if needs_auth else None
                params = [unquote(g) for g in match.groups()]
                result = handler(identity, params, query, body)
                if isinstance(result, Answer):
                    return result.status, result.body, {}
                return 200, result, {}
            except _ApiError as error:
                return error.status, error.body, error.headers
        if allowed_methods:
            return 405, {"message": "Method Not Allowed"}, {"Allow": ", ".join(sorted(set(allowed_methods)))}
        return 404, {"message": "Not found"}, {}

    def _build_routes(self) -> list[Route]:
        seg = r"([^/]+)"
        table = [
            ("GET", r"/api/health", self._get_health, False),
            ("GET", r"/api/org", self._get_org, True),
            ("GET", r"/api/user", self._get_user, True),
            ("POST", r"/api/dashboards/db", self._post_dashboard, True),
            ("GET", rf"/api/dashboards/uid/{seg}", self._get_dashboard, True),
            ("DELETE", rf"/api/dashboards/uid/{seg}", self._delete_dashboard, True),
            ("GET", rf"/api/dashboards/uid/{seg}/versions", self._get_versions, True),
            ("GET", rf"/api/dashboards/uid/{seg}/versions/{seg}", self._get_version, True),
            ("POST", rf"/api/dashboards/uid/{seg}/restore", self._restore_version, True),
            ("GET", r"/api/search", self._search, True),
            ("GET", r"/api/folders", self._list_folders, True),
            ("POST", r"/api/folders", self._post_folder, True),
            ("GET", rf"/api/folders/{seg}", self._get_folder, True),
            ("PUT", rf"/api/folders/{seg}", self._put_folder, True),
            ("DELETE", rf"/api/folders/{seg}", self._delete_folder, True),
            ("GET", r"/api/datasources", self._list_datasources, True),
            ("POST", r"/api/datasources", self._post_datasource, True),
            ("GET", rf"/api/datasources/uid/{seg}", self._get_datasource_by_uid, True),
            ("PUT", rf"/api/datasources/uid/{seg}", self._put_datasource, True),
            ("DELETE", rf"/api/datasources/uid/{seg}", self._delete_datasource, True),
            ("GET", rf"/api/datasources/name/{seg}", self._get_datasource_by_name, True),
        ]
        from airflow_dash.testing.grafana_alerting import mount as mount_alerting  # alert-rule provisioning API
        table += mount_alerting(self)
        return [(m, re.compile(p), h, a) for m, p, h, a in table]

    def _authenticate(self, headers: Any) -> _Identity:
        auth = headers.get("Authorization") or ""
        org_header = (headers.get("X-Grafana-Org-Id") or "").strip()
        org_id = int(org_header) if org_header.isdigit() else 0  # Grafana ignores unparsable values
        scheme, _, credentials = auth.partition(" ")
        identity = None
        if scheme.lower() == "bearer":
            identity = self._identities_by_token.get(credentials.strip())
            if identity and org_id not in (0, 1):
                raise _ApiError(401, {"message": "API key does not belong to the requested organization",
                                      "messageId": "api-key.organization-mismatch", "statusCode": 401,
                                      "traceID": ""})
        elif scheme.lower() == "basic":
            try:
                login, _, password = base64.b64decode(credentials.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                login, password = "", ""
            identity = self._identities_by_login.get((login, password))
            if identity and org_id not in (0, 1):
                identity = None  # not a member of that org (only org 1 exists)
        if identity is None and scheme.lower() == "bearer":
            raise _ApiError(401, {"message": "Invalid API key", "messageId": "api-key.invalid",
                                  "statusCode": 401, "traceID": ""})
        if identity is None:
            raise _ApiError(401, {"message": "Unauthorized", "messageId": "auth.unauthorized",
                                  "statusCode": 401, "traceID": ""})
        return identity

    # ------------------------------------------------------------------ misc endpoints

    def _get_health(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return {"commit": "0000000000", "database": "ok", "version": self.version}

    def _get_org(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        return json_copy(_ORG)

    def _get_user(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        is_sa = identity.is_service_account
        return {
            "id": identity.user_id, "uid": f"u{identity.user_id:013d}",
            "email": "" if is_sa else f"{identity.login}@localhost", "name": identity.login, "login": identity.login,
            "theme": "", "orgId": 1, "isGrafanaAdmin": identity.login == "admin" and not is_sa,
            "isDisabled": False, "isExternal": False, "isExternallySynced": False,
            "isGrafanaAdminExternallySynced": False, "authLabels": [],
            "updatedAt": "2024-01-01T00:00:00Z", "createdAt": "2024-01-01T00:00:00Z",
            "avatarUrl": "/avatar/00000000000000000000000000000000",
        }

    # ------------------------------------------------------------------ dashboards

    @staticmethod
    def _json_body(body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _err(400, "bad request data") from None

    def _post_dashboard(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        # RBAC middleware runs before the body is bound.
        if identity.role == "Viewer":
            raise _err(403, "Access denied to save dashboard")
        if self.modern and len(body) > self.max_dashboard_bytes:
            raise _err(413, "Dashboard is too large")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict) or not isinstance(cmd.get("dashboard", {}), (dict, type(None))):
            raise _err(400, "bad request data")
        with self._lock:
            hooks, self._write_hooks = self._write_hooks, []
        for hook in hooks:  # outside the lock: a hook may call back into the emulator
            hook()
        with self._lock:
            dash = self._save_dashboard(cmd, identity.login)
            return self._save_response(dash)

    def _save_dashboard(self, cmd: dict[str, Any], user: str, *, restored_from: int = 0) -> _Dashboard:
        """Grafana 11 PostDashboard + BuildSaveDashboardCommand + legacy store, under the lock. `cmd` is the
        emulator's own (a request body just parsed, or a copy): its dashboard is stored, not copied."""
        data = cmd.get("dashboard") or {}
        overwrite = cmd.get("overwrite") is True
        message = _as_str(cmd.get("message"))
        if data.get("isFolder") is True:
            raise _err(400, "Use folders endpoint for saving folders.")
        folder_uid = self._resolve_folder(cmd)

        title = _as_str(data.get("title")).strip()
        uid = _as_str(data.get("uid")).strip()
        dash_id = _as_int(data.get("id"))
        posted_version = _as_int(data.get("version"))
        if not title:
            if self.modern:
                raise _err(400, "Dashboard spec is missing required title property")
            raise _err(400, "Dashboard title cannot be empty", "empty-name")
        if len(title) > _MAX_TITLE_LEN:
            raise _err(400, "Dashboard title cannot contain more than 5 000 characters", "title-too-long")
        if not _UID_CHARS.match(uid):
            raise _err(400, "uid contains illegal characters")
        if len(uid) > _MAX_UID_LEN:
            raise _err(400, "uid too long, max 40 characters")
        if len(message) > _MAX_MESSAGE_LEN:
            raise _err(400, "message too long, max 500 characters")
        refresh = _parse_duration(_as_str(data.get("refresh")))
        if refresh is not None and refresh < _MIN_REFRESH_SECONDS:
            raise _err(400, "Dashboard refresh interval is too low")

        # getExistingDashboardByIDOrUIDForUpdate
        target: _Dashboard | None = None
        by_id = None
        if dash_id > 0:
            by_id = next((d for d in self._dashboards.values() if d.id == dash_id), None)
            if by_id is None:
                if any(f.id == dash_id for f in self._folders.values()):
                    raise _err(400, "Dashboard cannot be changed to a folder")
                raise _err(404, "Dashboard not found", "not-found")
            uid = uid or by_id.uid
        by_uid = self._dashboards.get(uid) if uid else None
        if uid and by_uid is None and uid in self._folders:
            raise _err(400, "Dashboard cannot be changed to a folder")
        if by_id and by_uid and by_id.id != by_uid.id:
            raise _err(400, "A dashboard with the same uid already exists")
        target = by_id or by_uid
        if target is not None:
            if posted_version != target.version and not overwrite:
                raise self._version_mismatch()
            if target.plugin_id and not overwrite:
                raise _err(412, f"The dashboard belongs to plugin {target.plugin_id}.", "plugin-dashboard")

        # getExistingDashboardByTitleAndFolder (Grafana <= 11 only)
        if self.flavor == "grafana11":
            same_name = next((d for d in self._dashboards.values()
                              if d.title == title and d.folder_uid == folder_uid
                              and (target is None or d.id != target.id)), None)
            if same_name is not None:
                if not overwrite:
                    raise _err(412, "A dashboard with the same name in the folder already exists", "name-exists")
                target, uid = same_name, same_name.uid

        if target is not None and target.provisioned:
            raise _err(400, "Cannot save provisioned dashboard")
        return self._store_dashboard(target, uid, title, data, folder_uid, posted_version, message, user,
                                     restored_from=restored_from)

    def _store_dashboard(self, target: _Dashboard | None, uid: str, title: str, data: dict[str, Any], folder_uid: str,
                         posted_version: int, message: str, user: str, *, restored_from: int = 0,
                         stored_version: str = "v0alpha1", annotations: dict[str, Any] | None = None,
                         labels: dict[str, Any] | None = None) -> _Dashboard:
        """Create or update under the lock, checks done. Grafana 13 writes the legacy route as v0alpha1
        and resets annotations/labels to what the request carried."""
        now = _now()
        if target is None:
            dash = _Dashboard(id=self._take_id(), uid=uid or _short_uid(), title=title, data={},
                              folder_uid=folder_uid, version=1, created=now, updated=now,
                              created_by=user, updated_by=user)
            parent_version = posted_version
        else:
            dash = target
            parent_version = dash.version
            if uid != dash.uid:  # an id-addressed save may rename the uid
                del self._dashboards[dash.uid]
                dash.uid = uid
            dash.version += 1
            dash.title, dash.folder_uid = title, folder_uid
            dash.updated, dash.updated_by = now, user
        dash.data = {**data, "id": dash.id, "uid": dash.uid, "title": title, "version": dash.version}
        dash.resource_version = self._take_rv()
        dash.stored_version, dash.v2_spec = stored_version, None
        dash.annotations, dash.labels = dict(annotations or {}), dict(labels or {})
        self._dashboards[dash.uid] = dash
        self._add_version(dash, parent_version, message, user, restored_from=restored_from)
        return dash

    def _resolve_folder(self, cmd: dict[str, Any]) -> str:
        folder_uid = _as_str(cmd.get("folderUid")).strip()
        folder_id = _as_int(cmd.get("folderId"))
        if folder_uid:
            if folder_uid not in self._folders:
                raise _err(400, "folder not found")
            return folder_uid
        if folder_id > 0:
            found = next((f for f in self._folders.values() if f.id == folder_id), None)
            if found is None:
                raise _err(400, "folder not found")
            return found.uid
        return ""  # no folder given: General, even when updating a dashboard that lived elsewhere

    def _version_mismatch(self) -> _ApiError:
        if self.modern:
            return _err(409, "Dashboard already exists. Use overwrite flag to update.")
        return _err(412, "The dashboard has been changed by someone else", "version-mismatch")

    def _save_response(self, dash: _Dashboard) -> dict[str, Any]:
        slug = _slugify(dash.title)
        response = {"id": dash.id, "slug": slug, "status": "success", "uid": dash.uid,
                    "url": f"/d/{dash.uid}/{slug}", "version": dash.version}
        if self.modern:
            response["folderUid"] = dash.folder_uid
        return response

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _add_version(self, dash: _Dashboard, parent: int, message: str, user: str, *,
                     restored_from: int = 0) -> None:
        entry = _Version(id=self._next_version_id, dashboard_id=dash.id, parent_version=parent,
                         restored_from=restored_from, version=dash.version, created=dash.updated,
                         created_by=user, message=message, data=dash.data)  # shared: see _Dashboard
        self._next_version_id += 1
        self._versions.setdefault(dash.id, []).append(entry)

    @staticmethod
    def _model_of(dash: _Dashboard, *, shared: bool = False) -> dict[str, Any]:
        """The stored model with its server fields: a copy, or (`shared`, for an answer that is only
        encoded) a new top level over the stored values."""
        return {**(dash.data if shared else json_copy(dash.data)), "id": dash.id, "uid": dash.uid,
                "version": dash.version}

    def _get_dashboard(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        with self._lock:
            dash = self._dashboards.get(params[0])
            if dash is None:
                raise _err(404, "Dashboard not found")
            if dash.stored_version.startswith("v2"):
                raise _err(406, "dashboard api version not supported, use /apis/dashboard.grafana.app/"
                                f"{dash.stored_version}/namespaces/default/dashboards/{dash.uid} instead")
            can_edit = identity.role in ("Admin", "Editor")
            slug = _slugify(dash.title)
            folder = self._folders.get(dash.folder_uid)
            meta = {
                "type": "dash-db", "canSave": can_edit, "canEdit": can_edit, "canAdmin": identity.role == "Admin",
                "canStar": True, "canDelete": can_edit, "slug": slug, "url": f"/d/{dash.uid}/{slug}",
                "expires": "0001-01-01T00:00:00Z", "created": dash.created, "updated": dash.updated,
                "updatedBy": dash.updated_by, "createdBy": dash.created_by, "version": dash.version,
                "hasAcl": False, "isFolder": False, "folderId": folder.id if folder else 0,
                "folderUid": folder.uid if folder else "", "folderTitle": folder.title if folder else "General",
                "folderUrl": self._folder_url(folder) if folder else "", "provisioned": dash.provisioned,
                "provisionedExternalId": f"{dash.uid}.json" if dash.provisioned else "",
                "annotationsPermissions": {
                    "dashboard": {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit},
                    "organization": {"canAdd": can_edit, "canEdit": can_edit, "canDelete": can_edit},
                },
                "publicDashboardEnabled": False, "isStarred": False,
            }
            return {"dashboard": self._model_of(dash, shared=True), "meta": meta}

    def _delete_dashboard(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role == "Viewer":
            raise _rbac_denied("dashboards:delete")
        with self._lock:
            uid = params[0]
            if uid in self._folders:
                raise _err(400, "Use folders endpoint for deleting folders.")
            dash = self._dashboards.get(uid)
            if dash is None:
                raise _err(404, "Dashboard not found")
            if dash.provisioned:
                raise _err(400, "provisioned dashboard cannot be deleted")
            self._remove_dashboard(dash)
            return {"title": dash.title, "message": f"Dashboard {dash.title} deleted", "uid": dash.uid}

    def _remove_dashboard(self, dash: _Dashboard) -> None:
        del self._dashboards[dash.uid]
        self._versions.pop(dash.id, None)

    def _remove_folder_tree(self, uid: str) -> None:
        """Delete a folder with its nested folders and every dashboard in them (both APIs; lock held)."""
        doomed, grew = {uid}, True
        while grew:
            children = {f.uid for f in self._folders.values() if f.parent_uid in doomed}
            grew = not children <= doomed
            doomed |= children
        for dash in [d for d in self._dashboards.values() if d.folder_uid in doomed]:
            self._remove_dashboard(dash)
        for doomed_uid in doomed:
            del self._folders[doomed_uid]

    # ------------------------------------------------------------------ versions

    def _version_dto(self, version: _Version, dash: _Dashboard, *, with_data: bool) -> dict[str, Any]:
        dto = {"id": version.id, "dashboardId": version.dashboard_id, "uid": dash.uid,
               "parentVersion": version.parent_version, "restoredFrom": version.restored_from,
               "version": version.version, "created": version.created, "createdBy": version.created_by,
               "message": version.message}
        if with_data:
            dto["data"] = json_copy(version.data)
        return dto

    def _get_versions(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        limit = _query_int(query, "limit", 0) or 1000
        start = max(_query_int(query, "start", 0), 0)
        with self._lock:
            dash = self._dashboards.get(params[0])
            if dash is None:
                raise _err(404, "Dashboard not found")
            newest_first = list(reversed(self._versions.get(dash.id, [])))
            page = newest_first[start:start + limit]
            return {"continueToken": "", "versions": [self._version_dto(v, dash, with_data=False) for v in page]}

    def _get_version(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        uid, raw_version = params
        with self._lock:
            dash = self._dashboards.get(uid)
            if dash is None:
                raise _err(404, "Dashboard not found")
            if not raw_version.isdigit():
                raise _err(400, "version is invalid")
            found = next((v for v in self._versions.get(dash.id, []) if v.version == int(raw_version)), None)
            if found is None:
                raise _err(404, "Dashboard version not found")
            return self._version_dto(found, dash, with_data=True)

    def _restore_version(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role == "Viewer":
            raise _err(403, "Access denied to save dashboard")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict):
            raise _err(400, "bad request data")
        wanted = _as_int(cmd.get("version"))
        with self._lock:
            dash = self._dashboards.get(params[0])
            if dash is None:
                raise _err(404, "Dashboard not found")
            found = next((v for v in self._versions.get(dash.id, []) if v.version == wanted), None)
            if found is None:
                raise _err(404, "Dashboard version not found")
            restored = {**json_copy(found.data), "id": dash.id, "uid": dash.uid, "version": dash.version}
            saved = self._save_dashboard({"dashboard": restored, "folderUid": dash.folder_uid, "overwrite": True,
                                          "message": f"Restored from version {wanted}"},
                                         identity.login, restored_from=wanted)
            response = self._save_response(saved)
            response.pop("folderUid", None)
            return response

    # ------------------------------------------------------------------ search

    def _search(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> list[dict[str, Any]]:
        text = (query.get("query") or [""])[0].lower()
        tags = [t for t in query.get("tag", []) if t]
        kind = (query.get("type") or [""])[0]
        folder_uids = _multi(query, "folderUIDs")
        folder_ids = {_safe_int(v) for v in _multi(query, "folderIds")}
        dashboard_uids = set(_multi(query, "dashboardUIDs"))
        dashboard_ids = {_safe_int(v) for v in _multi(query, "dashboardIds")}
        starred = (query.get("starred") or ["false"])[0].lower() == "true"
        limit = _query_int(query, "limit", 0) or _SEARCH_DEFAULT_LIMIT
        if limit > _SEARCH_MAX_LIMIT:
            raise _err(422, f"Limit is above maximum allowed ({_SEARCH_MAX_LIMIT}), use page parameter to "
                            "access hits beyond limit")
        page = max(_query_int(query, "page", 1), 1)
        with self._lock:
            hits: list[dict[str, Any]] = []
            if starred:
                return []  # nothing is ever starred here
            want_folders = kind in ("", "dash-folder") and not tags and not dashboard_uids and not dashboard_ids
            want_dashboards = kind in ("", "dash-db")
            if want_folders:
                for folder in self._folders.values():
                    if self._in_folders(folder.parent_uid, folder_uids, folder_ids) and text in folder.title.lower():
                        hits.append(self._hit(folder.id, folder.uid, folder.title, "dash-folder", [],
                                              self._folder_url(folder), folder.parent_uid))
            if want_dashboards:
                for dash in self._dashboards.values():
                    dash_tags = _tags_of(dash.data)
                    if not self._in_folders(dash.folder_uid, folder_uids, folder_ids):
                        continue
                    if text not in dash.title.lower() or not all(t in dash_tags for t in tags):
                        continue
                    if dashboard_uids and dash.uid not in dashboard_uids:
                        continue
                    if dashboard_ids and dash.id not in dashboard_ids:
                        continue
                    hits.append(self._hit(dash.id, dash.uid, dash.title, "dash-db", sorted(dash_tags),
                                          f"/d/{dash.uid}/{_slugify(dash.title)}", dash.folder_uid))
            hits.sort(key=lambda h: (h["type"] != "dash-folder", h["title"].lower(), h["id"]))
            return hits[(page - 1) * limit: page * limit]

    def _in_folders(self, parent_uid: str, folder_uids: list[str], folder_ids: set[int]) -> bool:
        if not folder_uids and not folder_ids:
            return True
        if parent_uid == "":
            return "general" in folder_uids or 0 in folder_ids
        parent = self._folders.get(parent_uid)
        return parent_uid in folder_uids or (parent is not None and parent.id in folder_ids)

    def _hit(self, item_id: int, uid: str, title: str, kind: str, tags: list[str], url: str,
             folder_uid: str) -> dict[str, Any]:
        hit = {"id": item_id, "uid": uid, "title": title, "uri": f"db/{_slugify(title)}", "url": url,
               "slug": "", "type": kind, "tags": tags, "isStarred": False, "sortMeta": 0}
        folder = self._folders.get(folder_uid)
        if folder is not None:  # folder fields are absent for root items
            hit.update(folderId=folder.id, folderUid=folder.uid, folderTitle=folder.title,
                       folderUrl=self._folder_url(folder))
        return hit

    # ------------------------------------------------------------------ folders

    @staticmethod
    def _folder_url(folder: _Folder) -> str:
        return f"/dashboards/f/{folder.uid}/{_slugify(folder.title)}"

    def _folder_dto(self, folder: _Folder, role: str) -> dict[str, Any]:
        can_edit = role in ("Admin", "Editor")
        dto = {"id": folder.id, "uid": folder.uid, "orgId": 1, "title": folder.title,
               "url": self._folder_url(folder), "hasAcl": False, "canSave": can_edit, "canEdit": can_edit,
               "canAdmin": role == "Admin", "canDelete": can_edit, "createdBy": folder.created_by,
               "created": folder.created, "updatedBy": folder.updated_by, "updated": folder.updated,
               "version": folder.version}
        if folder.parent_uid:
            dto["parentUid"] = folder.parent_uid
            parents: list[dict[str, Any]] = []
            cursor = self._folders.get(folder.parent_uid)
            while cursor is not None:
                parents.insert(0, {"id": cursor.id, "uid": cursor.uid, "orgId": 1, "title": cursor.title,
                                   "url": self._folder_url(cursor)})
                cursor = self._folders.get(cursor.parent_uid)
            dto["parents"] = parents
        return dto

    def _list_folders(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> list[dict[str, Any]]:
        parent = (query.get("parentUid") or [""])[0]
        limit = _query_int(query, "limit", 0) or 1000
        page = max(_query_int(query, "page", 1), 1)
        with self._lock:
            children = sorted((f for f in self._folders.values() if f.parent_uid == parent),
                              key=lambda f: (f.title.lower(), f.id))
            return [{"id": f.id, "uid": f.uid, "title": f.title} for f in children][(page - 1) * limit: page * limit]

    def _get_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        with self._lock:
            folder = self._folders.get(params[0])
            if folder is None:
                raise _ApiError(404, {"status": "not-found", "message": "folder not found"})
            return self._folder_dto(folder, identity.role)

    def _post_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role == "Viewer":
            raise _rbac_denied("folders:create")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict):
            raise _err(400, "bad request data")
        title = _as_str(cmd.get("title")).strip()
        uid = _as_str(cmd.get("uid")).strip()
        parent_uid = _as_str(cmd.get("parentUid")).strip()
        if not title:
            raise _err(400, "folder title cannot be empty")
        if not _UID_CHARS.match(uid) or len(uid) > _MAX_UID_LEN:
            raise _err(400, "invalid uid for folder provided")
        if title.lower() == "general" and not parent_uid:
            raise _err(400, "A folder with that name already exists")
        with self._lock:
            if parent_uid and parent_uid not in self._folders:
                raise _ApiError(404, {"status": "not-found", "message": "folder not found"})
            if parent_uid and self.folder_depth(parent_uid) >= MAX_FOLDER_DEPTH:
                raise _ApiError(400, {"messageId": "folder.maximum-depth-reached",
                                      "message": "Maximum nested folder depth reached"})
            if uid and (uid in self._folders or uid in self._dashboards):
                raise _err(409, "a folder/dashboard with the same uid already exists")
            if self.flavor == "grafana11" and any(
                    f.title == title and f.parent_uid == parent_uid for f in self._folders.values()):
                raise _err(409, "a folder with the same name already exists")
            now = _now()
            folder = _Folder(id=self._take_id(), uid=uid or _short_uid(), title=title, parent_uid=parent_uid,
                             version=1, created=now, updated=now, created_by=identity.login,
                             updated_by=identity.login, description=_as_str(cmd.get("description")),
                             resource_version=self._take_rv())
            self._folders[folder.uid] = folder
            return self._folder_dto(folder, identity.role)

    def _put_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role == "Viewer":
            raise _rbac_denied("folders:write")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict):
            raise _err(400, "bad request data")
        with self._lock:
            folder = self._folders.get(params[0])
            if folder is None:
                raise _ApiError(404, {"status": "not-found", "message": "folder not found"})
            new_title = cmd.get("title")
            if new_title is not None and not _as_str(new_title).strip():
                raise _err(400, "folder title cannot be empty")
            if _as_int(cmd.get("version")) != folder.version and cmd.get("overwrite") is not True:
                raise _ApiError(412, {"status": "version-mismatch",
                                      "message": "the folder has been changed by someone else"})
            if new_title is not None:
                title = _as_str(new_title).strip()
                if self.flavor == "grafana11" and any(f.title == title and f.parent_uid == folder.parent_uid
                                                      and f.uid != folder.uid for f in self._folders.values()):
                    raise _err(409, "a folder with the same name already exists")
                folder.title = title
            if "description" in cmd:
                folder.description = _as_str(cmd.get("description"))
            folder.version += 1
            folder.updated, folder.updated_by = _now(), identity.login
            folder.resource_version = self._take_rv()
            return self._folder_dto(folder, identity.role)

    def _delete_folder(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role == "Viewer":
            raise _rbac_denied("folders:delete")
        with self._lock:
            folder = self._folders.get(params[0])
            if folder is None:
                raise _ApiError(404, {"status": "not-found", "message": "folder not found"})
            self._remove_folder_tree(folder.uid)
            return {"message": "Folder deleted"}

    def folder_depth(self, uid: str) -> int:
        """1 for a top-level folder, 2 for its child, ..."""
        depth, cursor = 0, self._folders.get(uid)
        while cursor is not None:
            depth += 1
            cursor = self._folders.get(cursor.parent_uid)
        return depth

    # ------------------------------------------------------------------ data sources

    def _ds_dto(self, ds: _Datasource) -> dict[str, Any]:
        fields = ds.fields
        return {
            "id": ds.id, "uid": ds.uid, "orgId": 1, "name": ds.name, "type": ds.type,
            "typeLogoUrl": _DS_LOGOS.get(ds.type, ""), "access": fields.get("access", "proxy"),
            "url": fields.get("url", ""), "user": fields.get("user", ""), "database": fields.get("database", ""),
            "basicAuth": bool(fields.get("basicAuth", False)), "basicAuthUser": fields.get("basicAuthUser", ""),
            "withCredentials": bool(fields.get("withCredentials", False)),
            "isDefault": bool(fields.get("isDefault", False)), "jsonData": json_copy(fields.get("jsonData") or {}),
            "secureJsonFields": {key: True for key, value in ds.secure.items() if value}, "version": ds.version, "readOnly": ds.read_only,
        }

    def _ds_fields(self, cmd: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        fields: dict[str, Any] = {key: json_copy(cmd[key]) for key in
                  ("access", "url", "user", "database", "basicAuth", "basicAuthUser", "withCredentials",
                   "isDefault", "jsonData") if key in cmd}
        secure = {k: v for k, v in (cmd.get("secureJsonData") or {}).items() if isinstance(k, str)}
        for legacy in _DS_SECRET_TOP_LEVEL:
            if cmd.get(legacy):
                secure.setdefault(legacy, cmd[legacy])
        return fields, secure

    def _create_datasource(self, cmd: dict[str, Any]) -> _Datasource:
        ds_type = _as_str(cmd.get("type"))
        if not ds_type:
            raise _err(400, "bad request data")
        name = _as_str(cmd.get("name")).strip()
        if not name:  # Grafana picks a free name from the type
            name, n = ds_type, 1
            while any(d.name == name for d in self._datasources.values()):
                name, n = f"{ds_type}-{n}", n + 1
        uid = _as_str(cmd.get("uid")).strip()
        if not _UID_CHARS.match(uid) or len(uid) > _MAX_UID_LEN:
            raise _err(400, "invalid data source identifier")
        if any(d.name == name for d in self._datasources.values()):
            raise _err(409, "data source with the same name already exists")
        if uid in self._datasources:
            raise _err(409, "data source with the same uid already exists")
        fields, secure = self._ds_fields(cmd)
        fields.setdefault("access", "proxy")
        ds = _Datasource(id=self._next_ds_id, uid=uid or _short_uid(), name=name, type=ds_type,
                         fields=fields, secure=secure)
        self._next_ds_id += 1
        self._datasources[ds.uid] = ds
        self._single_default(ds)
        return ds

    def _single_default(self, ds: _Datasource) -> None:
        if ds.fields.get("isDefault"):  # only one default per org
            for other in self._datasources.values():
                if other is not ds:
                    other.fields["isDefault"] = False

    def _list_datasources(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> list[dict[str, Any]]:
        with self._lock:
            items = []
            for ds in sorted(self._datasources.values(), key=lambda d: d.name.lower()):
                dto = self._ds_dto(ds)
                items.append({key: dto[key] for key in ("id", "uid", "orgId", "name", "type", "typeLogoUrl",
                                                        "access", "url", "user", "database", "basicAuth",
                                                        "isDefault", "jsonData", "readOnly")}
                             | {"typeName": ds.type.capitalize()})
            return items

    def _get_datasource_by_uid(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        with self._lock:
            ds = self._datasources.get(params[0])
            if ds is None:
                raise _err(404, "Data source not found")
            return self._ds_dto(ds)

    def _get_datasource_by_name(self, identity: _Identity | None, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        with self._lock:
            ds = next((d for d in self._datasources.values() if d.name == params[0]), None)
            if ds is None:
                raise _err(404, "Data source not found")
            return self._ds_dto(ds)

    def _post_datasource(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role != "Admin":
            raise _rbac_denied("datasources:create")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict):
            raise _err(400, "bad request data")
        with self._lock:
            ds = self._create_datasource(cmd)
            return {"datasource": self._ds_dto(ds), "id": ds.id, "message": "Datasource added", "name": ds.name}

    def _put_datasource(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role != "Admin":
            raise _rbac_denied("datasources:write")
        cmd = self._json_body(body)
        if not isinstance(cmd, dict) or not _as_str(cmd.get("type")):
            raise _err(400, "bad request data")
        with self._lock:
            ds = self._datasources.get(params[0])
            if ds is None:
                raise _err(404, "Data source not found")
            if ds.read_only:
                raise _err(403, "Cannot update read-only data source")
            sent_version = _as_int(cmd.get("version"))
            if sent_version and sent_version < ds.version:
                raise _err(409, "Datasource has already been updated by someone else. Please reload and try again")
            name = _as_str(cmd.get("name")).strip() or ds.name
            if any(d.name == name and d is not ds for d in self._datasources.values()):
                raise _err(409, "data source with the same name already exists")
            fields, secure = self._ds_fields(cmd)
            fields.setdefault("access", "proxy")
            ds.name, ds.type, ds.fields = name, _as_str(cmd["type"]), fields
            ds.secure.update(secure)  # secrets not sent are kept, as in Grafana
            ds.version = max(sent_version, ds.version) + 1
            self._single_default(ds)
            return {"datasource": self._ds_dto(ds), "id": ds.id, "message": "Datasource updated", "name": ds.name}

    def _delete_datasource(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        if identity.role != "Admin":
            raise _rbac_denied("datasources:delete")
        with self._lock:
            ds = self._datasources.get(params[0])
            if ds is None:
                raise _err(404, "Data source not found")
            if ds.read_only:
                raise _err(403, "Cannot delete read-only data source")
            del self._datasources[ds.uid]
            return {"message": "Data source deleted", "id": ds.id}


def _v2_spec_of(model: dict[str, Any]) -> dict[str, Any]:
    """A schema v2 (v2beta1) spec as a dynamic-dashboards UI save would store it: panels become named
    elements, laid out in tabs (a layout the classic model has no way to express)."""
    panels = [p for p in model.get("panels") or [] if isinstance(p, dict) and p.get("type") != "row"]
    elements = {f"panel-{p.get('id', n)}": {"kind": "Panel", "spec": {"id": p.get("id", n), "title": p.get("title", ""),
                                                                        "vizConfig": {"kind": p.get("type", "")}}}
                for n, p in enumerate(panels, start=1)}
    tab = {"kind": "TabsLayoutTab", "spec": {"title": "Overview", "layout": {"kind": "AutoGridLayout", "spec": {
        "items": [{"kind": "AutoGridLayoutItem", "spec": {"element": {"kind": "ElementReference", "name": name}}}
                  for name in elements]}}}}
    return {"title": model.get("title", ""), "tags": list(model.get("tags") or []), "elements": elements,
            "layout": {"kind": "TabsLayout", "spec": {"tabs": [tab]}}}


def _multi(query: dict[str, list[str]], name: str) -> list[str]:
    # Accept both repeated params and comma lists (Grafana's binder splits neither; be lenient).
    return [v for raw in query.get(name, []) for v in raw.split(",") if v]


def _safe_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _query_int(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


def _tags_of(model: dict[str, Any]) -> list[str]:
    tags = model.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
