"""Alerts as Grafana-managed alert rules: data queries → reduce → (math) → threshold, per backend.

The data queries are the panels' own targets (`Backend.render` + `Backend.target_json`), so a rule queries what
its panel shows; Grafana's datasource backends replace `$timeFilter`, `$__interval`, `v.windowPeriod` and
`$__rate_interval` themselves (facts and sources: docs/grafana-alerting-facts.md). Per condition:

- Threshold: A = signal over the window; B = reduce(A) (mean for rates, last for levels, or the alert's
  `reduce`); C = threshold(B).
- Ratio: A, B = the two signals; C, D = their reductions; E = `$C / $D`; F = threshold(E).
- Forecast: A = the level over the window, B = the same over the window's first sixth; C = last(A),
  D = mean(B); E = `$C + ($C - $D) * horizon / (window - sixth/2)` (a straight line through both); F = threshold(E).
- Absent: A; B = count(A); C = threshold B < 1, and no data at all fires (noDataState Alerting).

Reductions drop non-numbers (`dropNN`): an empty InfluxDB window is null, not zero. What an alert does when the
query returns nothing is its `missing` choice: QUIET → noDataState "OK" (a StatsD counter that did not move
sends nothing), FIRE → "Alerting" (a heartbeat that stopped). Query errors → execErrState "Error": Grafana
raises a DatasourceError alert carrying the rule's labels, so a broken datasource is never silent and never
pretends the condition holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from airflow_dash.alert_rules import MANAGED_BY, PanelLink, RuleOmission, check_unique
from airflow_dash.alert_rules.prometheus import dump_rule_file, escape_go_template
from airflow_dash.alerts import FIRE, Absent, Alert, Forecast, Ratio, Threshold, fill_template, seconds
from airflow_dash.backends import BACKENDS, Backend
from airflow_dash.catalog.model import Signal, Unsupported
from airflow_dash.query.values import MatchValue

EXPRESSION_DATASOURCE = {"type": "__expr__", "uid": "__expr__"}
INTERVAL_MS = 10_000  # Telegraf's flush interval; also a fine resolution for Prometheus
MAX_DATA_POINTS = 43_200
MANAGED_ANNOTATION = "managed_by"
GROUP_LABEL = "alert_group"
_THRESHOLD_TYPES = {">": "gt", "<": "lt"}  # gte/lte exist only in recent Grafana: math covers >=, <=


@dataclass(frozen=True)
class GrafanaRule:
    """One Grafana-managed rule for one backend, without its folder uid (publish decides the folder)."""

    uid: str
    title: str
    group: str
    folder: str | None  # the alert's dashboard folder (under the publish root)
    backend: str
    alert: str
    rule: dict[str, Any] = field(hash=False, compare=False)  # the provisioning API's rule fields, without uid

    def api_body(self, folder_uid: str, org_id: int = 1) -> dict[str, Any]:
        """The object `POST/PUT /api/v1/provisioning/alert-rules` takes."""
        return {"uid": self.uid, **self.rule, "folderUID": folder_uid, "ruleGroup": self.group, "orgID": org_id}


@dataclass(frozen=True)
class GrafanaRules:
    backend: str
    rules: tuple[GrafanaRule, ...]
    omissions: tuple[RuleOmission, ...] = ()
    interval: str = "1m"

    def groups(self) -> dict[tuple[str | None, str], list[GrafanaRule]]:
        result: dict[tuple[str | None, str], list[GrafanaRule]] = {}
        for rule in self.rules:
            result.setdefault((rule.folder, rule.group), []).append(rule)
        return result

    def provisioning_yaml(self, root_folder: str = "Airflow", org_id: int = 1) -> str:
        """Grafana's file-provisioning format (`provisioning/alerting/*.yaml`), one group per folder and group."""
        groups = []
        for (folder, group), rules in self.groups().items():
            title = "/".join(p for p in (root_folder, folder or "") if p).split("/")[-1]
            groups.append({
                "orgId": org_id, "name": group, "folder": title, "interval": self.interval,
                "rules": [{"uid": r.uid, **r.rule} for r in rules],
            })
        return dump_rule_file({"apiVersion": 1, "groups": groups})


def rule_uid(alert: Alert, backend: Backend) -> str:
    """Stable, at most 40 characters of [a-zA-Z0-9-_] (Grafana's limit)."""
    uid = f"ad-{alert.name.lower()}-{backend.uid_suffix}"
    if len(uid) > 40:
        digest = hashlib.sha1(uid.encode()).hexdigest()[:8]
        uid = f"ad-{alert.name.lower()[: 40 - len(backend.uid_suffix) - 13]}-{digest}-{backend.uid_suffix}"
    return uid


class _Chain:
    """Builds the data list (queries and expressions) with consecutive refIds A, B, C..."""

    def __init__(self, backend: Backend, datasource_uid: str, alert: Alert) -> None:
        self.backend = backend
        self.datasource_uid = datasource_uid
        self.alert = alert
        self.data: list[dict[str, Any]] = []

    def _ref(self) -> str:
        return "ABCDEFGHIJ"[len(self.data)]

    def query(self, signal: Signal, where: Mapping[str, MatchValue], start_s: int, end_s: int = 0) -> str:
        rendered = self.backend.render(signal, dict(where), legend="")
        if isinstance(rendered, Unsupported):
            raise _Skip(rendered.reason)
        ref = self._ref()
        model = self.backend.target_json(rendered, ref)
        model.pop("alias", None)  # series keep their labels; a display alias means nothing to a rule
        model["datasource"] = {"type": self.backend.datasource_type, "uid": self.datasource_uid}
        model.update({"intervalMs": INTERVAL_MS, "maxDataPoints": MAX_DATA_POINTS})
        self.data.append({
            "refId": ref, "queryType": "", "relativeTimeRange": {"from": start_s, "to": end_s},
            "datasourceUid": self.datasource_uid, "model": model,
        })
        return ref

    def _expression(self, model: dict[str, Any]) -> str:
        ref = self._ref()
        self.data.append({
            "refId": ref, "queryType": "", "relativeTimeRange": {"from": 0, "to": 0},
            "datasourceUid": EXPRESSION_DATASOURCE["uid"],
            "model": {"refId": ref, "datasource": dict(EXPRESSION_DATASOURCE), **model},
        })
        return ref

    def reduce(self, ref: str, reducer: str) -> str:
        return self._expression({"type": "reduce", "expression": ref, "reducer": reducer,
                                 "settings": {"mode": "dropNN"}})

    def math(self, expression: str) -> str:
        return self._expression({"type": "math", "expression": expression})

    def threshold(self, ref: str, op: str, value: float) -> str:
        if op not in _THRESHOLD_TYPES:
            return self.math(f"${ref} {op} {value!r}")
        return self._expression({"type": "threshold", "expression": ref,
                                 "conditions": [{"evaluator": {"type": _THRESHOLD_TYPES[op], "params": [value]}}]})


class _Skip(Exception):
    pass


def _chain(backend: Backend, datasource_uid: str, alert: Alert) -> tuple[list[dict[str, Any]], str, str]:
    """(data, condition refId, refId of the value the texts show)."""
    chain = _Chain(backend, datasource_uid, alert)
    window = seconds(alert.window)
    condition = alert.condition
    if isinstance(condition, Threshold):
        value = chain.reduce(chain.query(condition.signal, condition.where, window), condition.reducer)
        return chain.data, chain.threshold(value, condition.op, condition.value), value
    if isinstance(condition, Ratio):
        a = chain.query(condition.numerator, condition.where, window)
        b = chain.query(condition.denominator, condition.where, window)
        c = chain.reduce(a, condition.reducer_of(condition.numerator))
        d = chain.reduce(b, condition.reducer_of(condition.denominator))
        value = chain.math(f"${c} / ${d}")
        return chain.data, chain.threshold(value, condition.op, condition.value), value
    if isinstance(condition, Forecast):
        head = max(window // 6, 1)
        a = chain.query(condition.signal, condition.where, window)
        b = chain.query(condition.signal, condition.where, window, window - head)
        c, d = chain.reduce(a, "last"), chain.reduce(b, "mean")
        factor = seconds(condition.horizon) / (window - head / 2)
        value = chain.math(f"${c} + (${c} - ${d}) * {factor!r}")
        return chain.data, chain.threshold(value, condition.op, condition.value), value
    if isinstance(condition, Absent):
        count = chain.reduce(chain.query(condition.signal, condition.where, window), "count")
        return chain.data, chain.threshold(count, "<", 1), count
    raise TypeError(f"unknown condition {condition!r}")  # pragma: no cover - the union is closed


def _annotations(alert: Alert, backend: Backend, value_ref: str, link: PanelLink | None) -> dict[str, str]:
    labels = {d.name: "{{ $labels." + backend.label_name(d) + " }}" for s in alert.signals for d in s.dimensions}
    value = "{{ humanize $values." + value_ref + ".Value }}"
    result = {
        "summary": fill_template(escape_go_template(alert.summary), value, labels),
        "description": fill_template(escape_go_template(alert.description), value, labels),
        "runbook": fill_template(escape_go_template(alert.runbook), value, labels),
        MANAGED_ANNOTATION: MANAGED_BY,
    }
    if link is not None:
        result["__dashboardUid__"] = link.dashboard_uid
        if link.panel_id is not None:
            result["__panelId__"] = str(link.panel_id)
    return result


def compile_grafana_rules(
    alerts: Sequence[Alert], backend_name: str, links: Mapping[str, PanelLink] | None = None,
    datasource_uid: str | None = None, group_interval: str = "1m",
) -> GrafanaRules:
    """Grafana-managed rules for one backend; alerts this backend cannot show are left out, with the reason."""
    check_unique(alerts)
    backend = BACKENDS[backend_name]
    ds_uid = datasource_uid or backend.default_datasource_uid
    rules: list[GrafanaRule] = []
    omissions: list[RuleOmission] = []
    for alert in alerts:
        try:
            data, condition, value_ref = _chain(backend, ds_uid, alert)
        except _Skip as skip:
            omissions.append(RuleOmission(alert.name, backend.name, str(skip)))
            continue
        link = (links or {}).get(alert.name)
        title = f"{alert.name} · {backend.display_name}"
        rule: dict[str, Any] = {
            "title": title,
            "condition": condition,
            "data": data,
            "noDataState": "Alerting" if alert.missing == FIRE else "OK",
            "execErrState": "Error",
            "for": alert.for_ or "0s",
            "labels": {"severity": alert.severity, GROUP_LABEL: alert.group, **dict(alert.labels)},
            "annotations": _annotations(alert, backend, value_ref, link),
            "isPaused": False,
        }
        rules.append(GrafanaRule(rule_uid(alert, backend), title, alert.group,
                                 link.folder if link else None, backend.name, alert.name, rule))
    return GrafanaRules(backend.name, tuple(rules), tuple(omissions), group_interval)
