"""Semantic diffs: per panel title, renames by panel id, renderers, and diffs against a git revision."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from airflow_dash.errors import UserError
from airflow_dash.grafana.diff import (
    compile_at_revision, diff_against_revision, diff_models, render_json, render_markdown, render_text,
)
from airflow_dash.grafana.model import stamp
from tests.grafana_fixtures import sample_dashboard

STUB_COMPILE = '''
import json
from dataclasses import dataclass
from pathlib import Path

@dataclass(frozen=True)
class CompiledDashboard:
    name: str
    backend: str
    uid: str
    title: str
    folder: str | None
    model: dict

def compile_dashboards(names=None, backends=None, dashboards_dir=Path("dashboards")):
    out = []
    for path in sorted(Path(dashboards_dir).glob("*.json")):
        model = json.loads(path.read_text())
        out.append(CompiledDashboard(path.stem, "prometheus", model["uid"], model["title"], None, model))
    return out
'''


def test_panel_level_sections_and_rename_by_id():
    old = sample_dashboard("p", "a").model
    new = json.loads(json.dumps(old))
    new["panels"][0]["title"] = "Running task instances"
    new["panels"][1]["fieldConfig"]["defaults"]["unit"] = "percent"
    new["refresh"] = "1m"
    d = diff_models("p-a", "A", old, new)
    assert d.status == "changed"
    assert [s.scope for s in d.sections] == ["settings", 'panel "Running tasks" -> "Running task instances"',
                                             'panel "Queued tasks"']
    assert diff_models("p-a", "A", old, json.loads(json.dumps(old))).status == "equal"
    assert diff_models("p-a", "A", None, new).status == "added"
    text = render_text([d])
    assert '-  "refresh": "30s",' in text and '+  "refresh": "1m",' in text
    markdown = render_markdown([d])
    assert "| A | `p-a` | changed |" in markdown and "```diff" in markdown
    assert json.loads(render_json([d]))["equal"] is False


def test_marker_and_server_fields_are_not_differences():
    model = sample_dashboard("p", "a").model
    live = {**stamp(model), "id": 12, "version": 7}
    assert diff_models("p-a", "A", live, stamp(model)).status == "equal"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_diff_against_a_git_revision_compiles_there(tmp_path):
    repo = tmp_path / "repo"
    (repo / "airflow_dash").mkdir(parents=True)
    (repo / "dashboards").mkdir()
    (repo / "airflow_dash" / "__init__.py").write_text("")
    (repo / "airflow_dash" / "compile.py").write_text(STUB_COMPILE)
    first = sample_dashboard("g", "overview")
    (repo / "dashboards" / "overview.json").write_text(json.dumps(first.model))
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "x", "--allow-empty")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    status_before = git(repo, "status", "--porcelain")

    old = compile_at_revision("HEAD", repo_root=repo, dashboards_dir=Path("dashboards"))
    assert [d.uid for d in old] == ["g-overview"] and old[0].model == first.model

    changed = sample_dashboard("g", "overview", expr="sum(airflow_pool_open_slots)")
    added = sample_dashboard("g", "new")
    diffs = diff_against_revision("HEAD", [changed, added], repo_root=repo, dashboards_dir=repo / "dashboards")
    assert {d.uid: d.status for d in diffs} == {"g-overview": "changed", "g-new": "added"}
    assert "airflow_pool_open_slots" in render_text(diffs)
    assert git(repo, "status", "--porcelain") == status_before  # the checkout was not touched
    assert git(repo, "worktree", "list").count("\n") == 0

    with pytest.raises(UserError, match="unknown git revision"):
        compile_at_revision("no-such-ref", repo_root=repo, dashboards_dir=Path("dashboards"))
    with pytest.raises(UserError, match="cannot compile dashboards at HEAD~1"):
        compile_at_revision("HEAD~1", repo_root=repo, dashboards_dir=Path("dashboards"))


# -- panels are paired by the stable id compile writes into each ---------------------------------------------

from airflow_dash.backends import get_backend  # noqa: E402
from airflow_dash.catalog import host  # noqa: E402
from airflow_dash.compile import compile_dashboard, panel_id_for, panel_key  # noqa: E402
from airflow_dash.dashboard import Dashboard  # noqa: E402
from airflow_dash.panels import Row, gauge, stat, timeseries  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _compiled(rows, backend="prometheus"):
    return compile_dashboard(Dashboard("ids", "Ids", rows), get_backend(backend)).model


def _all_panels(model):
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels") or []


def _changed_lines(section):
    """The changed lines of a section as "-text" / "+text" (indentation dropped)."""
    return [line[0] + line[1:].strip() for line in section.lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _base_rows(cpu_title="CPU busy", cpu_signal=host.cpu_busy, cpu_row="CPU"):
    overview = [gauge("CPU busy", host.cpu_busy, min=0, max=100), stat("Load 1m", host.load1, width=3)]
    cpu = [timeseries("Load average", host.load1, host.load5, width=8)]
    moved = timeseries(cpu_title, cpu_signal, width=8)
    rows = {"Overview": overview, "CPU": cpu, "Memory": [timeseries("Memory used", host.memory_used)]}
    rows[cpu_row] = [moved, *rows[cpu_row]]
    return [Row(title, panels) for title, panels in rows.items()]


def test_panel_ids_are_deterministic_unique_and_do_not_follow_position():
    model = _compiled(_base_rows())
    ids = [p["id"] for p in _all_panels(model)]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) and 0 < i < 2**31 for i in ids)
    assert _compiled(_base_rows()) == model  # the same definitions, the same ids
    by_title = {(p["type"], p["title"]): p["id"] for p in _all_panels(model)}
    assert by_title[("timeseries", "CPU busy")] == panel_id_for(panel_key("timeseries", "CPU busy"))
    assert by_title[("gauge", "CPU busy")] != by_title[("timeseries", "CPU busy")]
    # A panel added in front, and a move to another row, change no other panel's id (sequential ids did).
    extra = [Row("First", [stat("Uptime", host.uptime)]), *_base_rows(cpu_row="Memory")]
    again = {(p["type"], p["title"]): p["id"] for p in _all_panels(_compiled(extra))}
    assert {k: again[k] for k in by_title} == by_title
    # The same definitions on another backend: the same ids.
    flux = {(p["type"], p["title"]): p["id"] for p in _all_panels(_compiled(_base_rows(), "flux"))}
    assert flux == by_title


def test_a_rename_a_move_and_a_changed_query_in_code_are_each_exactly_that_change():
    old = _compiled(_base_rows())
    renamed = diff_models("ids", "Ids", old, _compiled(_base_rows(cpu_title="CPU busy, all cores")))
    [section] = renamed.sections
    assert section.scope == 'panel "CPU busy" -> "CPU busy, all cores" in row "CPU"'
    assert {line.split(":")[0].strip(' +-"') for line in _changed_lines(section)} == {"id", "title"}

    moved = diff_models("ids", "Ids", old, _compiled(_base_rows(cpu_row="Memory")))
    scopes = [s.scope for s in moved.sections]
    assert 'panel "CPU busy" in row "CPU" -> row "Memory"' in scopes
    # The move, and the panels that reflow around it: positions only.
    assert {line.split(":")[0].strip('+-"') for s in moved.sections for line in _changed_lines(s)} == {"x", "y"}

    changed = diff_models("ids", "Ids", old, _compiled(_base_rows(cpu_signal=host.memory_used)))
    assert [s.scope for s in changed.sections] == ['panel "CPU busy" in row "CPU"']
    assert any('"expr"' in line for line in _changed_lines(changed.sections[0]))


def test_a_keyed_panel_keeps_its_id_through_a_rename_in_code():
    before = [Row("CPU", [timeseries("CPU busy", host.cpu_busy).keyed("cpu-busy-series")])]
    after = [Row("CPU", [timeseries("Processor busy", host.cpu_busy).keyed("cpu-busy-series")])]
    [section] = diff_models("ids", "Ids", _compiled(before), _compiled(after)).sections
    assert _changed_lines(section) == ['-"title": "CPU busy",', '+"title": "Processor busy",']


@pytest.mark.parametrize(("kind", "row"), [("gauge", "Overview"), ("timeseries", "CPU")])
def test_renaming_one_of_the_two_cpu_busy_panels_in_the_ui_diffs_as_only_that_rename(grafana, kind, row):
    from airflow_dash.build import compile_dashboards
    from airflow_dash.grafana.diff import diff_against_live
    from airflow_dash.grafana.publish import PublishOptions, publish_dashboards

    [system] = compile_dashboards(names=["system"], backends=["prometheus"], dashboards_dir=REPO / "dashboards")
    busy = [p for p in _all_panels(system.model) if p["title"] == "CPU busy"]
    assert sorted(p["type"] for p in busy) == ["gauge", "timeseries"]
    with grafana.client() as client:
        assert publish_dashboards(client, [system], PublishOptions(root_folder=grafana.root_folder))[1].ok
        assert [d.status for d in diff_against_live(client, [system], grafana.root_folder)] == ["equal"]

        def rename(model):
            for panel in _all_panels(model):
                if panel["title"] == "CPU busy" and panel["type"] == kind:
                    panel["title"] = "CPU busy (all cores)"

        if grafana.emulator is not None:
            grafana.emulator.edit_dashboard_as_user(system.uid, rename)
        else:
            live = client.get_dashboard(system.uid)
            rename(live.model)
            client.save_dashboard(live.model, live.folder_uid, revision=live.revision)
        [d] = diff_against_live(client, [system], grafana.root_folder)
    assert d.status == "changed"
    [section] = d.sections
    assert section.scope == f'panel "CPU busy (all cores)" -> "CPU busy" in row "{row}"'
    assert _changed_lines(section) == ['-"title": "CPU busy (all cores)",',
                                                                   '+"title": "CPU busy",']
    text = render_text([d])
    assert len(text.splitlines()) < 15, text
    markdown = render_markdown([d])
    assert f'**panel "CPU busy (all cores)" -> "CPU busy" in row "{row}"**' in markdown
    assert len(markdown) < 1500, markdown


def test_markdown_fits_a_pr_comment_however_much_changed():
    from airflow_dash.build import compile_dashboards
    from airflow_dash.grafana.diff import MARKDOWN_LIMIT, compare

    compiled = compile_dashboards(dashboards_dir=REPO / "dashboards")
    everything = {c.uid: c.model for c in compiled}
    retitled = {uid: {**m, "panels": [{**p, "title": p["title"] + " (old)", "description": "x" * 500}
                                      for p in m["panels"]]} for uid, m in everything.items()}
    for old, new in (({}, everything), (everything, {}), (retitled, everything)):
        diffs = compare(old, new, "live", "local")
        assert all(d.status != "equal" for d in diffs) and len(diffs) == len(compiled)
        markdown = render_markdown(diffs)
        assert len(markdown) <= MARKDOWN_LIMIT
        assert markdown.count("| `") == len(compiled)  # every dashboard is in the table
        full = sum(len("".join(s.lines)) for d in diffs for s in d.sections)
        if old and new:
            assert full > MARKDOWN_LIMIT  # so the cut is exercised
            assert "run `airflow-dash diff`" in markdown or "more line(s)" in markdown
    added = render_markdown(compare({}, {compiled[0].uid: compiled[0].model}, "live", "local"))
    assert '"targets"' not in added and 'row "' in added  # an added dashboard lists its panels, not JSON


def test_diff_against_live_reads_through_the_shared_each(monkeypatch):
    """diff's live reads go through `parallel.each`, the one mechanism publish uses too: one pool, sized
    by min(concurrency, dashboards), and no thread pool of diff's own."""
    from types import SimpleNamespace

    import airflow_dash.grafana.diff as diff_module
    import airflow_dash.grafana.parallel as parallel

    pools = []
    real_pool = parallel.ThreadPoolExecutor

    class CountingPool(real_pool):
        def __init__(self, max_workers=None, *args, **kwargs):
            pools.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(parallel, "ThreadPoolExecutor", CountingPool)
    assert not hasattr(diff_module, "ThreadPoolExecutor")
    dashboards = [SimpleNamespace(uid=f"u{n}", title=f"T{n}", folder=None, backend="prometheus",
                                  model={"panels": [], "tags": []}) for n in range(3)]
    read = []
    client = SimpleNamespace(server=SimpleNamespace(schema_version=None),
                             get_dashboard=lambda uid: read.append(uid), search=lambda **kw: [])
    diffs = diff_module.diff_against_live(client, dashboards, "Airflow", concurrency=8)
    assert pools == [3] and sorted(read) == ["u0", "u1", "u2"]
    assert [d.status for d in diffs] == ["added"] * 3
