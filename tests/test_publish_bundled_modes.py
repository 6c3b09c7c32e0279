"""The bundled dashboards on Grafana 11 and Grafana 13 (emulated, or a real server when configured): publish,
republish with zero writes of any kind, detect a UI edit, and prune only what is no longer defined."""

from __future__ import annotations

from pathlib import Path

from airflow_dash.build import compile_dashboards
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards

REPO = Path(__file__).resolve().parents[1]
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def test_bundled_dashboards_publish_republish_detect_an_edit_and_prune(grafana):
    compiled = compile_dashboards(dashboards_dir=REPO / "dashboards")
    options = PublishOptions(root_folder=grafana.root_folder, concurrency=4)
    with grafana.client() as client:
        plan, report = publish_dashboards(client, compiled, options)
        assert report.ok, [i for i in report.items if not i.ok]
        assert {s.action for s in plan.dashboards} == {"create"}
        expected_schema = client.server.schema_version
        assert {client.get_dashboard(c.uid).model["schemaVersion"] for c in compiled[:2]} == {expected_schema}

        emulator = grafana.emulator
        if emulator is not None:
            emulator.reset_requests()
        plan, report = publish_dashboards(client, compiled, options)
        assert report.ok and {s.action for s in plan.dashboards} == {"unchanged"}
        if emulator is not None:
            assert [r for r in emulator.requests if r.method in WRITES] == []

        edited = compiled[0].uid
        if emulator is not None:
            emulator.edit_dashboard_as_user(edited, lambda m: m.update(description="edited in the UI"))
        else:
            live = client.get_dashboard(edited)
            client.save_dashboard({**live.model, "description": "edited in the UI"}, live.folder_uid,
                                  revision=live.revision)
        plan, report = publish_dashboards(client, compiled, options)
        assert [s.uid for s in plan.blocked] == [edited] and plan.blocked[0].action == "drifted"
        assert "edited in the UI" in plan.blocked[0].diff

        plan, report = publish_dashboards(client, compiled, PublishOptions(root_folder=grafana.root_folder, force=True))
        assert report.ok and [i.key for i in report.items if i.outcome == "updated"] == [edited]

        # Prune with one dashboard no longer defined: exactly that one goes.
        gone = compiled[-1]
        kept = [c for c in compiled if c.uid != gone.uid]
        plan, report = publish_dashboards(client, kept, PublishOptions(root_folder=grafana.root_folder, prune=True))
        assert report.ok, [i for i in report.items if not i.ok]
        assert [(s.uid, s.action) for s in plan.dashboards if s.prune] == [(gone.uid, "delete")]
        assert client.get_dashboard(gone.uid) is None
        assert all(client.get_dashboard(c.uid) is not None for c in kept)
