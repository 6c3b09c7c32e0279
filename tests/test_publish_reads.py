"""What publishing reads: one search learns which dashboards exist, so a first publish does not read once per
dashboard, and the search still finds a uid taken anywhere (the conflict is refused before any write)."""

from __future__ import annotations

import pytest

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
