"""Export live dashboards as formatted JSON (sorted keys, 2-space indent, trailing newline), without the
server-assigned `id` and `version`, so an export is stable and diffs cleanly in git.

Files are written only inside the output directory, one `<uid>.json` each. A uid is used as a file name only
when it is a plain name (`safe_file_name`: letters, digits, `-`, `_`, `.`, not starting with a dot, at most 200
characters, unique ignoring case); anything else (`../x`, `/abs`, NUL, empty, very long), whether typed or
returned by the server, refuses the whole pull with one line (UserError, exit 2) before any file is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from airflow_dash.errors import UserError, writing
from airflow_dash.grafana.client import GrafanaClient
from airflow_dash.grafana.model import folder_uid, normalize, pretty_json, split_folder_path


@dataclass(frozen=True)
class Exported:
    uid: str
    title: str
    text: str = field(repr=False)
    path: Path | None = None


# A uid that is a plain file name on every filesystem we know: Grafana's own uids ([a-zA-Z0-9_-], <= 40) and
# Kubernetes-style names (dots) pass; no separator, no NUL, no leading dot (".", "..", hidden files).
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


def safe_file_name(uid: object) -> str:
    """`<uid>.json`, or UserError naming the uid (shown escaped: it may hold control characters)."""
    if not isinstance(uid, str) or not _SAFE_NAME.fullmatch(uid):
        shown = repr(uid) if not isinstance(uid, str) or len(uid) <= 60 else repr(uid[:60]) + f"... ({len(uid)} chars)"
        raise UserError(f"refusing to pull dashboard uid {shown}: not usable as a file name (letters, digits, "
                        "'-', '_', '.', not starting with '.', at most 200 characters); nothing was written")
    return f"{uid}.json"


def _check_names(uids: Iterable[str]) -> None:
    seen: dict[str, str] = {}
    for uid in uids:
        name = safe_file_name(uid)
        other = seen.setdefault(name.lower(), uid)
        if other != uid:
            raise UserError(f"refusing to pull dashboards {other!r} and {uid!r}: their file names differ only in "
                            "case (one would overwrite the other on some filesystems); nothing was written")


def _write_inside(out_dir: Path, name: str, text: str) -> Path:
    """Write `out_dir/name` through a temporary file and a rename: never half-written, and an existing
    symlink there is replaced rather than followed out of `out_dir`."""
    path = out_dir / name
    if path.name != name or path.parent.resolve() != out_dir.resolve():  # cannot happen for a safe_file_name; kept as a guard
        raise UserError(f"refusing to write {path}: outside {out_dir}")
    handle, temporary = tempfile.mkstemp(prefix=".pull-", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path


def export_text(model: dict[str, Any]) -> str:
    """The file content for one live model; a secret a server echoed into it (our token, a password, a
    Basic header, credentials in a URL) is masked, and the text stays valid JSON."""
    from airflow_dash.scrub import scrub_values

    return scrub_values(pretty_json(normalize(model)))


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
    return str(matches[0]["uid"])


def pull_dashboards(client: GrafanaClient, uids: Iterable[str] = (), folder: str | None = None,
                    out_dir: Path | None = None) -> list[Exported]:
    """Fetch the given dashboards (and every dashboard in `folder`); write `<uid>.json` files into `out_dir`
    when given. Unknown uids raise UserError before anything is written."""
    wanted = list(dict.fromkeys(uids))
    if out_dir is not None:
        _check_names(wanted)  # typed uids: refused before any request
    if folder:
        uid = resolve_folder(client, folder)
        wanted += [hit["uid"] for hit in client.search(folder_uids=[uid], type="dash-db")
                   if hit.get("uid") and hit.get("folderUid") == uid and hit["uid"] not in wanted]
    if out_dir is not None:
        _check_names(wanted)  # and those the server listed, before anything is fetched or written
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
                path = _write_inside(out_dir, safe_file_name(item.uid), item.text)
                written.append(Exported(item.uid, item.title, item.text, path))
        exported = written
    return exported
