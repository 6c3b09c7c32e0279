"""Semantic diffs between dashboard models: canonical JSON, per dashboard, per panel (paired by its stable id).

Sources compared: compiled dashboards vs live Grafana (`diff_against_live`), or vs the dashboards compiled
from another git revision (`compile_at_revision`). Renderers: coloured unified text, Markdown for PR
comments, JSON for tools.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from airflow_dash.errors import UserError
from airflow_dash.grafana.model import DashboardLike, desired_model, normalize, pretty_json

if TYPE_CHECKING:  # `diff --against REF` never talks to Grafana
    from airflow_dash.grafana.client import GrafanaClient


@dataclass(frozen=True)
class SectionDiff:
    """The unified diff of one part of a dashboard: its settings, one panel, or its folder."""

    scope: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class DashboardDiff:
    """status: "equal", "changed", "added" (only in the new side) or "removed" (only in the old side)."""

    uid: str
    title: str
    status: str
    sections: tuple[SectionDiff, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "title": self.title, "status": self.status,
                "sections": [{"scope": s.scope, "diff": "".join(s.lines)} for s in self.sections]}


@dataclass(frozen=True)
class _Part:
    """One comparable part of a dashboard: its settings, its folder, a row or a panel."""

    category: str  # "settings", "folder", "row" or "panel"
    part: Any
    panel_id: Any = None
    title: str = ""
    row: str | None = None  # the row a panel sits in, as a reviewer sees it (None: above every row)

    @property
    def name(self) -> str:
        if self.category in ("settings", "folder"):
            return self.category
        if self.category == "row":
            return f'row "{self.title}"'
        return f'panel "{self.title}"' + (f' in row "{self.row}"' if self.row else "")

    def comparable(self) -> str:
        """The part without what names it (title, id): equal for a pure rename."""
        if not isinstance(self.part, Mapping):
            return pretty_json(self.part)
        return pretty_json({k: v for k, v in self.part.items() if k not in ("title", "id")})


def _sections(model: Mapping[str, Any] | None) -> list[_Part]:
    """Split a model into comparable parts: "settings" (all but panels), then every row and panel (rows'
    collapsed children included), each with its id, title and row, in dashboard order."""
    if model is None:
        return []
    clean = normalize(model, drop_marker=True)
    panels = clean.pop("panels", None) or []
    parts = [_Part("settings", clean)]

    def add(panel: Mapping[str, Any], row: str | None) -> None:
        panel = dict(panel)
        children = panel.pop("panels", None) if panel.get("type") == "row" else None
        title = str(panel.get("title") or f"#{panel.get('id', '?')}")
        if children is not None:
            panel["panels"] = [c.get("title") or c.get("id") for c in children if isinstance(c, Mapping)]
        category = "row" if panel.get("type") == "row" else "panel"
        parts.append(_Part(category, panel, panel.get("id"), title, None if category == "row" else row))
        for child in children or []:
            if isinstance(child, Mapping):
                add(child, title)

    current_row: str | None = None
    for panel in panels:
        if isinstance(panel, dict):
            if panel.get("type") == "row":
                current_row = str(panel.get("title") or f"#{panel.get('id', '?')}")
            add(panel, current_row)
    return parts


def _pair(old_parts: list[_Part], new_parts: list[_Part]) -> list[tuple[str, Any, Any]]:
    """(scope, old part, new part), pairing rows and panels by the stable id compile writes into each
    (airflow_dash.compile.panel_ids), so a rename, a move or a changed query is that change and nothing else.
    Parts without a common id (a dashboard published before ids were stable, panels added in the UI) are
    paired next by content apart from title and id (a rename), then by title in order (a change in place)."""
    pairs: list[tuple[_Part | None, _Part | None]] = []
    old_left = list(old_parts)
    new_left: list[_Part] = []

    def take(match: _Part) -> None:
        old_left[:] = [o for o in old_left if o is not match]

    def unique_ids(parts: list[_Part]) -> dict[tuple[str, Any], _Part]:
        counts: dict[tuple[str, Any], int] = {}
        for part in parts:
            if isinstance(part.panel_id, int) and not isinstance(part.panel_id, bool):
                counts[(part.category, part.panel_id)] = counts.get((part.category, part.panel_id), 0) + 1
        return {(p.category, p.panel_id): p for p in parts if counts.get((p.category, p.panel_id)) == 1}

    old_by_id = unique_ids(old_parts)
    new_by_id = unique_ids(new_parts)
    for part in new_parts:
        if part.category in ("settings", "folder"):
            match = next((o for o in old_left if o.category == part.category), None)
        else:
            key = (part.category, part.panel_id)
            match = old_by_id.get(key) if key in new_by_id else None
        if match is not None and any(o is match for o in old_left):
            take(match)
            pairs.append((match, part))
        else:
            new_left.append(part)
    def renamed(o: _Part, n: _Part) -> bool:
        return o.comparable() == n.comparable()

    def same_title(o: _Part, n: _Part) -> bool:
        return o.title == n.title

    for same in (renamed, same_title):
        still: list[_Part] = []
        for part in new_left:
            match = next((o for o in old_left if o.category == part.category and same(o, part)), None)
            if match is None:
                still.append(part)
            else:
                take(match)
                pairs.append((match, part))
        new_left = still
    pairs += [(None, part) for part in new_left] + [(part, None) for part in old_left]

    order = {id(part): n for n, part in enumerate(new_parts)}
    old_order = {id(part): n for n, part in enumerate(old_parts)}
    pairs.sort(key=lambda pair: (order.get(id(pair[1]), len(order)), old_order.get(id(pair[0]), 0)))
    result = []
    for old, new in pairs:
        if old is not None and new is not None:
            scope = _paired_name(old, new)
            result.append((scope, old.part, new.part))
        elif new is not None:
            result.append((new.name, _MISSING, new.part))
        elif old is not None:
            result.append((old.name, old.part, _MISSING))
    return result


_MISSING = object()


def _paired_name(old: _Part, new: _Part) -> str:
    """'panel "A" in row "R"', or what changed in how a reviewer finds it: '"A" -> "B" in row "R"' (renamed),
    'in row "R" -> row "S"' (moved), or both."""
    if old.name == new.name:
        return old.name
    if old.category != "panel" or old.row == new.row:
        where = f' in row "{new.row}"' if old.category == "panel" and new.row else ""
        return f'{old.category} "{old.title}" -> "{new.title}"{where}'
    if old.title == new.title:
        return f'{old.name} -> ' + (f'row "{new.row}"' if new.row else "above every row")
    return f'{old.name} -> "{new.title}"' + (f' in row "{new.row}"' if new.row else "")


def diff_models(uid: str, title: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                old_label: str = "old", new_label: str = "new", old_folder: str | None = None,
                new_folder: str | None = None) -> DashboardDiff:
    """Per-section unified diff of two models (either may be None: added/removed)."""
    if old is None and new is None:
        return DashboardDiff(uid, title, "equal")
    old_parts, new_parts = _sections(old), _sections(new)
    if old_folder != new_folder and old is not None and new is not None:
        old_parts.append(_Part("folder", old_folder))
        new_parts.append(_Part("folder", new_folder))
    sections = []
    for scope, before_part, after_part in _pair(old_parts, new_parts):
        before = "" if before_part is _MISSING else pretty_json(before_part)
        after = "" if after_part is _MISSING else pretty_json(after_part)
        if before == after:
            continue
        lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                     fromfile=f"{old_label}/{uid}: {scope}", tofile=f"{new_label}/{uid}: {scope}",
                                     n=3)
        sections.append(SectionDiff(scope, tuple(line if line.endswith("\n") else line + "\n" for line in lines)))
    status = "added" if old is None else "removed" if new is None else ("changed" if sections else "equal")
    return DashboardDiff(uid, title, status, tuple(sections))


def compare(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]], old_label: str,
            new_label: str, titles: Mapping[str, str] | None = None,
            folders: tuple[Mapping[str, str | None], Mapping[str, str | None]] | None = None) -> list[DashboardDiff]:
    """Diff two {uid: model} maps, sorted by uid."""
    titles = titles or {}
    old_folders, new_folders = folders or ({}, {})
    result = []
    for uid in sorted(set(old) | set(new)):
        title = titles.get(uid) or (new.get(uid) or old.get(uid) or {}).get("title", uid)
        result.append(diff_models(uid, title, old.get(uid), new.get(uid), old_label, new_label,
                                  old_folders.get(uid), new_folders.get(uid)))
    return result


# -- renderers ----------------------------------------------------------------------------------------------

_COLOURS = {"+": "green", "-": "red", "@": "cyan"}


def render_text(diffs: Iterable[DashboardDiff], color: bool = False) -> str:
    import click

    out = []
    for d in diffs:
        if d.status == "equal":
            continue
        out.append(click.style(f"== {d.title} ({d.uid}): {d.status}\n", bold=True) if color
                   else f"== {d.title} ({d.uid}): {d.status}\n")
        for section in d.sections:
            for line in section.lines:
                colour = _COLOURS.get(line[:1]) if not line.startswith(("+++", "---")) else None
                out.append(click.style(line, fg=colour) if color and colour else line)
    return "".join(out)


# A GitHub comment holds at most 65,536 characters; leave room for the heading a workflow adds.
MARKDOWN_LIMIT = 60_000
MARKDOWN_SECTION_LINES = 40  # diff lines shown per panel; the rest is counted, not shown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diffs: Iterable[DashboardDiff], heading: str = "Dashboard changes",
                    limit: int = MARKDOWN_LIMIT) -> str:
    """One PR comment: a table of changed dashboards, then per dashboard the panels that changed, named as a
    reviewer finds them (title and row), each with its diff cut at MARKDOWN_SECTION_LINES lines. An added or
    removed dashboard lists its panels instead of their JSON. Never longer than `limit` characters: what does
    not fit is counted and left to `airflow-dash diff`."""
    diffs = list(diffs)
    changed = [d for d in diffs if d.status != "equal"]
    out = [f"### {heading}\n\n"]
    if not changed:
        out.append(f"No changes ({len(diffs)} dashboards compared).\n")
        return "".join(out)
    out.append("| dashboard | uid | change |\n|---|---|---|\n")
    out += [f"| {_cell(d.title)} | `{d.uid}` | {d.status} |\n" for d in changed]
    budget = limit - sum(map(len, out)) - 200  # room for the closing note
    for n, d in enumerate(changed):
        block = [f"\n<details><summary>{_cell(d.title)} (<code>{d.uid}</code>): {d.status}</summary>\n\n"]
        if d.status in ("added", "removed"):
            names = [s.scope for s in d.sections if s.scope not in ("settings", "folder")]
            block.append(f"{len(names)} row(s) and panel(s): " + ", ".join(names[:50])
                         + (f", and {len(names) - 50} more" if len(names) > 50 else "") + "\n\n")
        for section in d.sections if d.status == "changed" else ():
            lines = list(section.lines)
            shown = "".join(lines[:MARKDOWN_SECTION_LINES])
            rest = f"\n_{len(lines) - MARKDOWN_SECTION_LINES} more line(s)_\n" if len(lines) > MARKDOWN_SECTION_LINES else ""
            block.append(f"**{section.scope}**\n\n```diff\n{shown}```\n{rest}\n")
        block.append("</details>\n")
        text = "".join(block)
        if len(text) > budget:
            left = len(changed) - n
            out.append(f"\n_{left} dashboard(s) not shown in full to keep this comment under {limit:,} characters: "
                       "run `airflow-dash diff` to see every change._\n")
            break
        out.append(text)
        budget -= len(text)
    return "".join(out)


def render_json(diffs: Iterable[DashboardDiff]) -> str:
    diffs = list(diffs)
    document = {"equal": all(d.status == "equal" for d in diffs), "dashboards": [d.to_dict() for d in diffs]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# -- sources ------------------------------------------------------------------------------------------------

def diff_against_live(client: GrafanaClient, dashboards: list[DashboardLike], root_folder: str,
                      concurrency: int = 4, defined_locally: Iterable[str] = ()) -> list[DashboardDiff]:
    """Compiled (as they would be published) vs live. Managed dashboards in the target folders that no local
    definition produces show as "removed" (what `publish --prune` would delete); `defined_locally` holds the
    uids of local dashboards that are not being compared (another backend or name), which are never shown."""
    from airflow_dash.grafana.model import MANAGED_TAG, folder_uid, target_folder_path

    schema_version = client.server.schema_version if dashboards else None
    ours = {d.uid: desired_model(d, schema_version) for d in dashboards}  # exactly what publish would store
    ours_folder = {d.uid: folder_uid(target_folder_path(root_folder, d.folder)) for d in dashboards}
    from airflow_dash.grafana.parallel import each

    lives = dict(zip(ours, each(client.get_dashboard, list(ours), concurrency)))  # read as publish reads
    live_models = {uid: live.model for uid, live in lives.items() if live is not None}
    live_folders = {uid: live.folder_uid for uid, live in lives.items() if live is not None}
    keep = set(defined_locally)
    folder_uids = sorted(set(ours_folder.values()))
    if folder_uids:
        for hit in client.search(tags=[MANAGED_TAG], folder_uids=folder_uids, type="dash-db"):
            uid = hit.get("uid")
            if uid and uid not in ours and uid not in keep:
                live = client.get_dashboard(uid)
                if live is not None:
                    live_models[uid], live_folders[uid] = live.model, live.folder_uid
    titles = {d.uid: d.title for d in dashboards}
    return compare(live_models, ours, "live", "local", titles,
                   ({u: f for u, f in live_folders.items()}, ours_folder))


_COMPILE_SCRIPT = r"""
import json, sys
from pathlib import Path
root = Path.cwd().resolve()
import airflow_dash
# A revision that carries airflow_dash itself (this project) compiles with its own code; a dashboards
# repository compiles its old dashboards with the installed airflow-dash.
if (root / "airflow_dash").is_dir() and root not in Path(airflow_dash.__file__).resolve().parents:
    sys.exit("airflow_dash was imported from outside the exported revision")
# Revisions from before airflow_dash.build existed compile with airflow_dash.compile. Asked by file, not by
# trying the import: the installed package's finder would hand them today's build.py, half of a mix.
if (root / "airflow_dash").is_dir() and not (root / "airflow_dash" / "build.py").is_file():
    from airflow_dash.compile import compile_dashboards
else:
    from airflow_dash.build import compile_dashboards
args = json.loads(sys.argv[1])
source, options = Path(args["dashboards_dir"]), {}
if not (root / "airflow_dash").is_dir():
    # A dashboards repository: its old dashboards with the installed bundled ones, as compiled now. (A revision
    # of this project compiles its own dashboards/, which is that revision's bundled set, with its own code.)
    from airflow_dash.discovery import DashboardSource

    bundled = args.get("bundled", False)
    source = DashboardSource(directory=source if source.is_dir() or not bundled else None, bundled=bundled)
    options = {"datasource_uids": args.get("datasource_uids"), "datasource_regexes": args.get("datasource_regexes")}
out = []
for d in compile_dashboards(backends=args["backends"], dashboards_dir=source, **options):
    out.append({"name": getattr(d, "name", d.uid), "uid": d.uid, "title": d.title, "folder": d.folder,
                "backend": d.backend, "model": d.model})
json.dump(out, sys.stdout)
"""


@dataclass(frozen=True)
class RevisionDashboard:
    """A dashboard compiled from another git revision (satisfies DashboardLike)."""

    name: str
    uid: str
    title: str
    folder: str | None
    backend: str
    model: dict[str, Any]


def compile_at_revision(ref: str, *, repo_root: Path, dashboards_dir: Path, backends: list[str] | None = None,
                        names: Iterable[str] | None = None, timeout: float = 300,
                        bundled: bool | tuple[str, ...] = False,
                        datasource_uids: dict[str, str] | None = None,
                        datasource_regexes: dict[str, str] | None = None) -> list[RevisionDashboard]:
    """Export `ref` with `git archive` into a temp dir (no worktree, no change to the checkout), compile there
    with that revision's own code in a subprocess with this Python, clean up."""
    repo_root = Path(repo_root).resolve()
    git = shutil.which("git")
    if git is None:
        raise UserError("git is not installed: diff --against REF needs it")
    probe = subprocess.run([git, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo_root,
                           capture_output=True, text=True)
    if probe.returncode != 0:
        inside = subprocess.run([git, "rev-parse", "--git-dir"], cwd=repo_root, capture_output=True, text=True)
        if inside.returncode != 0:
            raise UserError(f"diff --against {ref} compares with a git revision, but {repo_root} is not in a git "
                            "repository (diff --against live compares with Grafana)")
        raise UserError(f"unknown git revision {ref!r} in {repo_root}")
    dashboards_rel = Path(dashboards_dir)
    if dashboards_rel.is_absolute():
        try:
            dashboards_rel = dashboards_rel.resolve().relative_to(repo_root)
        except ValueError:
            raise UserError(f"dashboards dir {dashboards_dir} is outside the git repository {repo_root}") from None
    with tempfile.TemporaryDirectory(prefix="airflow-dash-rev-") as tmp:
        archive = subprocess.run([git, "archive", "--format=tar", probe.stdout.strip()], cwd=repo_root,
                                 capture_output=True)
        if archive.returncode != 0:
            raise UserError(f"git archive {ref} failed: {archive.stderr.decode(errors='replace').strip()[:200]}")
        import io
        import tarfile

        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, filter="data")
                else:  # Python before 3.11.4 (Debian 12's 3.11.2): regular files and directories inside tmp only
                    root = Path(tmp).resolve()
                    tar.extractall(tmp, members=[m for m in tar.getmembers() if (m.isfile() or m.isdir())
                                                 and (root / m.name).resolve().is_relative_to(root)])
        except tarfile.ReadError:
            pass  # an empty tree: compiling below reports what is missing
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = tmp  # that revision's code, not the installed one
        args = json.dumps({"backends": backends, "dashboards_dir": str(dashboards_rel),
                           "bundled": list(bundled) if isinstance(bundled, tuple) else bundled,
                           "datasource_uids": datasource_uids, "datasource_regexes": datasource_regexes})
        try:
            run = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT, args], cwd=tmp, env=env,
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"compiling dashboards at {ref} took longer than {timeout:g}s") from None
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"cannot compile dashboards at {ref}: {last[:200]}")
        items = json.loads(run.stdout or "[]")
    wanted = set(names) if names else None
    return [RevisionDashboard(**item) for item in items if wanted is None or item["name"] in wanted]


def diff_against_revision(ref: str, dashboards: list[DashboardLike], *, repo_root: Path, dashboards_dir: Path,
                          backends: list[str] | None = None, names: Iterable[str] | None = None,
                          bundled: bool | tuple[str, ...] = False, datasource_uids: dict[str, str] | None = None,
                          datasource_regexes: dict[str, str] | None = None
                          ) -> list[DashboardDiff]:
    """Dashboards compiled at `ref` vs the ones compiled now (`bundled`: the installed bundled dashboards
    that a dashboards repository's revision is compiled with)."""
    old = compile_at_revision(ref, repo_root=repo_root, dashboards_dir=dashboards_dir, backends=backends,
                              names=names, bundled=bundled, datasource_uids=datasource_uids,
                              datasource_regexes=datasource_regexes)
    both: list[DashboardLike] = [*old, *dashboards]
    return compare({d.uid: d.model for d in old}, {d.uid: d.model for d in dashboards}, ref, "working-tree",
                   {d.uid: d.title for d in both},
                   ({d.uid: d.folder for d in old}, {d.uid: d.folder for d in dashboards}))
