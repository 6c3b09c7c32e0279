"""What publishing reads. A first publish: one search learns which dashboards exist, so it does not read once
per dashboard, and the search still finds a uid taken anywhere (the conflict is refused before any write). A
no-op republish: each dashboard once by uid and nothing else, no write of any kind."""

from __future__ import annotations

import pytest

from airflow_dash.grafana.model import folder_uid, target_folder_path
from tests.grafana_fixtures import is_discovery, sample_dashboard
from tests.test_publish_flow import publish, writes


def _reads(emulator) -> int:
    return sum(r.method == "GET" and not is_discovery(r.path) for r in emulator.requests)


def test_a_first_publish_reads_as_much_for_thirty_dashboards_as_for_three(grafana):
    if grafana.emulator is None:
        pytest.skip("counts requests on the emulator")
    few = [sample_dashboard(grafana.prefix, f"few-{i}", "Components" if i % 2 else None) for i in range(3)]
    plan, report = publish(grafana, few)
    assert report.ok and [s.action for s in plan.dashboards] == ["create"] * 3
    grafana.emulator.reset_requests()
    many = [sample_dashboard(grafana.prefix, f"many-{i}", "Components" if i % 2 else None) for i in range(30)]
    plan, report = publish(grafana, many)
    assert report.ok and [s.action for s in plan.dashboards] == ["create"] * 30
    reads_for_many = _reads(grafana.emulator)
    grafana.emulator.reset_requests()
    again = [sample_dashboard(grafana.prefix, f"again-{i}", "Components" if i % 2 else None) for i in range(3)]
    plan, report = publish(grafana, again)
    assert report.ok
    # Same folders, a different number of new dashboards: the same reads (folders + one search page).
    assert reads_for_many == _reads(grafana.emulator)
    assert reads_for_many <= 4, reads_for_many


def test_a_uid_taken_in_an_unrelated_folder_is_still_a_conflict_before_any_write(grafana):
    if grafana.emulator is None:
        pytest.skip("seeds an unmanaged dashboard directly")
    ours = [sample_dashboard(grafana.prefix, "overview"), sample_dashboard(grafana.prefix, "workers")]
    grafana.emulator.add_folder("elsewhere", "Someone else's")
    grafana.emulator.add_dashboard({"uid": ours[1].uid, "title": "Not ours", "panels": []}, "elsewhere")
    grafana.emulator.reset_requests()
    plan, report = publish(grafana, ours)
    assert [s.action for s in plan.dashboards] == ["create", "conflict"]
    assert not report.ok and writes(grafana.emulator) == []
    assert grafana.emulator.dashboard(ours[1].uid)["title"] == "Not ours"


def _writes(emulator) -> list:
    return [r for r in emulator.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def test_a_no_op_republish_reads_each_dashboard_once_and_writes_nothing(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i:02d}", ("Team A", "Team B", None)[i % 3]) for i in range(30)]
    plan, report = publish(grafana, dashboards)
    assert report.ok and {s.action for s in plan.dashboards} == {"create"}
    emulator.reset_requests()
    plan, report = publish(grafana, dashboards)
    assert report.ok and {s.action for s in plan.dashboards} == {"unchanged"}
    assert all(f.exists for f in plan.folders) and plan.write_count == 0
    log = [r for r in emulator.requests if not is_discovery(r.path)]
    assert _writes(emulator) == []  # no write of any kind: folders, dashboards
    # N reads: each dashboard by uid, nothing else (no search, no folder read: the dashboards are in them).
    assert sorted(r.path for r in log) == sorted(grafana.dashboard_read_prefix + d.uid for d in dashboards)

    # The same reads still catch a UI edit, and nothing is written.
    emulator.edit_dashboard_as_user(dashboards[7].uid, lambda m: m.update(description="edited in the UI"))
    emulator.reset_requests()
    plan, report = publish(grafana, dashboards)
    assert [s.uid for s in plan.blocked] == [dashboards[7].uid] and _writes(emulator) == []
    assert _reads(emulator) == len(dashboards)


def test_a_republish_with_a_new_folder_reads_only_that_folder(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i}", "Team A" if i % 2 else None) for i in range(4)]
    publish(grafana, dashboards)
    added = sample_dashboard(grafana.prefix, "new", "Team C")
    emulator.reset_requests()
    plan, report = publish(grafana, [*dashboards, added])
    assert report.ok, report
    assert [s.action for s in plan.dashboards] == ["unchanged"] * 4 + ["create"]
    new_folder = folder_uid(target_folder_path(grafana.root_folder, "Team C"))
    assert [f.uid for f in plan.folders if not f.exists] == [new_folder]
    folder_reads = [r.path for r in emulator.requests if r.method == "GET" and r.path.startswith(grafana.folders_path)]
    assert folder_reads == [f"{grafana.folders_path}/{new_folder}"]
    assert emulator.dashboard(added.uid) is not None


def test_a_deleted_folder_is_recreated_although_its_parent_is_inferred(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, "a", "Team A"), sample_dashboard(grafana.prefix, "b", "Team B")]
    publish(grafana, dashboards)
    grafana.client().delete_folder(folder_uid(target_folder_path(grafana.root_folder, "Team B")))
    plan, report = publish(grafana, dashboards)
    assert report.ok, report
    assert [s.action for s in plan.dashboards] == ["unchanged", "create"]
    assert [f.label for f in plan.folders if not f.exists] == [f"{grafana.root_folder}/Team B"]
    assert emulator.dashboard(dashboards[1].uid) is not None


def test_one_pool_of_connections_sized_to_the_concurrency_serves_every_thread(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"c{i:02d}", "Team" if i % 2 else None) for i in range(40)]
    with grafana.client() as client:
        opened = emulator.connections_opened
        plan, report = publish(grafana, dashboards, client=client, concurrency=4)
        assert report.ok, report
        plan, report = publish(grafana, dashboards, client=client, concurrency=4)
        assert report.ok and {s.action for s in plan.dashboards} == {"unchanged"}
        # Planning and writing, twice, on fresh worker threads each time: the same keep-alive connections.
        assert emulator.connections_opened - opened <= 4, emulator.connections_opened - opened
