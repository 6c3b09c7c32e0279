"""Safe publishing: plan first (reads only), then write datasources -> folders -> dashboards -> prune.

Plan (`plan_publish`): for each compiled dashboard read the live one by uid and classify it:

- create     no dashboard with this uid
- unchanged  live JSON, normalised (no id/version), equals ours and it is in the right folder: no write, so
             publishing the same tree twice makes zero writes
- update     managed by us, not edited since we published it, content or folder differ
- drifted    managed by us but edited since (its content no longer matches the hash we recorded, see
             `airflow_dash.grafana.model`): refused with a diff unless `force`
- conflict   the uid belongs to a dashboard we do not manage (or a provisioned one): refused unless `force`
- delete     `prune` only: a dashboard tagged managed-by:airflow-dash, in one of the folders we manage, whose
             uid no local definition would produce (see `LocalInventory`). Unmanaged dashboards are never
             deleted; one edited in Grafana since we published it only with `force`.

Prune is scoped by what exists locally, never by what was selected: publishing one dashboard or one backend
narrows what is written, never widens what is deleted.

Refusals block the whole run before any write: no half-published tree because of one edited dashboard.

Writes (`apply_plan`): every update posts the `version` it read with overwrite=false, so a change made between
our read and our write gets a 412 version-mismatch from Grafana. That is reported as a conflict and never
retried as an overwrite. A 412 can also mean our own first attempt was applied and its answer lost (the client
retries POSTs, see `airflow_dash.grafana.client`): we re-read, and only if the live dashboard is exactly ours
do we count the write as done. Only `force` sends overwrite=true, and only for drifted/conflicting dashboards.

Failures: a failed dashboard does not stop the others; losing Grafana (auth, unreachable) stops the run and
the rest is reported as not attempted. The report lists every item with its outcome, so nothing ends up
silently half-published. A folder created in this run for dashboards that all failed is removed again (or the
report says why it could not be). Prune runs only when every write succeeded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeGuard

from airflow_dash.errors import UserError
from airflow_dash.grafana.api import LiveDashboard
from airflow_dash.grafana.client import GrafanaAuthError, GrafanaClient, GrafanaHTTPError, GrafanaUnreachable
from airflow_dash.grafana.datasources import DatasourcePlan, apply_datasource
from airflow_dash.grafana.parallel import each
from airflow_dash.grafana.model import (
    MANAGED_TAG, DashboardLike, EncodedModel, content_hash, encoded_desired, encoded_desired_model, folder_uid,
    has_drifted, is_managed, recorded_hash, target_folder_path,
)

WRITE_ACTIONS = ("create", "update", "drifted", "conflict", "delete")
PUBLISHED = ("created", "updated", "deleted")
NOT_PUBLISHED = ("failed", "conflict", "refused", "not attempted", "uncertain")


@dataclass(frozen=True)
class FolderStep:
    """A folder the dashboards need, parents before children."""

    path: tuple[str, ...]
    uid: str
    parent_uid: str | None
    exists: bool

    @property
    def title(self) -> str:
        return self.path[-1]

    @property
    def label(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class DashboardStep:
    """What publishing will do with one dashboard (see the module docstring for the actions)."""

    uid: str
    title: str
    action: str
    folder_path: tuple[str, ...] = ()
    folder_uid: str | None = None
    backend: str = ""
    reason: str = ""
    live_version: int | None = None
    live_revision: str | None = None  # the token a conditional write carries (see airflow_dash.grafana.api)
    prune: bool = False  # True: this step deletes a dashboard that no longer exists locally
    # What a write posts: encoded when planning needed it (the dashboard exists), else at the write, from
    # `source` retargeted to `schema_version`, so a plan of new dashboards holds no model at all.
    desired: EncodedModel | None = field(default=None, repr=False, compare=False)
    source: DashboardLike | None = field(default=None, repr=False, compare=False)
    schema_version: int | None = field(default=None, repr=False, compare=False)
    live_model: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # prune steps only
    diff: str = field(default="", repr=False, compare=False)  # refused steps only

    @property
    def folder_label(self) -> str:
        return "/".join(self.folder_path)


@dataclass(frozen=True)
class LocalInventory:
    """Every dashboard the local definitions would produce, whatever is being published right now: uid and
    the dashboard's own folder (relative to the root folder), for any backend and any name. `--prune` deletes
    only managed dashboards whose uid is not in here, and only in the folders these dashboards go to."""

    entries: tuple[tuple[str, str | None], ...]

    @classmethod
    def of(cls, dashboards: Iterable[DashboardLike]) -> "LocalInventory":
        return cls(tuple((d.uid, d.folder) for d in dashboards))

    def __add__(self, other: "LocalInventory") -> "LocalInventory":
        return LocalInventory(tuple(dict.fromkeys(self.entries + other.entries)))

    @property
    def uids(self) -> frozenset[str]:
        return frozenset(uid for uid, _ in self.entries)

    def folder_paths(self, root_folder: str) -> list[tuple[str, ...]]:
        """The folders we manage: the root and every folder a local dashboard goes to."""
        paths = {target_folder_path(root_folder, None)}
        paths.update(target_folder_path(root_folder, folder) for _, folder in self.entries)
        return sorted(paths)


@dataclass(frozen=True)
class Plan:
    datasources: tuple[DatasourcePlan, ...]
    folders: tuple[FolderStep, ...]
    dashboards: tuple[DashboardStep, ...]
    force: bool = False

    @property
    def blocked(self) -> tuple[DashboardStep, ...]:
        """Steps that refuse the run: drift or foreign dashboards, unless forced."""
        if self.force:
            return ()
        return tuple(s for s in self.dashboards if s.action in ("drifted", "conflict"))

    @property
    def write_count(self) -> int:
        return (sum(p.writes for p in self.datasources) + sum(not f.exists for f in self.folders)
                + sum(s.action in WRITE_ACTIONS for s in self.dashboards))

    def to_dict(self) -> dict[str, Any]:
        return {
            "datasources": [{"uid": p.spec.uid, "name": p.spec.name, "action": p.action, "changes": list(p.changes)}
                            for p in self.datasources],
            "folders": [{"uid": f.uid, "path": f.label, "action": "unchanged" if f.exists else "create"}
                        for f in self.folders],
            "dashboards": [{"uid": s.uid, "title": s.title, "folder": s.folder_label, "backend": s.backend,
                            "action": s.action, "reason": s.reason, "prune": s.prune} for s in self.dashboards],
            "blocked": [s.uid for s in self.blocked],
            "writes": self.write_count,
        }


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item: created, updated, deleted, unchanged, failed, conflict, refused,
    not attempted, uncertain (a write without an answer that could not be re-read), removed (a folder
    cleaned up again) or kept."""

    kind: str  # "datasource", "folder" or "dashboard"
    key: str
    title: str
    action: str
    outcome: str
    detail: str = ""
    version: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome not in NOT_PUBLISHED


@dataclass(frozen=True)
class PublishReport:
    """Every item's outcome. `interrupted`: the run was cancelled (Ctrl-C) and stopped issuing writes;
    `credentials_rejected`: Grafana answered 401 during the run (a configuration problem, exit code 2)."""

    items: tuple[ItemResult, ...]
    dry_run: bool = False
    interrupted: bool = False
    credentials_rejected: bool = False

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    def by_outcome(self, *outcomes: str, kind: str | None = None) -> list[ItemResult]:
        return [i for i in self.items if i.outcome in outcomes and (kind is None or i.kind == kind)]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "interrupted": self.interrupted,
                "credentials_rejected": self.credentials_rejected,
                "items": [{"kind": i.kind, "key": i.key, "title": i.title, "action": i.action, "outcome": i.outcome,
                           "detail": i.detail, "version": i.version} for i in self.items]}


# -- planning -----------------------------------------------------------------------------------------------

def _folder_steps(paths: Iterable[tuple[str, ...]], known: Mapping[tuple[str, ...], bool],
                  client: GrafanaClient, concurrency: int) -> tuple[FolderStep, ...]:
    """Every folder the paths need, parents first; `known` says which exist already (the rest is read)."""
    wanted: dict[tuple[str, ...], None] = {}
    for path in paths:
        for depth in range(1, len(path) + 1):
            wanted[path[:depth]] = None
    ordered = sorted(wanted, key=lambda p: (len(p), p))
    unknown = [path for path in ordered if path not in known]
    read = dict(zip(unknown, each(lambda path: client.get_folder(folder_uid(path)) is not None, unknown,
                                  concurrency)))
    return tuple(FolderStep(path=path, uid=folder_uid(path), parent_uid=folder_uid(path[:-1]) if len(path) > 1 else None,
                            exists=known[path] if path in known else read[path]) for path in ordered)


def _known_folders(steps: Sequence[tuple[DashboardStep, str | None]],
                   paths: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], bool]:
    """Folders whose existence the dashboard reads already prove, so they need no read of their own: one a
    live dashboard we read is in, and above it (a folder exists only inside its parent) one that no
    dashboard of this plan is written into (where a folder flattened by an old Grafana could be gone)."""
    by_uid: dict[str, tuple[str, ...]] = {}
    for path in paths:
        for depth in range(1, len(path) + 1):
            by_uid[folder_uid(path[:depth])] = path[:depth]
    proven = {by_uid[live_folder] for _, live_folder in steps if live_folder in by_uid}
    written = {step.folder_path for step, _ in steps if step.action in WRITE_ACTIONS}
    known = dict.fromkeys(proven, True)
    for path in proven:
        for depth in range(1, len(path)):
            if path[:depth] not in written:
                known[path[:depth]] = True
    return known


def _classify(dashboard: DashboardLike, desired: EncodedModel | None, path: tuple[str, ...],
              target_folder: str | None, live: LiveDashboard | None, schema_version: int | None) -> DashboardStep:
    """The step for one dashboard. Only a refused step keeps anything of the live dashboard (its diff). A
    create keeps its source, encoded when it is written (at `schema_version`)."""
    if live is None:
        return DashboardStep(uid=dashboard.uid, title=dashboard.title, action="create", folder_path=path,
                             folder_uid=target_folder, backend=dashboard.backend, reason="new", source=dashboard,
                             schema_version=schema_version)
    base = DashboardStep(uid=dashboard.uid, title=dashboard.title, action="create", folder_path=path,
                         folder_uid=target_folder, backend=dashboard.backend, desired=desired)
    assert desired is not None  # encoded whenever there is a live copy to compare with

    def refused(action: str, reason: str) -> DashboardStep:
        from airflow_dash.grafana.diff import diff_models, render_text

        diff = diff_models(dashboard.uid, dashboard.title, live.model, desired.model(), "live", "local",
                           live.folder_uid, target_folder)
        return replace(base, action=action, reason=reason, live_version=live.version, live_revision=live.revision,
                       diff=render_text([diff]))

    if live.stored_as_v2:
        return refused("drifted", f"saved in Grafana as schema {live.stored_as} (dynamic dashboards); publishing "
                                  "the classic model over it would drop its v2-only layout")
    if live.provisioned and live.managed_by:
        return refused("conflict", f"managed in Grafana by {live.managed_by} (grafana.app/managedBy), which does not "
                                   "allow edits; airflow-dash does not take it over")
    if live.provisioned:
        return refused("conflict", "provisioned from files in Grafana; the API cannot change it")
    if not is_managed(live.model):
        return refused("conflict", f"uid taken by a dashboard not managed by airflow-dash (no {MANAGED_TAG} tag)")
    live_hash = content_hash(live.model)  # the one hash of the live copy: drift and equality both use it
    if recorded_hash(live.model) != live_hash:
        return refused("drifted", f"edited in Grafana since it was published (version {live.version})")
    base = replace(base, live_version=live.version, live_revision=live.revision)
    same = live_hash == desired.hash
    moved = live.folder_uid != target_folder
    if same and not moved:
        return replace(base, action="unchanged", desired=None)  # nothing to write: nothing kept
    reason = "" if same else "content changed"
    if moved:
        reason = (reason + "; " if reason else "") + "moves to folder " + "/".join(path)
    return replace(base, action="update", reason=reason)


def plan_publish(client: GrafanaClient, dashboards: Iterable[DashboardLike], *, root_folder: str,
                 datasources: Iterable[DatasourcePlan] = (), prune: bool = False, force: bool = False,
                 concurrency: int = 4, local: LocalInventory | None = None) -> Plan:
    """Read live state and decide, per item, what publishing would do. Makes no writes.

    `local` is everything defined locally (see `LocalInventory`); without it, `dashboards` are taken to be
    all there is. Callers that publish a selection must pass it, or a prune would delete the rest.

    Streamed: each dashboard's model is asked for once (it may be compiled on demand, see
    `airflow_dash.build.DeferredDashboard`) and encoded and hashed once (`EncodedModel`): here when a live
    copy exists (which is compared and dropped right away; only an update keeps its encoded model), else
    when it is written. So neither all models nor all live copies are ever held at once. A model that cannot
    be encoded as JSON fails that dashboard's write.

    Reads: the first dashboard is read by uid. If it exists, this is most likely a republish: every other one
    is read by uid too (a 404 says a uid is free anywhere in the organisation), and the folders they are in
    need no read of their own, so a no-op republish reads each dashboard once and nothing else. If it does
    not, one search (a page per thousand dashboards) says which uids exist anywhere in the organisation and
    only those are read, so a first publish does not read once per dashboard; the folders are read alongside
    the search."""
    items = list(dashboards)
    client.use_concurrency(concurrency)
    by_uid: dict[str, DashboardLike] = {}
    for dashboard in items:
        if dashboard.uid in by_uid:
            raise UserError(f"two dashboards share uid {dashboard.uid!r}: {by_uid[dashboard.uid].title!r} and "
                            f"{dashboard.title!r}")
        by_uid[dashboard.uid] = dashboard
    if not root_folder.strip():
        raise UserError("the target folder is empty: set `folder` in [tool.airflow-dash] or --folder")
    paths = {uid: target_folder_path(root_folder, d.folder) for uid, d in by_uid.items()}
    all_paths = [*paths.values(), target_folder_path(root_folder, None)]
    folder_uids = {path: folder_uid(path) for path in all_paths}
    schema_version = client.server.schema_version if items else None

    probed: dict[str, LiveDashboard | None] = {}
    existing: set[str] | None = None  # None: read every dashboard
    folders_read: dict[tuple[str, ...], bool] = {}
    if items:
        probed[items[0].uid] = client.get_dashboard(items[0].uid)
        if probed[items[0].uid] is None:
            # Most likely a first publish: the search and the folder reads go out together.
            wanted = sorted({path[:depth] for path in all_paths for depth in range(1, len(path) + 1)})
            hits: list[dict[str, Any]] = []

            def read(task: tuple[str, ...] | None) -> None:
                if task is None:
                    hits.extend(client.search(type="dash-db"))
                else:
                    folders_read[task] = client.get_folder(folder_uid(task)) is not None

            each(read, [None, *wanted], concurrency)
            existing = {str(hit.get("uid")) for hit in hits}

    def plan_one(dashboard: DashboardLike) -> tuple[DashboardStep, str | None]:
        if dashboard.uid in probed:
            live = probed.pop(dashboard.uid)
        elif existing is None or dashboard.uid in existing:
            live = client.get_dashboard(dashboard.uid)
        else:
            live = None
        # A new dashboard is encoded when it is written (nothing to compare it with now).
        desired = encoded_desired(dashboard, schema_version) if live is not None else None
        path = paths[dashboard.uid]
        step = _classify(dashboard, desired, path, folder_uids[path], live, schema_version)
        return step, live.folder_uid if live else None

    # Threads only for the dashboards that need a read: the others (on a first publish, all of them) are
    # planned in this thread, rather than handed one by one to threads that have nothing to wait for.
    reading = {d.uid for d in items if d.uid not in probed and (existing is None or d.uid in existing)}
    if len(reading) == len(items):
        planned = each(plan_one, items, concurrency)
    else:
        read_steps = iter(each(plan_one, [d for d in items if d.uid in reading], concurrency))
        planned = [next(read_steps) if d.uid in reading else plan_one(d) for d in items]
    folders = _folder_steps(all_paths, {**folders_read, **_known_folders(planned, all_paths)}, client, concurrency)
    steps = [step for step, _ in planned]
    if prune:
        steps += _prune_steps(client, (local or LocalInventory(())) + LocalInventory.of(by_uid.values()),
                              root_folder)
    return Plan(datasources=tuple(datasources), folders=folders, dashboards=tuple(steps), force=force)


def _prune_steps(client: GrafanaClient, local: LocalInventory, root_folder: str) -> list[DashboardStep]:
    keep = local.uids
    managed_folders = {folder_uid(path): path for path in local.folder_paths(root_folder)}
    hits = client.search(tags=[MANAGED_TAG], folder_uids=sorted(managed_folders), type="dash-db")
    steps = []
    for hit in sorted(hits, key=lambda h: h.get("uid", "")):
        uid = hit.get("uid")
        if not uid or uid in keep or hit.get("folderUid") not in managed_folders:
            continue
        live = client.get_dashboard(uid)
        # Search results can be stale: check the live model itself before planning a delete.
        if live is None or not is_managed(live.model) or live.folder_uid not in managed_folders:
            continue
        step = DashboardStep(uid=uid, title=live.model.get("title", uid), action="delete",
                             folder_path=managed_folders[live.folder_uid], folder_uid=live.folder_uid,
                             reason="no local definition produces this uid", live_version=live.version,
                             live_revision=live.revision, prune=True, live_model=live.model)
        if has_drifted(live.model):
            step = replace(step, action="drifted",
                           reason=f"edited in Grafana since it was published (version {live.version}) and no "
                                  "longer defined locally: --prune would delete it")
        steps.append(step)
    return steps


# -- applying -----------------------------------------------------------------------------------------------

def _fatal(exc: Exception) -> bool:
    """Errors that stop issuing new writes: credentials rejected, Grafana unreachable or not answering."""
    return isinstance(exc, (GrafanaAuthError, GrafanaUnreachable))


def _matches(live: LiveDashboard | None, step: DashboardStep) -> TypeGuard[LiveDashboard]:
    """The live dashboard is exactly what this step writes, in its folder (so there is one)."""
    return (live is not None and step.desired is not None and live.folder_uid == step.folder_uid
            and step.desired.matches(live.model))


def _done(step: DashboardStep) -> str:
    return "created" if step.action == "create" else "updated"


def _settle_uncertain_write(client: GrafanaClient, step: DashboardStep, result: ItemResult,
                            exc: GrafanaUnreachable) -> ItemResult:
    """A write without an answer may or may not have landed: re-read before calling it anything."""
    try:
        live = client.get_dashboard(step.uid)
    except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as reread:
        return replace(result, outcome="uncertain",
                       detail=f"{exc}; re-reading it failed too ({reread}): it may or may not have been applied")
    if _matches(live, step):
        return replace(result, outcome=_done(step), version=live.version,
                       detail="confirmed by re-reading: the write landed although its answer was lost")
    unchanged = (live is None) if step.live_revision is None else (live is not None and live.revision == step.live_revision)
    if unchanged:
        return replace(result, outcome="failed", detail=f"{exc}; a re-read shows it was not applied")
    return replace(result, outcome="conflict",
                   detail=f"{exc}; a re-read shows a different change (version {live.version if live else '-'})")


def _write_dashboard(client: GrafanaClient, step: DashboardStep, message: str, force: bool,
                     model: dict[str, Any] | None = None) -> ItemResult:
    """Write `step.desired` (`model`: the same, already stamped, when the caller just encoded it)."""
    result = ItemResult("dashboard", step.uid, step.title, step.action, "")
    if model is None:
        model = step.desired.model() if step.desired is not None else {}
    overwrite = force and step.action in ("drifted", "conflict")
    try:
        # The revision we read: Grafana refuses the write if anyone saved since (None: a create).
        answer = client.save_dashboard(model, folder_uid=step.folder_uid, message=message, overwrite=overwrite,
                                       revision=step.live_revision)
    except GrafanaUnreachable as exc:
        if not exc.maybe_applied:
            raise
        settled = _settle_uncertain_write(client, step, result, exc)
        if settled.outcome in ("uncertain", "failed"):
            raise _Settled(settled, exc) from None
        return settled
    except GrafanaHTTPError as exc:
        if exc.status not in (409, 412):
            return replace(result, outcome="failed", detail=str(exc))
        if exc.grafana_status == "name-exists":
            return replace(result, outcome="failed",
                           detail=f"another dashboard in folder {step.folder_label!r} is titled {step.title!r} "
                                  f"(HTTP {exc.status} name-exists); nothing overwritten")
        # Either someone saved between our read and our write, or a retried POST of ours was applied first.
        live = client.get_dashboard(step.uid)
        if _matches(live, step):
            return replace(result, outcome=_done(step), version=live.version,
                           detail="confirmed by re-reading after a retried request")
        why = f"{exc.grafana_status or exc.status}: {exc.grafana_message}" if exc.grafana_message else str(exc)
        return replace(result, outcome="conflict",
                       detail=f"changed in Grafana while publishing ({why}); nothing overwritten")
    return replace(result, outcome=_done(step), version=answer.get("version"))


class _Settled(Exception):
    """A write that ended without an answer, settled by a re-read; carries the error that stops the run."""

    def __init__(self, result: ItemResult, cause: GrafanaUnreachable):
        super().__init__(str(cause))
        self.result = result
        self.cause = cause


def _delete_dashboard(client: GrafanaClient, step: DashboardStep, force: bool) -> ItemResult:
    result = ItemResult("dashboard", step.uid, step.title, step.action, "")
    live = client.get_dashboard(step.uid)
    if live is None:
        return replace(result, outcome="deleted", detail="already gone")
    if not is_managed(live.model):
        return replace(result, outcome="conflict", detail="no longer tagged managed-by:airflow-dash; not deleted")
    if live.revision != step.live_revision and not force:
        return replace(result, outcome="conflict", detail=f"changed since planning (version {live.version}); not deleted")
    client.delete_dashboard(step.uid)
    return replace(result, outcome="deleted")


def _ensure_folder(client: GrafanaClient, step: FolderStep) -> tuple[ItemResult, bool]:
    folder, created = client.ensure_folder(step.uid, step.title, step.parent_uid, known_missing=True)
    detail = ""
    if created and step.parent_uid and folder.get("parentUid") != step.parent_uid:
        # This Grafana ignores parentUid (no nested folders): keep the hierarchy readable in the title.
        flat = " / ".join(step.path)
        client.rename_folder(step.uid, flat)
        detail = f"nested folders not supported: created at top level as {flat!r}"
    return ItemResult("folder", step.uid, step.label, "create", "created" if created else "unchanged", detail), created


INTERRUPTED = "interrupted before this write"


def apply_plan(client: GrafanaClient, plan: Plan, *, concurrency: int = 4, message: str | None = None,
               on_result: Callable[[ItemResult], None] | None = None,
               cancel: threading.Event | None = None) -> PublishReport:
    """Carry out a plan (see the module docstring). Never raises for a Grafana failure: everything, done or not,
    ends up in the report. `on_result` is called after each item (from worker threads, one at a time).

    `cancel` (set e.g. by a SIGINT handler): no new write starts once it is set; writes in flight finish and
    are reported, the rest are "not attempted", and no clean-up or prune runs."""
    cancel = cancel or threading.Event()
    client.use_concurrency(concurrency)
    lock = threading.Lock()
    results: list[ItemResult] = []
    stop: list[str] = []  # first fatal error; set once, read by every worker
    rejected: list[bool] = []  # Grafana rejected our credentials during the run

    def record(item: ItemResult) -> ItemResult:
        with lock:
            results.append(item)
            if on_result:
                on_result(item)
        return item

    def halt(exc: Exception, reason: str | None = None) -> None:
        with lock:
            if isinstance(exc, GrafanaAuthError):
                rejected.append(True)
            if not stop:
                stop.append(reason or f"stopped: {exc}")

    def report() -> PublishReport:
        return PublishReport(tuple(results), interrupted=cancel.is_set(), credentials_rejected=bool(rejected))

    def skipped(kind: str, key: str, title: str, action: str) -> ItemResult | None:
        """The "not attempted" result when the run is stopping, else None."""
        if cancel.is_set():
            return record(ItemResult(kind, key, title, action, "not attempted", INTERRUPTED))
        if stop:
            return record(ItemResult(kind, key, title, action, "not attempted", stop[0]))
        return None

    dashboard_steps = [s for s in plan.dashboards if not s.prune]
    prune_steps = [s for s in plan.dashboards if s.prune]

    if plan.blocked:
        for step in plan.dashboards:
            if step in plan.blocked:
                record(ItemResult("dashboard", step.uid, step.title, step.action, "refused",
                                  f"{step.reason}; {refusal_hint(step)}"))
            elif step.action in WRITE_ACTIONS:
                record(ItemResult("dashboard", step.uid, step.title, step.action, "not attempted",
                                  "publish refused: nothing was written"))
            else:
                record(ItemResult("dashboard", step.uid, step.title, step.action, "unchanged"))
        return report()

    # 1. datasources: dashboards are useless without them, so any failure stops the run.
    for ds in plan.datasources:
        if not ds.writes:
            detail = "provisioned in Grafana (read-only); differs in " + ", ".join(ds.changes) if ds.action == "read-only" else ""
            record(ItemResult("datasource", ds.spec.uid, ds.spec.name, ds.action, "unchanged", detail))
            continue
        if skipped("datasource", ds.spec.uid, ds.spec.name, ds.action):
            continue
        try:
            outcome = apply_datasource(client, ds)
            record(ItemResult("datasource", ds.spec.uid, ds.spec.name, ds.action, outcome, ", ".join(ds.changes)))
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            record(ItemResult("datasource", ds.spec.uid, ds.spec.name, ds.action, "failed", str(exc)))
            halt(exc, f"stopped: datasource {ds.spec.name!r} failed")

    # 2. folders, parents first; a failed folder fails everything below it.
    failed_paths: list[tuple[str, ...]] = []
    created_folders: list[FolderStep] = []
    for folder in plan.folders:
        if folder.exists:
            continue
        if skipped("folder", folder.uid, folder.label, "create"):
            failed_paths.append(folder.path)
            continue
        if any(folder.path[: len(p)] == p for p in failed_paths):
            record(ItemResult("folder", folder.uid, folder.label, "create", "not attempted",
                              "its parent folder failed"))
            failed_paths.append(folder.path)
            continue
        try:
            item, created = _ensure_folder(client, folder)
            record(item)
            if created:
                created_folders.append(folder)
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            record(ItemResult("folder", folder.uid, folder.label, "create", "failed", str(exc)))
            failed_paths.append(folder.path)
            if _fatal(exc):
                halt(exc)

    # 3. dashboards, concurrently.
    def run(step: DashboardStep) -> ItemResult:
        if step.action not in WRITE_ACTIONS:
            return record(ItemResult("dashboard", step.uid, step.title, step.action, "unchanged",
                                     version=step.live_version))
        if any(step.folder_path[: len(p)] == p for p in failed_paths) and not (stop or cancel.is_set()):
            return record(ItemResult("dashboard", step.uid, step.title, step.action, "not attempted",
                                     f"folder {step.folder_label!r} could not be created"))
        stopping = _stopping(step)
        if stopping is not None:  # checked right before the write: once `cancel` is set, no new write starts
            return record(stopping)
        model = None
        if step.desired is None and step.source is not None:
            try:
                desired, model = encoded_desired_model(step.source, step.schema_version)
            except (UserError, TypeError, ValueError) as exc:  # a model that cannot be JSON: this one fails
                return record(ItemResult("dashboard", step.uid, step.title, step.action, "failed", str(exc)))
            step = replace(step, desired=desired)
        note = message or f"airflow-dash publish ({step.backend or 'dashboard'}) {step.desired.hash[:19] if step.desired else ''}"
        try:
            return record(_write_dashboard(client, step, note, plan.force, model))
        except _Settled as settled:
            halt(settled.cause)
            return record(settled.result)
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            if _fatal(exc):
                halt(exc)
            return record(ItemResult("dashboard", step.uid, step.title, step.action, "failed", str(exc)))

    def _stopping(step: DashboardStep) -> ItemResult | None:
        if cancel.is_set():
            return ItemResult("dashboard", step.uid, step.title, step.action, "not attempted", INTERRUPTED)
        if stop:
            return ItemResult("dashboard", step.uid, step.title, step.action, "not attempted", stop[0])
        return None

    # Worker threads even for one: on a second Ctrl-C (KeyboardInterrupt in this thread) the steps not taken
    # yet are dropped and the writes in flight still finish.
    each(run, dashboard_steps, concurrency, threads=True)

    if cancel.is_set():
        # Interrupted: no prune and no folder clean-up, both would be writes after the interrupt.
        for step in prune_steps:
            record(ItemResult("dashboard", step.uid, step.title, "delete", "not attempted", INTERRUPTED))
        return report()

    # 4. prune, only when everything above went through.
    if prune_steps:
        problems = [r for r in results if not r.ok]
        for step in prune_steps:
            if problems or stop or cancel.is_set():
                record(ItemResult("dashboard", step.uid, step.title, "delete", "not attempted",
                                  INTERRUPTED if cancel.is_set() else "prune skipped because other items failed"))
                continue
            try:
                record(_delete_dashboard(client, step, plan.force))
            except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
                record(ItemResult("dashboard", step.uid, step.title, "delete", "failed", str(exc)))
                if _fatal(exc):
                    halt(exc)

    # 5. folders this run created for nothing: remove them again, deepest first.
    outcomes = {r.key: r.outcome for r in results if r.kind == "dashboard"}
    for folder in sorted(created_folders, key=lambda f: -len(f.path)):
        inside = [s for s in dashboard_steps if s.folder_path[: len(folder.path)] == folder.path]
        if any(outcomes.get(s.uid) in ("created", "updated") for s in inside):
            continue
        if not any(s.action in WRITE_ACTIONS for s in inside) and not stop:
            continue  # e.g. the root folder of a plan whose dashboards all live in sub-folders that succeeded
        uncertain = [s.uid for s in inside if outcomes.get(s.uid) == "uncertain"]
        if uncertain:
            record(ItemResult("folder", folder.uid, folder.label, "cleanup", "kept",
                              f"created in this run; kept because {len(uncertain)} dashboard write(s) into it "
                              "are uncertain"))
            continue
        try:
            if client.search(folder_uids=[folder.uid]):
                record(ItemResult("folder", folder.uid, folder.label, "cleanup", "kept",
                                  "created in this run; none of our dashboards landed in it, but it is not empty"))
                continue
            client.delete_folder(folder.uid)
            record(ItemResult("folder", folder.uid, folder.label, "cleanup", "removed",
                              "created in this run and removed again: none of its dashboards was written"))
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            record(ItemResult("folder", folder.uid, folder.label, "cleanup", "kept",
                              f"created in this run for dashboards that were not written; removing it failed: {exc}"))
    return report()


def refusal_hint(step: DashboardStep) -> str:
    """What --force would do to a refused dashboard: delete it (prune) or overwrite it."""
    return "--force deletes it" if step.prune else "--force overwrites it"


def dry_run_report(plan: Plan) -> PublishReport:
    """The plan as a report, for --dry-run: outcome "would <action>"."""
    items = [ItemResult("datasource", p.spec.uid, p.spec.name, p.action, f"would {p.action}" if p.writes else "unchanged",
                        ", ".join(p.changes)) for p in plan.datasources]
    items += [ItemResult("folder", f.uid, f.label, "create", "unchanged" if f.exists else "would create")
              for f in plan.folders]
    for s in plan.dashboards:
        if s in plan.blocked:
            outcome = "refused"
        elif s.action in WRITE_ACTIONS:
            outcome = ("would delete" if s.prune else
                       f"would {'overwrite' if s.action in ('drifted', 'conflict') else s.action}")
        else:
            outcome = "unchanged"
        items.append(ItemResult("dashboard", s.uid, s.title, s.action, outcome, s.reason, s.live_version))
    return PublishReport(tuple(items), dry_run=True)


@dataclass(frozen=True)
class PublishOptions:
    root_folder: str = "Airflow"
    prune: bool = False
    force: bool = False
    dry_run: bool = False
    concurrency: int = 4
    message: str | None = None


def publish_dashboards(client: GrafanaClient, dashboards: Iterable[DashboardLike], options: PublishOptions = PublishOptions(),
                       datasources: Iterable[DatasourcePlan] = (),
                       on_result: Callable[[ItemResult], None] | None = None,
                       local: LocalInventory | None = None) -> tuple[Plan, PublishReport]:
    """Plan, then (unless dry_run) apply. The library entry point behind `airflow-dash publish`. `local`: see
    `plan_publish`."""
    plan = plan_publish(client, dashboards, root_folder=options.root_folder, datasources=datasources,
                        prune=options.prune, force=options.force, concurrency=options.concurrency, local=local)
    if options.dry_run:
        return plan, dry_run_report(plan)
    return plan, apply_plan(client, plan, concurrency=options.concurrency, message=options.message,
                            on_result=on_result)


def folder_uid_for(root_folder: str, folder: str | None) -> str:
    """The uid a dashboard's folder gets (useful for tests and `pull --folder`)."""
    return folder_uid(target_folder_path(root_folder, folder))


def summarize(report: PublishReport) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for item in report.items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    return counts
