"""Publishing through the library against the emulator (or a real Grafana via GRAFANA_URL/GRAFANA_TOKEN)."""

from __future__ import annotations

import time

import pytest

from airflow_dash.grafana.model import MANAGED_TAG, MARKER_KEY, content_hash, folder_uid, target_folder_path
from airflow_dash.grafana.publish import PublishOptions, publish_dashboards
from tests.grafana_fixtures import is_discovery, sample_dashboard

WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")


def tree(prefix: str):
    return [sample_dashboard(prefix, "overview"),
            sample_dashboard(prefix, "scheduler", "Components"),
            sample_dashboard(prefix, "workers", "Components")]


def writes(emulator) -> list:
    return [r for r in emulator.requests if r.method in WRITE_METHODS]


def counts(emulator) -> dict:
    """Requests by kind, without the one-off discovery of what the server is (/api/health, /apis/<group>)."""
    log = [r for r in emulator.requests if not is_discovery(r.path)]
    return {"total": len(log), "reads": sum(r.method == "GET" for r in log),
            "writes": sum(r.method in WRITE_METHODS for r in log)}


def publish(target, dashboards, client=None, **options):
    client = client or target.client()
    return publish_dashboards(client, dashboards, PublishOptions(root_folder=target.root_folder, **options))


def test_first_publish_creates_everything_and_second_writes_nothing(grafana):
    dashboards = tree(grafana.prefix)
    plan, report = publish(grafana, dashboards)
    assert report.ok, report
    assert [s.action for s in plan.dashboards] == ["create"] * 3
    first = counts(grafana.emulator) if grafana.emulator is not None else None
    client = grafana.client()
    for d in dashboards:
        live = client.get_dashboard(d.uid)
        assert live is not None and live.version == 1
        assert MANAGED_TAG in live.model["tags"]
        assert live.model[MARKER_KEY]["contentHash"] == content_hash(live.model)
        assert live.folder_uid == folder_uid(target_folder_path(grafana.root_folder, d.folder))
    components = client.get_folder(folder_uid(target_folder_path(grafana.root_folder, "Components")))
    assert components["title"] == "Components"
    assert components.get("parentUid") == folder_uid((grafana.root_folder,))  # nested, not flattened
    if grafana.emulator is not None:
        # The first dashboard's read (404: a first publish), one search (no other dashboard exists: none is
        # read), 2 folder reads; 2 folder creates + 3 saves.
        assert first == {"total": 9, "reads": 4, "writes": 5}, first
        grafana.emulator.reset_requests()

    plan, report = publish(grafana, dashboards)
    assert report.ok
    assert {s.action for s in plan.dashboards} == {"unchanged"}
    assert plan.write_count == 0
    if grafana.emulator is not None:
        assert writes(grafana.emulator) == []
        # One read per dashboard and nothing else: the folders they are in exist, no search is needed.
        assert counts(grafana.emulator) == {"total": 3, "reads": 3, "writes": 0}
    assert all(client.get_dashboard(d.uid).version == 1 for d in dashboards)


def test_changed_dashboard_is_updated_with_the_version_read(grafana):
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards)
    changed = sample_dashboard(grafana.prefix, "overview", expr="sum(airflow_pool_open_slots)")
    plan, report = publish(grafana, [changed, *dashboards[1:]])
    assert report.ok
    assert [s.action for s in plan.dashboards] == ["update", "unchanged", "unchanged"]
    live = grafana.client().get_dashboard(changed.uid)
    assert live.version == 2
    assert "airflow_pool_open_slots" in live.model["panels"][0]["targets"][0]["expr"]


def test_ui_edit_is_refused_with_a_diff_then_force_overwrites(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards)
    uid = dashboards[0].uid
    emulator.edit_dashboard_as_user(uid, lambda m: m["panels"][0].update(title="Edited in the UI"))
    emulator.reset_requests()

    plan, report = publish(grafana, dashboards)
    assert not report.ok
    [blocked] = plan.blocked
    assert blocked.uid == uid and blocked.action == "drifted"
    assert "Edited in the UI" in blocked.diff and '"title": "Running tasks"' in blocked.diff
    assert writes(emulator) == []  # refused before any write, for every dashboard
    assert emulator.dashboard(uid)["panels"][0]["title"] == "Edited in the UI"

    plan, report = publish(grafana, dashboards, force=True)
    assert report.ok, report
    live = emulator.dashboard(uid)
    assert live["panels"][0]["title"] == "Running tasks" and live["version"] == 3
    assert [grafana.is_dashboard_write(r) for r in writes(emulator)] == [True]  # only the drifted one


def test_concurrent_change_between_read_and_write_is_a_conflict_not_an_overwrite(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards)
    changed = [sample_dashboard(grafana.prefix, "overview", expr="sum(airflow_pool_open_slots)"), *dashboards[1:]]
    emulator.on_next_dashboard_write(
        lambda: emulator.edit_dashboard_as_user(changed[0].uid, lambda m: m.update(description="colleague's edit")))

    plan, report = publish(grafana, changed)
    assert [s.action for s in plan.dashboards] == ["update", "unchanged", "unchanged"]
    [item] = [i for i in report.items if i.key == changed[0].uid]
    assert item.outcome == "conflict" and "changed in Grafana" in item.detail
    assert not report.ok
    live = emulator.dashboard(changed[0].uid)
    assert live["description"] == "colleague's edit"  # their change survived
    assert "airflow_pool_open_slots" not in str(live)


def test_prune_deletes_only_managed_dashboards_that_are_gone_locally(grafana):
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards)
    client = grafana.client()
    root_uid = folder_uid((grafana.root_folder,))
    # An unmanaged dashboard in the same folder, with the same title prefix and the same airflow tag.
    unmanaged = {"uid": f"{grafana.prefix}-handmade", "title": f"{grafana.prefix} Handmade", "tags": ["airflow"],
                 "panels": [], "schemaVersion": 41}
    client.save_dashboard(unmanaged, folder_uid=root_uid)
    # An unmanaged one that even copies our marker key but not the tag.
    copied = {**dashboards[0].model, "uid": f"{grafana.prefix}-copy", "title": f"{grafana.prefix} Copy",
              MARKER_KEY: {"contentHash": "sha256:0"}}
    client.save_dashboard(copied, folder_uid=root_uid)

    plan, report = publish(grafana, dashboards[1:], prune=True)
    assert report.ok, report
    deletes = [s for s in plan.dashboards if s.prune]
    assert [s.uid for s in deletes] == [dashboards[0].uid]
    assert client.get_dashboard(dashboards[0].uid) is None
    assert client.get_dashboard(unmanaged["uid"]) is not None
    assert client.get_dashboard(copied["uid"]) is not None


def test_prune_refuses_a_managed_dashboard_edited_in_grafana(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards)
    emulator.edit_dashboard_as_user(dashboards[0].uid, lambda m: m.update(description="keep me"))
    plan, report = publish(grafana, dashboards[1:], prune=True)
    assert not report.ok and [s.uid for s in plan.blocked] == [dashboards[0].uid]
    assert emulator.dashboard(dashboards[0].uid) is not None


def test_dry_run_writes_nothing(grafana):
    dashboards = tree(grafana.prefix)
    plan, report = publish(grafana, dashboards, dry_run=True)
    assert report.dry_run and {i.outcome for i in report.items if i.kind == "dashboard"} == {"would create"}
    client = grafana.client()
    assert all(client.get_dashboard(d.uid) is None for d in dashboards)
    assert client.get_folder(folder_uid((grafana.root_folder,))) is None


def test_503_burst_is_retried_and_every_dashboard_lands_once(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    emulator.faults.fail_next(3, 503, path_prefix=grafana.dashboard_write_prefix, method="POST")
    plan, report = publish(grafana, dashboards, concurrency=1)
    assert report.ok, report
    saves = [r for r in emulator.requests if grafana.is_dashboard_write(r)]
    assert [r.status for r in saves].count(503) == 3
    assert [r.status for r in saves].count(grafana.created_status) == 3
    for d in dashboards:
        assert emulator.dashboard(d.uid)["version"] == 1
        assert len(emulator.dashboard_versions(d.uid)) == 1
    hits = grafana.client().search(tags=[MANAGED_TAG])
    assert sorted(h["uid"] for h in hits) == sorted(d.uid for d in dashboards)


def test_lost_response_after_apply_is_confirmed_by_re_reading(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)[:1]
    # The save is applied but the connection drops before the answer: the client retries the POST,
    # Grafana answers 412 (our version is now stale) and publish re-reads to confirm it was ours.
    emulator.faults.drop_next(1, path_prefix=grafana.dashboard_write_prefix, method="POST", after_apply=True)
    plan, report = publish(grafana, dashboards)
    assert report.ok, report
    [item] = [i for i in report.items if i.kind == "dashboard"]
    assert item.outcome == "created" and "confirmed" in item.detail
    assert emulator.dashboard(dashboards[0].uid)["version"] == 1


def test_persistent_fault_reports_what_was_and_was_not_published(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    publish(grafana, dashboards[:1])  # the root folder and one dashboard exist already
    emulator.faults.fail_always(500, path_prefix=grafana.dashboard_write_prefix, method="POST")
    emulator.faults.fail_always(500, path_prefix=grafana.dashboard_write_prefix, method="PUT")
    changed = [sample_dashboard(grafana.prefix, "overview", expr="sum(x)"), *dashboards[1:]]
    plan, report = publish(grafana, changed)
    assert not report.ok
    outcomes = {i.key: i.outcome for i in report.items}
    assert {outcomes[d.uid] for d in changed} == {"failed"}
    assert all("HTTP 500" in i.detail for i in report.items if i.outcome == "failed")
    # The Components folder was created for nothing: removed again, and the report says so.
    components = folder_uid(target_folder_path(grafana.root_folder, "Components"))
    assert outcomes[components] == "removed"
    assert emulator.folder(components) is None
    assert emulator.folder(folder_uid((grafana.root_folder,))) is not None  # existed before: kept
    assert emulator.dashboard(dashboards[0].uid)["version"] == 1  # untouched


def test_unreachable_grafana_stops_and_reports_everything_as_not_published(grafana):
    emulator = grafana.require_emulator()
    dashboards = tree(grafana.prefix)
    client = grafana.client(retries=1)
    plan, _ = publish(grafana, dashboards, client=client, dry_run=True)
    emulator.stop()
    from airflow_dash.grafana.publish import apply_plan

    report = apply_plan(client, plan)
    assert not report.ok
    assert {i.outcome for i in report.items} <= {"failed", "not attempted"}
    assert any("cannot reach Grafana at 127.0.0.1" in i.detail for i in report.items)


def test_concurrency_overlaps_requests(grafana):
    emulator = grafana.require_emulator()
    dashboards = [sample_dashboard(grafana.prefix, f"d{i}") for i in range(12)]
    emulator.faults.latency = 0.1
    started = time.monotonic()
    plan, report = publish(grafana, dashboards, concurrency=6)
    elapsed = time.monotonic() - started
    assert report.ok
    assert len([r for r in emulator.requests if grafana.is_dashboard_write(r)]) == 12
    # 26 requests at 0.1 s each would take 2.6 s one after another.
    assert elapsed < 1.6, elapsed


def test_two_dashboards_with_one_uid_are_refused_before_any_request(grafana):
    from airflow_dash.errors import UserError

    a = sample_dashboard(grafana.prefix, "same")
    with pytest.raises(UserError, match="share uid"):
        publish(grafana, [a, a])


def test_foreign_dashboard_with_our_uid_is_a_conflict(grafana):
    dashboards = tree(grafana.prefix)[:1]
    client = grafana.client()
    client.ensure_folder(folder_uid((grafana.root_folder,)), grafana.root_folder)
    client.save_dashboard({"uid": dashboards[0].uid, "title": "Somebody else's", "panels": []},
                          folder_uid=folder_uid((grafana.root_folder,)))
    plan, report = publish(grafana, dashboards)
    assert [s.action for s in plan.blocked] == ["conflict"] and not report.ok
    assert client.get_dashboard(dashboards[0].uid).model["title"] == "Somebody else's"


def test_one_publish_builds_its_connection_pool_once_and_apply_alone_still_sizes_it(grafana, monkeypatch):
    """plan_publish and apply_plan each make room for their `concurrency` (either may be called alone, as
    `publish --datasources-only` calls apply_plan), but within one publish the pool is sized, and built,
    once: the second `use_concurrency` finds it big enough and keeps the warm connections."""
    from airflow_dash.grafana.client import GrafanaClient
    from airflow_dash.grafana.publish import apply_plan, plan_publish

    built: list[int] = []
    real_new_pool = GrafanaClient._new_pool

    def counting_new_pool(self):
        built.append(self.pool_size)
        return real_new_pool(self)

    monkeypatch.setattr(GrafanaClient, "_new_pool", counting_new_pool)
    with grafana.client() as client:
        client.server  # discovery builds the first (default-sized) pool
        built.clear()
        wanted = client.pool_size + 2
        plan, report = publish(grafana, tree(grafana.prefix), client=client, concurrency=wanted)
        assert report.ok, report
        assert built == [wanted], built
    with grafana.client() as fresh:
        fresh.server
        wanted = fresh.pool_size + 3
        apply_plan(fresh, plan_publish(fresh, [], root_folder=grafana.root_folder), concurrency=wanted)
        assert fresh.pool_size == wanted
