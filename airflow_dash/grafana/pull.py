"""Export live dashboards as formatted JSON (sorted keys, 2-space indent, trailing newline), without the
server-assigned `id` and `version`, so an export is stable and diffs cleanly in git."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from airflow_dash.errors import UserError, writing
from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.grafana.model import folder_uid, normalize, pretty_json, split_folder_path


@dataclass(frozen=True)
class Exported:
    uid: str
    title: str
    text: str = field(repr=False)
    path: Path | None = None


def export_text(model: dict) -> str:
    """The file content for one live model."""
    return pretty_json(normalize(model))


def resolve_folder(client: GrafanaClient, name: str) -> str:
    """A folder uid from a uid, a path we manage ("Airflow/System", derived uid) or an exact title."""
    if client.get_folder(name) is not None:
        return name
    path = split_folder_path(name)
    if path and client.get_folder(folder_uid(path)) is not None:
        return folder_uid(path)
    matches = [hit for hit in client.search(query=path[-1] if path else name, type="dash-folder")
               if hit.get("title") == (path[-1] if path else name)]
    if not matches:
        raise UserError(f"no Grafana folder with uid, path or title {name!r}")
    if len(matches) > 1:
        uids = ", ".join(hit.get("uid", "?") for hit in matches)
        raise UserError(f"several folders are titled {name!r} (uids {uids}): pass the uid instead")
    return matches[0]["uid"]


def pull_dashboards(client: GrafanaClient, uids: Iterable[str] = (), folder: str | None = None,
                    out_dir: Path | None = None) -> list[Exported]:
    """Fetch the given dashboards (and every dashboard in `folder`); write `<uid>.json` files into `out_dir`
    when given. Unknown uids raise UserError before anything is written."""
    wanted = list(dict.fromkeys(uids))
    if folder:
        uid = resolve_folder(client, folder)
        wanted += [hit["uid"] for hit in client.search(folder_uids=[uid], type="dash-db")
                   if hit.get("uid") and hit.get("folderUid") == uid and hit["uid"] not in wanted]
    exported = []
    for uid in wanted:
        live = client.get_dashboard(uid)
        if live is None:
            raise UserError(f"Grafana at {client.url} has no dashboard with uid {uid!r}")
        if live.stored_as_v2:
            # Its classic form is a lossy conversion (or nothing, on the legacy API): exporting it would not
            # round-trip. Refused before anything is written.
            raise UserError(f"dashboard {uid!r} is stored in Grafana as schema {live.stored_as} (saved with dynamic "
                            "dashboards); its classic JSON would lose the v2-only layout, so it is not exported")
        exported.append(Exported(uid, live.model.get("title", uid), export_text(live.model)))
    if out_dir is not None:
        written = []
        with writing("dashboards", out_dir):
            out_dir.mkdir(parents=True, exist_ok=True)
            for item in exported:
                path = out_dir / f"{item.uid}.json"
                path.write_text(item.text, encoding="utf-8")
                written.append(Exported(item.uid, item.title, item.text, path))
        exported = written
    return exported
