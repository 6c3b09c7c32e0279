"""Grafana 12/13 manager annotations (docs/grafana-versions.md, "Manager annotations: not set, on purpose"):
publish never sets them, so UI saves stay possible, and a dashboard another tool manages without allowing
edits is refused, saying who manages it, never overwritten."""

from __future__ import annotations

from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards
from airflow_dash.testing.grafana_emulator import GrafanaEmulator
from tests.grafana_fixtures import sample_dashboard

PATH = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
WRITES = ("POST", "PUT", "DELETE", "PATCH")


def test_publish_sets_no_manager_annotation_and_refuses_what_another_tool_manages():
    ours = sample_dashboard("mgr", "overview")
    with GrafanaEmulator(flavor="grafana13") as emulator:
        client = GrafanaClient(emulator.url, token=emulator.admin_token)
        assert publish_dashboards(client, [ours], PublishOptions(root_folder="Airflow"))[1].ok
        _, stored = client.request("GET", f"{PATH}/{ours.uid}", what="reading")
        annotations = stored["metadata"]["annotations"]
        assert not [k for k in annotations if k.startswith("grafana.app/manage")], annotations

        # Another tool takes it over (terraform, edits not allowed), changing nothing else.
        stored["metadata"]["annotations"] = {**annotations, "grafana.app/managedBy": "terraform",
                                             "grafana.app/managerId": "prod-stack"}
        client.request("PUT", f"{PATH}/{ours.uid}", what="taking over", json=stored)
        changed = sample_dashboard("mgr", "overview", panel_titles=("Running tasks", "Queued tasks", "New"))
        emulator.reset_requests()
        plan, report = publish_dashboards(client, [changed], PublishOptions(root_folder="Airflow"))
        assert [r for r in emulator.requests if r.method in WRITES] == []
    [step] = plan.blocked
    assert step.action == "conflict" and "managed in Grafana by terraform" in step.reason
    assert "provisioned" not in step.reason
    assert not report.ok
