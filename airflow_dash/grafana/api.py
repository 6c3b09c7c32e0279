"""One interface for the dashboard and folder parts of Grafana, whatever its version.

`GrafanaClient` (client.py) is the transport: auth, TLS, retries, one-line errors. What a dashboard or folder
operation looks like on the wire depends on the server:

- Grafana 9-11 (and 8.3, see docs/grafana-versions.md): the legacy `/api/dashboards`, `/api/folders` and
  `/api/search` routes (`airflow_dash.grafana.legacy.LegacyApi`);
- Grafana 12/13: the resource APIs `dashboard.grafana.app` and `folder.grafana.app`, with
  `metadata.resourceVersion` for optimistic concurrency and the `grafana.app/folder` annotation
  (`airflow_dash.grafana.resources.ResourceApi`).

`select_api` reads `/api/health` (and `/apis` discovery where present) once and picks one. Callers
(publish, diff, pull) use only `DashboardApi`: they never branch on a version.

Concurrency: every `LiveDashboard` carries `revision`, an opaque token (the legacy `version`, or the
resource's `resourceVersion`). Passing it back to `save_dashboard(revision=...)` makes the server refuse the
write if anyone saved since the read (legacy: 412 version-mismatch, or 409 on Grafana 13's legacy route;
resource API: 409 Conflict). `revision=None` means "create" (refused with 409/412 if the uid exists), and
`overwrite=True` writes unconditionally (only `--force`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

if TYPE_CHECKING:  # the client imports this module
    from airflow_dash.grafana.client import GrafanaClient

# The newest classic ("v1") dashboard schemaVersion, and the first Grafana that knows it: the v42 migration
# (hideFrom.tooltip follows hideFrom.viz) was merged on 2025-09-03 (grafana/grafana PR #110517), so 12.2.
LATEST_SCHEMA_VERSION = 42
SCHEMA_42_SINCE = (12, 2)
# What we emit for Grafana 9-12.1 (and when the version is unknown): every supported release reads it.
DEFAULT_SCHEMA_VERSION = 41
# Versions of the resource APIs this client speaks, preferred first.
DASHBOARD_API_VERSIONS = ("v1", "v1beta1")
FOLDER_API_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True)
class ServerInfo:
    """What the Grafana we talk to is, as far as publishing cares."""

    version: str  # as /api/health reports it, "" when the server hides it
    api: str  # "legacy" or "resources"
    dashboard_api: str = ""  # e.g. "dashboard.grafana.app/v1" (resources only)
    folder_api: str = ""  # e.g. "folder.grafana.app/v1"
    namespace: str = "default"

    @property
    def release(self) -> tuple[int, int] | None:
        return parse_release(self.version)

    @property
    def schema_version(self) -> int:
        """The dashboard schemaVersion to emit for this server (see LATEST_SCHEMA_VERSION)."""
        release = self.release
        if release is None:
            # Version hidden: the resource API at v1 exists only from 13.0, which knows 42.
            return LATEST_SCHEMA_VERSION if self.dashboard_api.endswith("/v1") else DEFAULT_SCHEMA_VERSION
        return LATEST_SCHEMA_VERSION if release >= SCHEMA_42_SINCE else DEFAULT_SCHEMA_VERSION

    def describe(self) -> str:
        name = f"Grafana {self.version}" if self.version else "Grafana (version hidden)"
        how = self.dashboard_api if self.api == "resources" else "legacy /api routes"
        return f"{name} via {how}"


def parse_release(version: str) -> tuple[int, int] | None:
    """"13.2.1" / "11.6.0-pre" / "v12.0.0+security-01" -> (major, minor); None when unparsable."""
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class LiveDashboard:
    """A dashboard as Grafana stores it right now.

    `model` is the classic (v1) JSON model with `uid`, `id` and `version` filled in the way the legacy API
    shows them. `version` is the number Grafana shows in the version history (legacy version, or the
    resource's `metadata.generation`); `revision` is the token a conditional write must carry.
    `stored_as` is non-empty when Grafana keeps the dashboard in another schema than the one we read it in
    (e.g. "v2beta1" after a user saved it with dynamic dashboards): `model` is then a lossy conversion, or
    empty when the server could not convert it, and overwriting it would lose v2-only layout.
    """

    uid: str
    model: dict[str, Any] = field(repr=False)
    version: int
    folder_uid: str | None
    provisioned: bool = False
    resource_version: str = ""
    stored_as: str = ""
    managed_by: str = ""  # Grafana's grafana.app/managedBy annotation, when another tool owns it

    @property
    def revision(self) -> str:
        return self.resource_version or str(self.version)

    @property
    def stored_as_v2(self) -> bool:
        return self.stored_as.startswith("v2")


class DashboardApi(Protocol):
    """Dashboard and folder operations, the same on every supported Grafana (see the module docstring)."""

    url: str
    server: ServerInfo

    def get_dashboard(self, uid: str) -> LiveDashboard | None:
        """The live dashboard, or None when there is none with this uid."""

    def save_dashboard(self, model: Mapping[str, Any], folder_uid: str | None = None, message: str = "",
                       overwrite: bool = False, *, revision: str | None = None) -> dict[str, Any]:
        """Create (revision None) or conditionally update (revision from `get_dashboard`) a dashboard.
        Returns at least {"uid", "version"}. A stale revision raises GrafanaHTTPError 409/412."""

    def delete_dashboard(self, uid: str) -> bool:
        """Delete by uid; False when it was already gone."""

    def search(self, query: str | None = None, tags: Iterable[str] = (), folder_uids: Iterable[str] = (),
               type: str | None = None, page_size: int | None = None) -> list[dict[str, Any]]:
        """Dashboards ("dash-db") and folders ("dash-folder") as legacy search hits:
        {"uid", "title", "type", "tags", "folderUid"}; every page, filtered as asked."""

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        """{"uid", "title", "parentUid", "version"} or None."""

    def ensure_folder(self, uid: str, title: str, parent_uid: str | None = None,
                      known_missing: bool = False) -> tuple[dict[str, Any], bool]:
        """Get or create a folder; (folder, created). A concurrent create is resolved by reading it."""

    def rename_folder(self, uid: str, title: str) -> dict[str, Any]:
        """Retitle a folder (used where nested folders are unavailable)."""

    def delete_folder(self, uid: str) -> bool:
        """Delete a folder and everything in it; False when it was already gone."""


def select_api(client: GrafanaClient, prefer: str = "auto") -> DashboardApi:
    """The implementation for the server behind `client`: `prefer` is "auto", "legacy" or "resources"."""
    from airflow_dash.grafana.legacy import LegacyApi
    from airflow_dash.grafana.resources import ResourceApi, discover

    if prefer not in ("auto", "legacy", "resources"):
        from airflow_dash.errors import UserError

        raise UserError(f"Grafana API must be auto, legacy or resources (got {prefer!r})")
    server = discover(client, prefer)
    if server.api == "resources":
        return ResourceApi(client, server)
    return LegacyApi(client, server)
