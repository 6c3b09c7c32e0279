"""A small, typed client for the Grafana HTTP API.

Every failure becomes ONE line that says what was attempted, the HTTP status and Grafana's own message
(`GrafanaHTTPError`, `GrafanaAuthError`, `GrafanaUnreachable`). Secrets (token, password) never appear in a
message, a log line or a `repr()`.

Retries (urllib3 `Retry`: bounded, exponential backoff, honours `Retry-After` up to a cap) apply to connection
errors, read errors and 429/502/503/504 answers, for every method this client sends, POST included. That is safe
only because each write this client issues is either idempotent or guarded so that a duplicate cannot do harm:

- `POST /api/dashboards/db` carries the `version` we read. If the first attempt was applied but its answer was
  lost (proxy 502/504, dropped connection), the retry posts a now-stale version and Grafana answers
  412 version-mismatch instead of applying it twice. The caller then re-reads the dashboard: if it is exactly
  what we posted at the next version, the write succeeded (`airflow_dash.grafana.publish` does this); anything
  else is a conflict. A create posts no version, so a duplicate create also ends in 412 and the same check.
  With `overwrite=True` (only `--force`) a duplicate apply stores the same content once more: at worst one
  redundant version in the history, never different content.
- `POST /api/folders` with our uid: a duplicate gives 409 "already exists"; `ensure_folder` re-reads it.
- `POST /api/datasources` with our uid: a duplicate gives 409; the caller re-reads by uid.
- Resource APIs (Grafana 12/13, `airflow_dash.grafana.resources`): a create is POST with our name, so a
  duplicate gives 409 AlreadyExists; an update is PUT with the `resourceVersion` we read, so a duplicate
  gives 409 Conflict. Either way the caller re-reads, as above.
- `PUT` and `DELETE` are idempotent (a repeated DELETE answers 404, which `delete_*` treats as "already gone").

HTTP goes straight through urllib3 (a `PoolManager`, what `requests` sends through too, without `requests`'
per-request preparation, which cost more CPU than the rest of a publish per dashboard). It is imported lazily:
the CLI imports this module only for commands that talk to Grafana.
"""

from __future__ import annotations

import base64
import json as stdlib_json
import os
import threading
from typing import TYPE_CHECKING, Any, Iterable, Mapping
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

import orjson

from airflow_dash.errors import OperationError, UserError, connection_cause
from airflow_dash.grafana.api import DashboardApi, LiveDashboard, ServerInfo  # noqa: F401 - LiveDashboard re-exported

if TYPE_CHECKING:  # imported where used: urllib3 loads only for commands that talk to Grafana
    from urllib3 import PoolManager
    from urllib3.response import BaseHTTPResponse
    from urllib3.util.retry import Retry

# Statuses worth another attempt: rate limited, or a proxy/gateway in front of Grafana had a hiccup.
RETRY_STATUSES = (429, 502, 503, 504)
# A Retry-After longer than this is not waited for in full: a CLI should not hang for minutes.
MAX_RETRY_AFTER_SECONDS = 30.0
USER_AGENT = "airflow-dash"
_JSON_CONTENT = {"Content-Type": "application/json"}
# Causes of a connection failure that mean the request never left this machine.
_NEVER_SENT = ("connection refused", "name or service not known", "no route to host")


def _encode_json(value: Any) -> bytes:
    """A request body. orjson refuses what the json module would coerce (keys that are not strings, ints
    beyond 64 bits): those go through the json module, as they always did."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return stdlib_json.dumps(value).encode("utf-8")


class GrafanaHTTPError(OperationError):
    """Grafana answered with an error status. `status` is the HTTP code, `grafana_status` the body's `status`
    field (e.g. "version-mismatch") and `grafana_message` its `message`."""

    def __init__(self, message: str, *, status: int, grafana_status: str = "", grafana_message: str = ""):
        super().__init__(message)
        self.status = status
        self.grafana_status = grafana_status
        self.grafana_message = grafana_message


class GrafanaAuthError(UserError):
    """Grafana rejected the credentials (401): a configuration problem, so exit code 2."""


class GrafanaUnreachable(OperationError):
    """No HTTP answer at all: connection refused, DNS failure, TLS failure or timeout. `maybe_applied` is True
    when the request may have reached Grafana (no answer in time, connection lost mid-request): a write that
    ends so is uncertain until re-read."""

    def __init__(self, message: str, *, maybe_applied: bool = False):
        super().__init__(message)
        self.maybe_applied = maybe_applied


def _check_header_safe(token: str | None, user: str | None, password: str | None) -> None:
    """Refuse credentials an HTTP header cannot carry (UserError, naming none of them): a token read from a
    file with its trailing newline is the usual one, and would fail deep inside http.client instead."""
    for name, value in (("token", token), ("user", user), ("password", password)):
        if not value:
            continue
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise UserError(f"the Grafana {name} holds a line break or another control character "
                            "(a trailing newline from a file or `echo`?): remove it")
        if name != "token" and not all(ord(char) < 256 for char in value):
            raise UserError(f"the Grafana {name} has characters Basic authentication cannot send (it is Latin-1)")
        if name == "token" and not value.isascii():
            raise UserError("the Grafana token has non-ASCII characters: service-account tokens are ASCII")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def folder_conflict_error(title: str, answer: Any) -> GrafanaHTTPError:
    """The error for a 409 on folder create when a re-read finds no folder of that uid (taken elsewhere)."""
    message = answer.get("message") if isinstance(answer, dict) else answer
    return GrafanaHTTPError(f"creating folder {title!r} failed: HTTP 409: {_one_line(str(message), 200)}",
                            status=409, grafana_message=str(message))


def _strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """Return the URL without `user:password@` and the credentials it carried (never shown anywhere)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The URL itself is not echoed: it may carry user:password.
        raise UserError(f"Grafana URL must look like http(s)://host[:port] (got scheme {parts.scheme!r}, "
                        f"host {parts.hostname or ''!r})")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return clean, parts.username, parts.password


def _shown_location(base: str, location: str) -> str:
    """A redirect's target as it may be shown: absolute, without user:password, query or fragment (either
    could carry a secret); "" when it is not an http(s) address."""
    try:
        parts = urlsplit(urljoin(base + "/", location.strip()))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return ""
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:  # e.g. a port that is not a number
        return ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _make_retry(retries: int, backoff: float) -> Retry:
    from urllib3.util.retry import Retry

    class BoundedRetry(Retry):
        """Honours Retry-After, but never waits longer than MAX_RETRY_AFTER_SECONDS for one attempt."""

        def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, MAX_RETRY_AFTER_SECONDS)

    return BoundedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        backoff_max=10.0,
        status_forcelist=RETRY_STATUSES,
        # POST included on purpose: see the module docstring for why each write is safe to repeat.
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # hand back the last answer so the error carries Grafana's message
    )


class GrafanaClient:
    """Typed access to the parts of the Grafana HTTP API that airflow-dash needs.

    Thread-safe: every thread sends through one urllib3 pool that keeps up to `pool_size` connections open
    (see `_pool` for why sharing it is safe); `use_concurrency` grows it.
    Authentication: a service-account `token` (Bearer) or `user`/`password` (Basic); `org_id` sets
    X-Grafana-Org-Id. `verify` is True (certifi's CA bundle, as requests uses), a CA bundle file or
    directory, or False (only on `--insecure`).
    `timeout` is (connect, read) seconds.

    Dashboards and folders go through `self.api` (`airflow_dash.grafana.api.DashboardApi`), chosen on first
    use from what the server is (`api="auto"`), or forced with `api="legacy"` / `api="resources"`. The
    dashboard and folder methods below delegate to it, so callers never branch on Grafana's version.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        org_id: int | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = (5.0, 30.0),
        retries: int = 4,
        backoff: float = 0.25,
        api: str = "auto",
        pool_size: int = 10,
    ):
        self.url, url_user, url_password = _strip_userinfo(url)
        self._token = token or None
        self._user = user or url_user
        self._password = password if password is not None else url_password
        _check_header_safe(self._token, self._user, self._password)
        from airflow_dash.scrub import register_secret

        register_secret(self._token)
        register_secret(self._password, user=self._user)
        self.org_id = org_id
        self.verify = verify
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.host = urlsplit(self.url).netloc
        self.api_preference = api
        self._api: DashboardApi | None = None
        self._api_lock = threading.Lock()
        self.pool_size = max(1, pool_size)
        import urllib3  # noqa: F401 - a client is made to talk to Grafana: loaded now, not on its first request
        self._shared: PoolManager | None = None
        self._header_sets: tuple[dict[str, str], dict[str, str]] | None = None  # without, with a JSON body
        self._session_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def auth_kind(self) -> str:
        if self._token:
            return "token"
        if self._user:
            return "basic"
        return "none"

    def __repr__(self) -> str:
        return (f"GrafanaClient(url={self.url!r}, auth={self.auth_kind!r}, org_id={self.org_id!r}, "
                f"verify={self.verify!r})")

    def _secrets(self) -> list[str]:
        return [s for s in (self._token, self._password) if s]

    def _scrub(self, text: str) -> str:
        """Defence in depth: no secret survives into a message, whatever a server or library echoed."""
        from airflow_dash.scrub import scrub

        for secret in self._secrets():
            text = text.replace(secret, "***")
        return scrub(text)

    def _pool(self) -> PoolManager:
        """The one connection pool every thread sends through: it holds `pool_size` keep-alive connections
        (publish sizes it to its concurrency), so a run opens at most that many at once. Sharing it is safe
        because nothing in it changes per request: headers and auth are fixed here, no proxy or netrc is
        consulted and no cookie is kept (urllib3 has no cookie jar, so a Set-Cookie leaves no state one thread
        could leave for another); urllib3's pool hands each connection to one thread at a time."""
        pool = self._shared
        if pool is not None:
            return pool
        with self._session_lock:
            if self._shared is None:
                self._shared = self._new_pool()
            return self._shared

    def _headers(self, json_body: bool) -> dict[str, str]:
        """Every request's headers (urllib3 adds none of its own but Host and Content-Length)."""
        sets = self._header_sets
        if sets is None:
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            elif self._user:  # latin-1, as requests' HTTPBasicAuth encoded it
                pair = f"{self._user}:{self._password or ''}".encode("latin-1")
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            if self.org_id is not None:
                headers["X-Grafana-Org-Id"] = str(self.org_id)
            self._header_sets = sets = (headers, {**headers, **_JSON_CONTENT})
        return sets[json_body]

    def _new_pool(self) -> PoolManager:
        import urllib3

        tls: dict[str, Any] = {"cert_reqs": "CERT_NONE"}
        if self.verify:  # a CA bundle file or directory, else the bundle requests would use (certifi's)
            import certifi

            location = certifi.where() if self.verify is True else str(self.verify)
            tls = {"cert_reqs": "CERT_REQUIRED",
                   "ca_cert_dir" if os.path.isdir(location) else "ca_certs": location}
        return urllib3.PoolManager(num_pools=1, maxsize=self.pool_size, block=False,
                                   retries=_make_retry(self.retries, self.backoff),
                                   timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]), **tls)

    def use_concurrency(self, concurrency: int) -> None:
        """Make room for `concurrency` requests at once (a bigger pool, before any thread uses it)."""
        if concurrency > self.pool_size:
            with self._session_lock:
                self.pool_size = concurrency
                old, self._shared = self._shared, None
            if old is not None:
                old.clear()

    def close(self) -> None:
        with self._session_lock:
            pool, self._shared = self._shared, None
        if pool is not None:
            pool.clear()

    def __enter__(self) -> "GrafanaClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json: Any = None,
        allow: Iterable[int] = (),
    ) -> tuple[int, Any]:
        """Send one request; return (status, parsed body). Statuses in `allow` (besides 2xx) are returned
        instead of raised. `what` describes the attempt for error messages, e.g. "saving dashboard 'x'"."""
        from urllib3.exceptions import HTTPError, MaxRetryError

        data = None if json is None else _encode_json(json)  # orjson: about 15 times faster than the json module
        headers = self._headers(data is not None)
        url = self.url + path
        if params:
            pairs = params.items() if isinstance(params, Mapping) else params
            url += "?" + urlencode([(k, v) for k, v in pairs if v is not None], doseq=True)
        try:
            # No redirect is followed: urllib3 would re-send a write's body (secrets included) to wherever
            # Location points, and the write would count as done; a 3xx is reported below instead.
            response = self._pool().urlopen(method, url, body=data, headers=headers, preload_content=False,
                                            redirect=False)
            try:
                content = response.read(decode_content=True)
            except BaseException:
                response.close()  # the connection goes back closed: the pool opens a new one in its place
                raise
            finally:
                response.release_conn()
        except MaxRetryError as exc:  # what retries could not get past; its reason is the last failure
            raise self._unreachable(what, exc.reason or exc, exc) from None
        except (HTTPError, OSError) as exc:  # not retried (e.g. the answer broke off while being read)
            raise self._unreachable(what, exc, exc) from None

        body = self._parse(content)
        status = response.status
        if 200 <= status < 300 or status in set(allow):
            return status, body
        if 300 <= status < 400:
            raise self._redirected(what, status, response.headers.get("Location") or "")
        raise self._error(what, status, body, response)

    def _redirected(self, what: str, status: int, location: str) -> GrafanaHTTPError:
        """A redirect, not followed (see request): the address to use instead, its credentials masked."""
        target = _shown_location(self.url, location)
        where = f" to {_one_line(self._scrub(target), 150)}" if target else ""
        return GrafanaHTTPError(f"{what} failed: Grafana at {self.url} answered HTTP {status}, a redirect{where}: "
                                "set GRAFANA_URL to the address Grafana answers on (redirects are not followed)",
                                status=status)

    def _unreachable(self, what: str, reason: BaseException, raised: BaseException) -> GrafanaUnreachable:
        """No HTTP answer: `reason` is the failure, `raised` what urllib3 raised (its text names the cause)."""
        from urllib3.exceptions import (
            ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError, ResponseError, SSLError,
        )

        text = str(raised)
        if isinstance(reason, SSLError):
            return GrafanaUnreachable(self._scrub(
                f"{what} failed: TLS verification failed for {self.host} ({connection_cause(reason)}); "
                "pass --ca-cert FILE, or --insecure to skip verification"))
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return GrafanaUnreachable(
                f"{what} failed: connecting to Grafana at {self.host} timed out after {self.timeout[0]:g}s")
        if isinstance(reason, ReadTimeoutError) or "Read timed out" in text:
            return GrafanaUnreachable(
                f"{what} failed: Grafana at {self.host} did not answer within {self.timeout[1]:g}s",
                maybe_applied=True)
        if isinstance(reason, ResponseError):  # pragma: no cover - raise_on_status=False avoids it
            return GrafanaUnreachable(f"{what} failed: {self.host}: {_one_line(self._scrub(text), 150)}")
        if isinstance(reason, (NewConnectionError, ProtocolError, OSError)):
            cause = connection_cause(raised)
            # Refused, unresolvable or unroutable: the request never left. Anything else (reset, closed
            # without an answer) may have been applied.
            never_sent = isinstance(reason, NewConnectionError) or cause in _NEVER_SENT
            return GrafanaUnreachable(self._scrub(f"{what} failed: cannot reach Grafana at {self.host} ({cause})"),
                                      maybe_applied=not never_sent)
        return GrafanaUnreachable(  # scrub first: a cut could split a secret
            f"{what} failed: {self.host}: {_one_line(self._scrub(type(reason).__name__ + ': ' + text), 150)}",
            maybe_applied=True)

    @staticmethod
    def _parse(content: bytes) -> Any:
        if not content:
            return None
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:  # an error page or a proxy's text: only ever shown in a message
            return content.decode("utf-8", errors="replace")

    def _error(self, what: str, status: int, body: Any, response: BaseHTTPResponse) -> Exception:
        grafana_status = ""
        message = ""
        if isinstance(body, dict) and body.get("kind") == "Status":  # resource APIs: a Kubernetes Status
            grafana_status = str(body.get("reason") or "")
            message = str(body.get("message") or "")
        elif isinstance(body, dict):
            grafana_status = str(body.get("status") or "")
            message = str(body.get("message") or body.get("error") or "")
        elif isinstance(body, str):
            message = body
        message = _one_line(self._scrub(message), 200)  # scrub first: a cut could split a secret
        if status == 401:
            credential = {"token": "token", "basic": "user/password"}.get(self.auth_kind)
            if credential is None:
                return GrafanaAuthError(
                    f"{what} failed: Grafana at {self.url} requires authentication: set GRAFANA_TOKEN")
            return GrafanaAuthError(f"{what} failed: {credential} rejected by Grafana at {self.url} (HTTP 401)")
        detail = f"HTTP {status}"
        if grafana_status:
            detail += f" {grafana_status}"
        if message:
            detail += f": {message}"
        elif response.reason:
            detail += f" {response.reason}"
        if status == 403:
            detail += " (the token's role lacks permission)"
        return GrafanaHTTPError(f"{what} failed: {detail}", status=status, grafana_status=grafana_status,
                                grafana_message=message)

    # -- health ---------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET /api/health (no auth needed): {"database": "ok", "version": ...}."""
        return self.request("GET", "/api/health", what=f"checking Grafana health at {self.url}")[1] or {}

    # -- dashboards and folders: delegated to the API this server speaks ---------------------------------------

    @property
    def api(self) -> DashboardApi:
        """The dashboard/folder API for this server, discovered once (GET /api/health, then /apis)."""
        with self._api_lock:
            if self._api is None:
                from airflow_dash.grafana.api import select_api

                self._api = select_api(self, self.api_preference)
            return self._api

    @property
    def server(self) -> ServerInfo:
        return self.api.server

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        return self.api.get_dashboard(uid)

    def save_dashboard(self, model: Mapping[str, Any], folder_uid: str | None = None, message: str = "",
                       overwrite: bool = False, *, revision: str | None = None) -> dict[str, Any]:
        return self.api.save_dashboard(model, folder_uid, message, overwrite, revision=revision)

    def delete_dashboard(self, uid: str) -> bool:
        return self.api.delete_dashboard(uid)

    def search(self, query: str | None = None, tags: Iterable[str] = (), folder_uids: Iterable[str] = (),
               type: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Every matching hit; `limit` is the page size asked for (the client follows all pages)."""
        return self.api.search(query=query, tags=tags, folder_uids=folder_uids, type=type, page_size=limit)

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        return self.api.get_folder(uid)

    def ensure_folder(self, uid: str, title: str, parent_uid: str | None = None,
                      known_missing: bool = False) -> tuple[dict[str, Any], bool]:
        return self.api.ensure_folder(uid, title, parent_uid, known_missing)

    def rename_folder(self, uid: str, title: str) -> dict[str, Any]:
        return self.api.rename_folder(uid, title)

    def delete_folder(self, uid: str) -> bool:
        return self.api.delete_folder(uid)

    # -- legacy-only reads (version history; Grafana 13 still serves these routes) -----------------------------

    def dashboard_versions(self, uid: str, limit: int = 20) -> list[dict[str, Any]]:
        """Version history, newest first. Accepts both the list and the {"versions": [...]} shapes."""
        _, body = self.request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}/versions",
                               params={"limit": limit}, what=f"listing versions of dashboard {uid!r}")
        if isinstance(body, dict):
            body = body.get("versions") or []
        return list(body or [])

    def dashboard_version(self, uid: str, version: int) -> dict[str, Any] | None:
        status, body = self.request("GET", f"/api/dashboards/uid/{quote(uid, safe='')}/versions/{int(version)}",
                                    what=f"reading version {version} of dashboard {uid!r}", allow=(404,))
        return None if status == 404 else body

    # -- datasources ----------------------------------------------------------------------------------------

    def get_datasource(self, uid: str) -> dict[str, Any] | None:
        status, body = self.request("GET", f"/api/datasources/uid/{quote(uid, safe='')}",
                                    what=f"reading datasource {uid!r}", allow=(404,))
        return None if status == 404 else body

    def get_datasource_by_name(self, name: str) -> dict[str, Any] | None:
        status, body = self.request("GET", f"/api/datasources/name/{quote(name, safe='')}",
                                    what=f"reading datasource {name!r}", allow=(404,))
        return None if status == 404 else body

    def create_datasource(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/datasources", json=dict(body),
                            what=f"creating datasource {body.get('name')!r}")[1] or {}

    def update_datasource(self, uid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/api/datasources/uid/{quote(uid, safe='')}", json=dict(body),
                            what=f"updating datasource {body.get('name') or uid!r}")[1] or {}
