"""The `grafana` fixture: a real Grafana only on the explicit opt-in AIRFLOW_DASH_TEST_GRAFANA_URL and
AIRFLOW_DASH_TEST_GRAFANA_TOKEN (those tests are marked `real_grafana`), otherwise a fresh in-process emulator
per test. GRAFANA_URL / GRAFANA_TOKEN, a user's publishing environment, never select a real Grafana.

Register with `pytest_plugins = ["tests.grafana_fixtures"]` in tests/conftest.py (that also registers the
collection hook that marks the tests for `-m real_grafana` selection).

Against a real Grafana every test works inside its own folder (`target.root_folder`, random name) and the
fixture deletes that folder, and with it everything inside, afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from typing import Iterator

import pytest

from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.grafana.model import folder_uid


def is_discovery(path: str) -> bool:
    """A request a client makes once to learn what the server is (airflow_dash.grafana.resources.discover)."""
    return path == "/api/health" or re.fullmatch(r"/apis(/[^/]+)?/?", path) is not None


TEST_URL_VAR = "AIRFLOW_DASH_TEST_GRAFANA_URL"
TEST_TOKEN_VAR = "AIRFLOW_DASH_TEST_GRAFANA_TOKEN"


def real_grafana_configured() -> bool:
    return bool(os.environ.get(TEST_URL_VAR) and os.environ.get(TEST_TOKEN_VAR))


@dataclass
class GrafanaTarget:
    """Where a test publishes: `url`, `token`, a unique `prefix` for uids and a `root_folder` for everything."""

    url: str
    token: str = field(repr=False)
    emulator: object | None
    prefix: str
    root_folder: str
    mode: str = "real"  # "grafana11" / "grafana13" for the emulator

    @property
    def modern(self) -> bool:
        """The target speaks Grafana 12/13 resource APIs (emulated 13, or a real server that serves them)."""
        if self.emulator is not None:
            return self.mode == "grafana13"
        with self.client() as client:
            return client.server.api == "resources"

    @property
    def is_real(self) -> bool:
        return self.emulator is None

    # Where this Grafana's dashboard and folder requests go (fault injection and request-log filters).
    @property
    def dashboards_path(self) -> str:
        return "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards" if self.modern else "/api/dashboards"

    @property
    def dashboard_read_prefix(self) -> str:
        return self.dashboards_path + "/" if self.modern else "/api/dashboards/uid/"

    @property
    def dashboard_write_prefix(self) -> str:
        return self.dashboards_path if self.modern else "/api/dashboards/db"

    @property
    def folders_path(self) -> str:
        return "/apis/folder.grafana.app/v1/namespaces/default/folders" if self.modern else "/api/folders"

    @property
    def created_status(self) -> int:
        return 201 if self.modern else 200

    def is_dashboard_write(self, request) -> bool:
        if self.modern:
            return request.method in ("POST", "PUT") and request.path.startswith(self.dashboards_path)
        return request.method == "POST" and request.path == "/api/dashboards/db"

    def client(self, **kwargs) -> GrafanaClient:
        kwargs.setdefault("retries", 4)
        kwargs.setdefault("backoff", 0.01)
        return GrafanaClient(self.url, token=kwargs.pop("token", self.token), **kwargs)

    def require_emulator(self):
        """The emulator, or skip: fault injection and request logs exist only there."""
        if self.emulator is None:
            pytest.skip("needs the emulator (fault injection / request log)")
        return self.emulator

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a CLI subprocess talking to this Grafana."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAFANA_", "AIRFLOW_DASH_"))}
        env.update({"GRAFANA_URL": self.url, "GRAFANA_TOKEN": self.token, "AIRFLOW_DASH_FOLDER": self.root_folder,
                    "AIRFLOW_DASH_RETRIES": "2"})
        env.update(extra)
        return env


def pytest_collection_modifyitems(config, items) -> None:
    if not real_grafana_configured():
        return
    for item in items:
        if "grafana" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_grafana)


# Each test taking `grafana` runs once per emulated Grafana (11: legacy routes; 13: resource APIs), or once
# against the real Grafana when one is configured.
GRAFANA_MODES = ("grafana11", "grafana13")


@pytest.fixture(params=["real"] if real_grafana_configured() else list(GRAFANA_MODES))
def grafana(request) -> Iterator[GrafanaTarget]:
    prefix = f"adt{secrets.token_hex(3)}"
    root = f"airflow-dash-test-{prefix}"
    if request.param == "real":
        request.node.add_marker(pytest.mark.real_grafana)
        target = GrafanaTarget(os.environ[TEST_URL_VAR], os.environ[TEST_TOKEN_VAR], None, prefix, root)
        yield target
        with target.client() as client:
            for uid in [folder_uid((root,))]:
                try:
                    client.delete_folder(uid)
                except Exception:  # cleanup must not hide the test's own failure
                    pass
        return
    from airflow_dash.testing.grafana_emulator import GrafanaEmulator

    with GrafanaEmulator(flavor=request.param) as emulator:
        yield GrafanaTarget(emulator.url, emulator.admin_token, emulator, prefix, root, request.param)


@dataclass(frozen=True)
class SampleDashboard:
    """A hand-made CompiledDashboard look-alike (uid, title, folder, backend, model)."""

    uid: str
    title: str
    folder: str | None
    backend: str
    model: dict = field(repr=False)


def sample_dashboard(prefix: str, name: str, folder: str | None = None, *, panel_titles=("Running tasks", "Queued tasks"),
                     expr: str = "sum(airflow_executor_running_tasks)") -> SampleDashboard:
    """A small but realistic Prometheus dashboard with uid `<prefix>-<name>`."""
    uid = f"{prefix}-{name}"
    title = f"{prefix} {name.replace('-', ' ').title()}"
    panels = [{"id": i + 1, "type": "timeseries", "title": panel_title,
               "datasource": {"type": "prometheus", "uid": "prometheus"},
               "gridPos": {"x": 12 * (i % 2), "y": 8 * (i // 2), "w": 12, "h": 8},
               "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
               "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
               "targets": [{"refId": "A", "expr": f"{expr} # {panel_title}", "range": True, "instant": False,
                            "datasource": {"type": "prometheus", "uid": "prometheus"}}]}
              for i, panel_title in enumerate(panel_titles)]
    model = {"uid": uid, "title": title, "tags": ["airflow"], "schemaVersion": 41, "timezone": "browser",
             "editable": True, "graphTooltip": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
             "templating": {"list": []}, "annotations": {"list": []}, "panels": panels}
    return SampleDashboard(uid, title, folder, "prometheus", model)
