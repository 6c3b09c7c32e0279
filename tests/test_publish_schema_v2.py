"""A dashboard a user re-saved as schema v2 on Grafana 13: detected, shown, never silently overwritten."""

from __future__ import annotations

import pytest

from airflow_dash.grafana.publish import PublishOptions, publish_dashboards
from airflow_dash.testing.grafana_emulator import GrafanaEmulator
from tests.grafana_fixtures import GrafanaTarget, sample_dashboard


@pytest.fixture
def grafana13():
    with GrafanaEmulator(flavor="grafana13") as emulator:
        yield GrafanaTarget(emulator.url, emulator.admin_token, emulator, "v2t", "Airflow", "grafana13")


def publish(target, dashboards, **options):
    with target.client() as client:
        return publish_dashboards(client, dashboards, PublishOptions(root_folder=target.root_folder, **options))


@pytest.mark.parametrize("api", ["resources", "legacy"])
def test_a_v2_save_is_refused_with_the_reason_and_force_overwrites(grafana13, api):
    emulator = grafana13.emulator
    dashboards = [sample_dashboard("v2t", "overview"), sample_dashboard("v2t", "pools")]
    plan, report = publish(grafana13, dashboards)
    assert report.ok, report
    uid = dashboards[0].uid
    emulator.edit_dashboard_as_user(uid, lambda m: m["panels"][0].update(title="Renamed in the UI"), as_v2=True)
    emulator.reset_requests()

    with grafana13.client(api=api) as client:
        plan, report = publish_dashboards(client, dashboards, PublishOptions(root_folder="Airflow"))
    [blocked] = plan.blocked
    assert blocked.uid == uid and blocked.action == "drifted"
    assert "schema v2beta1" in blocked.reason and "v2-only layout" in blocked.reason
    if api == "resources":  # the v1 conversion is readable: the drift shows the user's edit
        assert "Renamed in the UI" in blocked.diff
    assert not report.ok
    assert [r for r in emulator.requests if r.method in ("POST", "PUT", "DELETE")] == []
    assert emulator._dashboards[uid].stored_version == "v2beta1"  # untouched

    with grafana13.client(api=api) as client:
        plan, report = publish_dashboards(client, dashboards, PublishOptions(root_folder="Airflow", force=True))
    assert report.ok, report
    assert emulator.dashboard(uid)["panels"][0]["title"] == "Running tasks"
    assert emulator._dashboards[uid].stored_version != "v2beta1"


def test_schema_version_follows_the_server_and_republishing_writes_nothing(grafana):
    dashboards = [sample_dashboard(grafana.prefix, "versioned")]
    assert dashboards[0].model["schemaVersion"] == 41  # as compiled
    with grafana.client() as client:
        expected = client.server.schema_version
        plan, report = publish_dashboards(client, dashboards, PublishOptions(root_folder=grafana.root_folder))
        assert report.ok, report
        assert client.get_dashboard(dashboards[0].uid).model["schemaVersion"] == expected
        plan, report = publish_dashboards(client, dashboards, PublishOptions(root_folder=grafana.root_folder))
        assert [s.action for s in plan.dashboards] == ["unchanged"] and plan.write_count == 0
    if grafana.emulator is not None:
        assert expected == (42 if grafana.modern else 41)


def test_schema_42_hides_tooltips_where_the_series_is_hidden():
    from airflow_dash.compile import for_schema_version

    hidden = {"legend": True, "tooltip": False, "viz": True}
    shown = {"legend": False, "tooltip": False, "viz": False}
    model = {"schemaVersion": 41, "panels": [{"type": "row", "panels": [{"type": "timeseries", "fieldConfig": {
        "defaults": {"custom": {"hideFrom": hidden}},
        "overrides": [{"matcher": {"id": "byName", "options": "a"}, "properties": [{"id": "custom.hideFrom", "value": hidden}]},
                      {"matcher": {"id": "byName", "options": "b"}, "properties": [{"id": "custom.hideFrom", "value": shown}]}]}}]}]}
    retargeted = for_schema_version(model, 42)
    child = retargeted["panels"][0]["panels"][0]["fieldConfig"]
    assert retargeted["schemaVersion"] == 42
    assert child["defaults"]["custom"]["hideFrom"]["tooltip"] is True
    assert [o["properties"][0]["value"]["tooltip"] for o in child["overrides"]] == [True, False]
    assert model["panels"][0]["panels"][0]["fieldConfig"]["defaults"]["custom"]["hideFrom"]["tooltip"] is False  # untouched
    assert for_schema_version(model, 41) is model
    with pytest.raises(ValueError):
        for_schema_version(model, 43)


@pytest.mark.parametrize("api", ["resources", "legacy"])
def test_pull_refuses_a_v2_stored_dashboard_before_writing_anything(grafana13, api, tmp_path):
    from airflow_dash.errors import UserError
    from airflow_dash.grafana.pull import pull_dashboards

    grafana13.emulator.add_dashboard({"uid": "classic", "title": "Classic", "panels": []})
    grafana13.emulator.add_dashboard({"uid": "dynamic", "title": "Dynamic", "panels": []})
    grafana13.emulator.edit_dashboard_as_user("dynamic", as_v2=True)
    with grafana13.client(api=api) as client:
        with pytest.raises(UserError, match="stored in Grafana as schema v2beta1"):
            pull_dashboards(client, uids=["classic", "dynamic"], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
