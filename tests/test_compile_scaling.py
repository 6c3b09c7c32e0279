"""Compiling N dashboards costs N times one: no per-dashboard copy of everything compiled alongside, and no
cyclic collector walking the growing result again and again (compile runs with it paused, so it must create
no cyclic garbage). Counted, not timed: shared machines are too noisy for timing assertions in tests."""

from __future__ import annotations

import gc
from collections import ChainMap
from pathlib import Path

from airflow_dash import compile as compile_module
from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import host
from airflow_dash.catalog.dimensions import HOST
from airflow_dash.compile import compile_all
from airflow_dash.dashboard import Dashboard, DashboardLink, DimensionVariable
from airflow_dash.discovery import DashboardSource
from airflow_dash.panels import Row, stat, timeseries


def generated(count: int) -> list[Dashboard]:
    return [
        Dashboard(key=f"gen-{i}", title=f"Generated {i}", variables=[DimensionVariable(HOST)],
                  links=[DashboardLink("Next", f"gen-{(i + 1) % count}"), DashboardLink("Host", "system")],
                  rows=[Row("Now", [stat("CPU", host.cpu_busy), timeseries("Memory", host.memory_used)])])
        for i in range(count)
    ]


def test_compile_leaves_no_cyclic_garbage_on_bundled_and_generated_dashboards():
    dashboards = DashboardSource().load() + generated(20)
    compile_all(dashboards)  # first use imports and caches whatever it needs
    gc.collect()
    gc.disable()
    try:
        compiled = compile_all(dashboards)
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert len(compiled) == len(dashboards) * len(BACKENDS)


def test_compile_pauses_the_cyclic_collector_and_restores_its_state(monkeypatch):
    seen = []
    real = compile_module.compile_dashboard
    monkeypatch.setattr(compile_module, "compile_dashboard", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    assert gc.isenabled()
    compile_all(generated(3), ["prometheus"])
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        compile_all(generated(2), ["prometheus"])
        assert not gc.isenabled()  # a caller that paused it keeps it paused
    finally:
        gc.enable()


def test_each_dashboard_sees_the_shared_uids_and_link_targets_not_copies(monkeypatch):
    """A copy per dashboard of the N uids and N definitions made compiling N dashboards quadratic."""
    calls = []
    real = compile_module._Compilation

    def spy(dashboard, backend, uids, *args, **kwargs):
        calls.append((uids, kwargs["linked"]))
        return real(dashboard, backend, uids, *args, **kwargs)

    monkeypatch.setattr(compile_module, "_Compilation", spy)
    compiled = compile_all(generated(50), ["prometheus"])
    assert len(calls) == 50
    shared_uids = calls[0][0].maps[1]
    for uids, linked in calls:
        assert isinstance(uids, ChainMap) and uids.maps[1] is shared_uids and len(uids.maps[0]) <= 2
        assert linked is calls[0][1] and len(linked) == 50
    # and links still resolve: to the next generated dashboard, and to the bundled one outside the set
    links = {link["title"]: link["url"] for link in compiled[0].model["links"]}
    assert links == {"Next": "/d/airflow-dash-gen-1-prom", "Host": "/d/airflow-dash-system-prom"}


def test_a_build_runs_with_the_cyclic_collector_paused_and_resumes_it(tmp_path, monkeypatch):
    """build_all (imports, loading, compile, checks, writing) makes almost no cyclic garbage: the collector,
    which would walk every object made so far some 50 times in a cold build, is paused for all of it."""
    from airflow_dash import build as build_module

    monkeypatch.setenv("AIRFLOW_DASH_CHECK_CACHE", str(tmp_path / "cache"))
    seen = []
    for name in ("compile_dashboards", "compile_alert_rules", "write_dashboards", "write_alerts"):
        real = getattr(build_module, name)
        monkeypatch.setattr(build_module, name,
                            lambda *a, real=real, name=name, **k: seen.append((name, gc.isenabled())) or real(*a, **k))
    root = Path(__file__).resolve().parent.parent
    assert gc.isenabled()
    result = build_module.build_all(out=tmp_path / "out", alerts_dir=root / "alerts", validate=False, cache=False,
                                    dashboards_dir=DashboardSource(root / "dashboards", bundled=False))
    assert len(result.dashboards) > 10 and len(result.alerts) == 3
    assert seen == [("compile_dashboards", False), ("compile_alert_rules", False), ("write_dashboards", False),
                    ("write_alerts", False)]
    assert gc.isenabled()


def test_resuming_the_collector_leaves_no_young_objects_to_walk_and_keeps_others_frozen():
    """What was made while the collector paused goes to the oldest generation: the first allocation after
    resuming would otherwise walk all of it. Objects someone else froze stay frozen."""
    gc.collect()
    compiled = compile_all(generated(400), ["prometheus"])  # kept: tens of thousands of tracked objects
    young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))
    made = sum(1 for dashboard in compiled for _ in _containers(dashboard.model))
    assert made > 20_000 and young < made / 10  # a collection on resuming moves them all to generation 1
    frozen = [object() for _ in range(10)]
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        compile_all(generated(5), ["prometheus"])
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
    assert frozen


def _containers(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _containers(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from _containers(item)
