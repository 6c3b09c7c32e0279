"""The Grafana emulator's alert-rule provisioning API (`/api/v1/provisioning/alert-rules`, rule groups).

Mounted by `GrafanaEmulator` (one line in its route table); state lives here, guarded by the emulator's lock.
Facts and their sources: docs/grafana-alerting-facts.md. Behaviour emulated:

- GET  /api/v1/provisioning/alert-rules              200, every rule (org 1)
- GET  /api/v1/provisioning/alert-rules/<uid>        200 the rule, 404 when missing
- POST /api/v1/provisioning/alert-rules              201 the stored rule (`id`, `updated`, `provenance`)
- PUT  /api/v1/provisioning/alert-rules/<uid>        200 the stored rule, 404 when missing
- DELETE /api/v1/provisioning/alert-rules/<uid>      204, no body
- GET  /api/v1/provisioning/folder/<f>/rule-groups/<g>   200 {title, folderUid, interval, rules}, 404 if empty

Validation (400 with a message): the required fields of the schema's `Rule`, `noDataState`/`execErrState`
enums, uid (<= 40 of [a-zA-Z0-9-_]) and title (1-190), a `condition` naming one of the `data` refIds, and a
folder that exists. Rules written through the API get provenance "api" (the `X-Disable-Provenance` header,
which would leave it empty, is not emulated: airflow-dash does not send it).
Choices where the sources are silent [unverified]: a taken uid on POST gives 409; writing a rule provisioned
from files (`add_rule(..., provenance="file")`) gives 409; Viewers get 403; a new rule group is evaluated
every 60 s; a 404 body is `{"message": "not found"}`.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from airflow_dash.testing.grafana_emulator import GrafanaEmulator, Query, RouteSpec, _ApiError, _Identity

RULES_PATH = "/api/v1/provisioning/alert-rules"
REQUIRED = ("condition", "data", "execErrState", "folderUID", "for", "noDataState", "orgID", "ruleGroup", "title")
NO_DATA_STATES = ("OK", "Alerting", "NoData", "KeepLast")
EXEC_ERR_STATES = ("Alerting", "Error", "OK", "KeepLast")
DEFAULT_GROUP_INTERVAL_S = 60
_UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")


class AlertRuleStore:
    """Rules by uid, plus each (folder, group)'s interval."""

    def __init__(self, emulator: "GrafanaEmulator") -> None:
        self.emulator = emulator
        self.rules: dict[str, dict[str, Any]] = {}
        self.intervals: dict[tuple[str, str], int] = {}
        self._next_id = 1

    # -- inspection and seeding, for tests -------------------------------------------------------------

    def rule(self, uid: str) -> dict[str, Any] | None:
        with self.emulator._lock:
            return copy.deepcopy(self.rules.get(uid))

    def add_rule(self, rule: dict[str, Any], *, provenance: str = "") -> dict[str, Any]:
        """Store a rule as if made elsewhere (the UI: provenance "", files: "file")."""
        with self.emulator._lock:
            return copy.deepcopy(self._store(copy.deepcopy(rule), provenance, rule.get("uid") or None))

    def edit_rule_as_user(self, uid: str, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Change a stored rule the way a UI edit would (the object is mutated in place)."""
        with self.emulator._lock:
            mutate(self.rules[uid])
            self.rules[uid]["updated"] = _now()

    # -- routes ------------------------------------------------------------------------------------------

    def routes(self) -> list[RouteSpec]:
        seg = r"([^/]+)"
        return [
            ("GET", RULES_PATH, self._list, True),
            ("POST", RULES_PATH, self._post, True),
            ("GET", rf"{RULES_PATH}/{seg}", self._get, True),
            ("PUT", rf"{RULES_PATH}/{seg}", self._put, True),
            ("DELETE", rf"{RULES_PATH}/{seg}", self._delete, True),
            ("GET", rf"/api/v1/provisioning/folder/{seg}/rule-groups/{seg}", self._get_group, True),
        ]

    def _list(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> list[dict[str, Any]]:
        with self.emulator._lock:
            return [copy.deepcopy(r) for r in sorted(self.rules.values(), key=lambda r: r["id"])]

    def _get(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        with self.emulator._lock:
            rule = self.rules.get(params[0])
            if rule is None:
                raise _error(404, "not found")
            return copy.deepcopy(rule)

    def _post(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        self._writable(identity)
        cmd = self._validated(body)
        with self.emulator._lock:
            uid = cmd.get("uid") or None
            if uid in self.rules:
                raise _error(409, f"a rule with uid {uid!r} already exists")
            self._check_folder(cmd)
            stored = self._store(cmd, "api", uid)
            raise _answer(201, copy.deepcopy(stored))

    def _put(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        self._writable(identity)
        cmd = self._validated(body)
        with self.emulator._lock:
            current = self.rules.get(params[0])
            if current is None:
                raise _error(404, "not found")
            if current.get("provenance") == "file":
                raise _error(409, "cannot change a rule provisioned from files")
            self._check_folder(cmd)
            cmd["uid"] = params[0]
            stored = self._store(cmd, "api", params[0], rule_id=current["id"])
            return copy.deepcopy(stored)

    def _delete(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        self._writable(identity)
        with self.emulator._lock:
            current = self.rules.get(params[0])
            if current is not None and current.get("provenance") == "file":
                raise _error(409, "cannot delete a rule provisioned from files")
            self.rules.pop(params[0], None)
        raise _answer(204, None)

    def _get_group(self, identity: _Identity, params: list[str], query: Query, body: bytes) -> dict[str, Any]:
        folder, group = params
        with self.emulator._lock:
            rules = [copy.deepcopy(r) for r in self.rules.values() if r["folderUID"] == folder and r["ruleGroup"] == group]
            if not rules:
                raise _error(404, "rule group not found")
            return {"title": group, "folderUid": folder,
                    "interval": self.intervals.get((folder, group), DEFAULT_GROUP_INTERVAL_S), "rules": rules}

    # -- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def _writable(identity: _Identity | None) -> None:
        if identity is not None and identity.role == "Viewer":
            raise _error(403, "You'll need additional permissions to perform this action. "
                              "Permissions needed: alert.provisioning:write")

    def _validated(self, body: bytes) -> dict[str, Any]:
        try:
            cmd = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise _error(400, "bad request data") from None
        if not isinstance(cmd, dict):
            raise _error(400, "bad request data")
        missing = [key for key in REQUIRED if key not in cmd]
        if missing:
            raise _error(400, f"invalid alert rule: missing {', '.join(missing)}")
        if cmd.get("uid") and not _UID.match(str(cmd["uid"])):
            raise _error(400, "invalid alert rule: uid must be at most 40 of [a-zA-Z0-9-_]")
        if not isinstance(cmd["title"], str) or not 1 <= len(cmd["title"]) <= 190:
            raise _error(400, "invalid alert rule: title must be 1-190 characters")
        if not isinstance(cmd["ruleGroup"], str) or not 1 <= len(cmd["ruleGroup"]) <= 190:
            raise _error(400, "invalid alert rule: rule group must be 1-190 characters")
        if cmd["noDataState"] not in NO_DATA_STATES or cmd["execErrState"] not in EXEC_ERR_STATES:
            raise _error(400, "invalid alert rule: unknown noDataState or execErrState")
        refs = [d.get("refId") for d in cmd["data"] if isinstance(d, dict)] if isinstance(cmd["data"], list) else []
        if not refs or cmd["condition"] not in refs:
            raise _error(400, f"invalid alert rule: condition {cmd['condition']!r} is not a refId of its data")
        return cmd

    def _check_folder(self, cmd: dict[str, Any]) -> None:
        if self.emulator.folder(cmd["folderUID"]) is None:
            raise _error(400, f"folder {cmd['folderUID']!r} does not exist")

    def _store(self, cmd: dict[str, Any], provenance: str, uid: str | None, rule_id: int | None = None) -> dict[str, Any]:
        from airflow_dash.testing.grafana_emulator import _short_uid

        if rule_id is None:
            rule_id, self._next_id = self._next_id, self._next_id + 1
        stored = {
            "id": rule_id, "uid": uid or _short_uid(), "orgID": 1, "folderUID": cmd.get("folderUID", ""),
            "ruleGroup": cmd.get("ruleGroup", ""), "title": cmd.get("title", ""), "condition": cmd.get("condition", ""),
            "data": cmd.get("data", []), "updated": _now(), "noDataState": cmd.get("noDataState", "NoData"),
            "execErrState": cmd.get("execErrState", "Error"), "for": cmd.get("for", "0s"),
            "annotations": cmd.get("annotations") or {}, "labels": cmd.get("labels") or {},
            "isPaused": bool(cmd.get("isPaused", False)), "provenance": provenance,
        }
        self.rules[stored["uid"]] = stored
        self.intervals.setdefault((stored["folderUID"], stored["ruleGroup"]), DEFAULT_GROUP_INTERVAL_S)
        return stored


def _now() -> str:
    from airflow_dash.testing.grafana_emulator import _now as emulator_now

    return emulator_now()


def _error(status: int, message: str) -> _ApiError:
    from airflow_dash.testing.grafana_emulator import _ApiError

    return _ApiError(status, {"message": message})


def _answer(status: int, body: Any) -> _ApiError:
    """A success other than 200 (201 Created, 204 No Content), carried through the emulator's answer path."""
    from airflow_dash.testing.grafana_emulator import _ApiError

    return _ApiError(status, body if body is not None else {})


def mount(emulator: "GrafanaEmulator") -> list[RouteSpec]:
    """Attach the alert-rule store to `emulator` (as `emulator.alerting`) and return its routes."""
    store = AlertRuleStore(emulator)
    emulator.alerting = store
    return store.routes()
