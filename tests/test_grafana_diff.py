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
