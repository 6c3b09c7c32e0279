"""Publish Grafana-managed alert rules with the same safety as dashboards.

Plan first (reads only): each compiled rule is read by uid from `/api/v1/provisioning/alert-rules/<uid>` and
classified like a dashboard (see `airflow_dash.grafana.publish`):

- create     no rule with this uid
- unchanged  the live rule, in the fields we send, equals ours: no write (a republish makes zero writes)
- update     ours, not edited since we published it, but content or folder differ
- drifted    ours, but edited since (no longer hashes to the value we recorded): refused unless `force`
- conflict   the uid belongs to a rule we do not manage, or one provisioned from files: refused
             (`force` overwrites an unmanaged rule; a file-provisioned one cannot be changed through the API)
- delete     `prune` only: a rule carrying our marker, in one of our folders, that no longer exists locally

Ownership marker (no local state): annotations `managed_by: airflow-dash` and `airflow_dash_hash`, the SHA-256
of the canonical JSON of the fields we send (the hash annotation itself aside). Grafana returns annotations as
stored, so the hash survives our own round trip and any later edit shows as drift.

Rules are written without `X-Disable-Provenance`: Grafana marks them provenance "api" and the UI will not edit
them, which is what "managed as code" should mean. Contact points and notification policies are never touched:
our rules carry `severity` and `alert_group` labels for the user's policies to route on (docs/alerts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

from airflow_dash.alert_rules import MANAGED_BY
from airflow_dash.alert_rules.grafana import MANAGED_ANNOTATION, GrafanaRule
from airflow_dash.grafana.client import GrafanaAuthError, GrafanaClient, GrafanaHTTPError, GrafanaUnreachable
from airflow_dash.grafana.model import canonical_bytes, folder_uid, hash_of_canonical, target_folder_path
from airflow_dash.grafana.publish import ItemResult

RULES_PATH = "/api/v1/provisioning/alert-rules"
HASH_ANNOTATION = "airflow_dash_hash"
KIND = "alert rule"
# The fields we send and compare; Grafana adds others (id, updated, provenance, notification settings...).
FIELDS = ("uid", "title", "condition", "data", "noDataState", "execErrState", "for", "labels", "annotations",
          "isPaused", "folderUID", "ruleGroup", "orgID")
WRITES = ("create", "update", "drifted", "conflict", "delete")


def comparable(rule: dict[str, Any]) -> dict[str, Any]:
    """The fields we own, without our hash annotation."""
    result = {key: rule.get(key) for key in FIELDS}
    annotations = dict(result.get("annotations") or {})
    annotations.pop(HASH_ANNOTATION, None)
    result["annotations"] = annotations
    result["labels"] = dict(result.get("labels") or {})
    return result


def rule_hash(rule: dict[str, Any]) -> str:
    """The same content hash as a dashboard's (`model.hash_of_canonical` over `model.canonical_bytes`), taken
    over the fields we own; it goes in an annotation, as a rule has no free top-level key."""
    return hash_of_canonical(canonical_bytes(comparable(rule)))


def stamp(body: dict[str, Any]) -> dict[str, Any]:
    """Our rule as it will be sent: ownership annotation and content hash added."""
    result = dict(body)
    annotations = dict(result.get("annotations") or {})
    annotations[MANAGED_ANNOTATION] = MANAGED_BY
    annotations.pop(HASH_ANNOTATION, None)
    result["annotations"] = annotations
    result["annotations"] = {**annotations, HASH_ANNOTATION: rule_hash(result)}
    return result


def is_managed(rule: dict[str, Any]) -> bool:
    return (rule.get("annotations") or {}).get(MANAGED_ANNOTATION) == MANAGED_BY


def has_drifted(rule: dict[str, Any]) -> bool:
    return (rule.get("annotations") or {}).get(HASH_ANNOTATION) != rule_hash(rule)


@dataclass(frozen=True)
class AlertRuleStep:
    uid: str
    title: str
    action: str
    reason: str = ""
    folder_path: tuple[str, ...] = ()
    prune: bool = False
    desired: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    live: dict[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class AlertRulePlan:
    steps: tuple[AlertRuleStep, ...]
    folders: tuple[tuple[str, ...], ...]  # folder paths the rules need, parents first
    force: bool = False

    @property
    def blocked(self) -> tuple[AlertRuleStep, ...]:
        if self.force:
            return tuple(s for s in self.steps if s.action == "conflict" and (s.live or {}).get("provenance") == "file")
        return tuple(s for s in self.steps if s.action in ("drifted", "conflict"))

    @property
    def write_count(self) -> int:
        return sum(s.action in WRITES for s in self.steps)


def _get_rule(client: GrafanaClient, uid: str) -> dict[str, Any] | None:
    status, body = client.request("GET", f"{RULES_PATH}/{uid}", what=f"reading alert rule {uid!r}", allow=(404,))
    return body if status == 200 and isinstance(body, dict) else None


def _classify(rule: GrafanaRule, desired: dict[str, Any], path: tuple[str, ...], live: dict[str, Any] | None) -> AlertRuleStep:
    base = AlertRuleStep(rule.uid, rule.title, "create", "new", path, desired=desired, live=live)
    if live is None:
        return base
    if live.get("provenance") == "file":
        return replace(base, action="conflict", reason="provisioned from files in Grafana; the API cannot change it")
    if not is_managed(live):
        return replace(base, action="conflict", reason="uid taken by an alert rule not managed by airflow-dash")
    if has_drifted(live):
        return replace(base, action="drifted", reason=f"edited in Grafana since it was published ({live.get('updated', '?')})")
    if comparable(live) == comparable(desired):
        return replace(base, action="unchanged", reason="")
    changed = sorted(k for k in FIELDS if comparable(live).get(k) != comparable(desired).get(k))
    return replace(base, action="update", reason="changed: " + ", ".join(changed))


def plan_alert_rules(client: GrafanaClient, rules: Sequence[GrafanaRule], *, root_folder: str,
                     prune: bool = False, force: bool = False, org_id: int = 1,
                     local_uids: Iterable[str] = ()) -> AlertRulePlan:
    """Read live rules and decide what publishing would do. Makes no writes. `local_uids`: every rule uid the
    local definitions produce (any backend), which prune must never delete."""
    seen: dict[str, GrafanaRule] = {}
    for rule in rules:
        if rule.uid in seen:
            raise ValueError(f"two alert rules share uid {rule.uid!r}")
        seen[rule.uid] = rule
    steps, paths = [], []
    for rule in rules:
        path = target_folder_path(root_folder, rule.folder)
        paths.append(path)
        desired = stamp(rule.api_body(folder_uid(path), org_id))
        steps.append(_classify(rule, desired, path, _get_rule(client, rule.uid)))
    if prune:
        keep = set(seen) | set(local_uids)
        ours = {folder_uid(p[:depth]): p[:depth] for p in [*paths, target_folder_path(root_folder, None)]
                for depth in range(1, len(p) + 1)}
        _, live_rules = client.request("GET", RULES_PATH, what="listing alert rules")
        for live in sorted(live_rules or [], key=lambda r: r.get("uid", "")):
            uid = live.get("uid", "")
            if uid in keep or not is_managed(live) or live.get("folderUID") not in ours:
                continue
            step = AlertRuleStep(uid, live.get("title", uid), "delete", "no longer defined locally",
                                 ours[live["folderUID"]], prune=True, live=live)
            if has_drifted(live):
                step = replace(step, action="drifted", reason="edited in Grafana since published; prune would delete it")
            steps.append(step)
    folders = sorted({p[:d] for p in paths for d in range(1, len(p) + 1)}, key=lambda p: (len(p), p))
    return AlertRulePlan(tuple(steps), tuple(folders), force)


def _fatal(exc: Exception) -> bool:
    return isinstance(exc, (GrafanaAuthError, GrafanaUnreachable))


def _write(client: GrafanaClient, step: AlertRuleStep) -> ItemResult:
    result = ItemResult(KIND, step.uid, step.title, step.action, "")
    body = dict(step.desired or {})
    if step.prune:
        if step.live and step.live.get("provenance") == "file":
            return replace(result, outcome="conflict", detail="provisioned from files; not deleted")
        client.request("DELETE", f"{RULES_PATH}/{step.uid}", what=f"deleting alert rule {step.title!r}", allow=(404,))
        return replace(result, action="delete", outcome="deleted")
    try:
        if step.live is None:
            client.request("POST", RULES_PATH, json=body, what=f"creating alert rule {step.title!r}")
        else:
            client.request("PUT", f"{RULES_PATH}/{step.uid}", json=body, what=f"updating alert rule {step.title!r}")
    except GrafanaHTTPError as exc:
        if exc.status != 409:
            return replace(result, outcome="failed", detail=str(exc))
        # A retried POST of ours may have landed first: the rule is ours if it is exactly what we sent.
        live = _get_rule(client, step.uid)
        if live is not None and comparable(live) == comparable(body):
            return replace(result, outcome="created" if step.live is None else "updated",
                           detail="confirmed by re-reading after a retried request")
        return replace(result, outcome="conflict", detail=f"refused by Grafana ({exc}); nothing overwritten")
    return replace(result, outcome="created" if step.live is None else "updated")


def _ensure_folders(client: GrafanaClient, plan: AlertRulePlan) -> list[ItemResult]:
    results = []
    for path in plan.folders:
        uid = folder_uid(path)
        if client.get_folder(uid) is not None:
            continue
        parent = folder_uid(path[:-1]) if len(path) > 1 else None
        _, created = client.ensure_folder(uid, path[-1], parent, known_missing=True)
        results.append(ItemResult("folder", uid, "/".join(path), "create", "created" if created else "unchanged"))
    return results


def apply_alert_rules(client: GrafanaClient, plan: AlertRulePlan) -> list[ItemResult]:
    """Carry out the plan; everything, done or not, comes back as report items (never raises for Grafana)."""
    items: list[ItemResult] = []
    if plan.blocked:
        for step in plan.steps:
            if step in plan.blocked:
                items.append(ItemResult(KIND, step.uid, step.title, step.action, "refused",
                                        step.reason + ("" if "files" in step.reason else "; use --force to overwrite")))
            elif step.action in WRITES:
                items.append(ItemResult(KIND, step.uid, step.title, step.action, "not attempted",
                                        "publish refused: nothing was written"))
            else:
                items.append(ItemResult(KIND, step.uid, step.title, step.action, "unchanged"))
        return items
    stop = ""
    if any(s.action in WRITES and not s.prune for s in plan.steps):
        try:
            items += _ensure_folders(client, plan)
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            stop = f"stopped: folder failed: {exc}"
    for step in sorted(plan.steps, key=lambda s: s.prune):  # deletes last, only if every write went through
        if step.action not in WRITES:
            items.append(ItemResult(KIND, step.uid, step.title, step.action, "unchanged"))
            continue
        if stop or (step.prune and any(not i.ok for i in items)):
            items.append(ItemResult(KIND, step.uid, step.title, step.action, "not attempted",
                                    stop or "prune skipped because other items failed"))
            continue
        try:
            items.append(_write(client, step))
        except (GrafanaHTTPError, GrafanaUnreachable, GrafanaAuthError) as exc:
            items.append(ItemResult(KIND, step.uid, step.title, step.action, "failed", str(exc)))
            if _fatal(exc):
                stop = f"stopped: {exc}"
    return items


def dry_run_items(plan: AlertRulePlan) -> list[ItemResult]:
    items = []
    for step in plan.steps:
        if step in plan.blocked:
            outcome = "refused"
        elif step.action in WRITES:
            outcome = f"would {'overwrite' if step.action in ('drifted', 'conflict') else step.action}"
        else:
            outcome = "unchanged"
        items.append(ItemResult(KIND, step.uid, step.title, step.action, outcome, step.reason))
    return items
