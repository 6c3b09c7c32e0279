"""Alerts as a Prometheus rule file, from the same typed PromQL the panels render.

Each condition becomes one expression:
- Threshold: `expr <op> value`; a level reduced over the window is `max_over_time((expr)[window:1m])` etc.;
- Ratio: `(numerator) / (denominator) <op> value`;
- Forecast: `predict_linear((expr)[window:5m], horizon) <op> value`;
- Absent: `absent(expr)`;
- `missing=FIRE` adds `or absent(expr)`: no series at all is the outage too.
Range windows are the alert's `window`: the panels' `$__rate_interval`, `$__interval` and `$__range` are
replaced, the way Grafana itself replaces them before a query runs (promtool rejects any leftover).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from airflow_dash import fast_yaml
from airflow_dash.alert_rules import PanelLink, RuleOmission, check_unique
from airflow_dash.alerts import FIRE, Absent, Alert, Forecast, Ratio, Threshold, fill_template, is_rate, seconds
from airflow_dash.backends import BACKENDS, PrometheusBackend
from airflow_dash.catalog.model import Signal, Unsupported
from airflow_dash.query import promql as P
from airflow_dash.query.values import MatchValue, duration

RULE_FILE = "airflow-dash.rules.yml"
SUBQUERY_STEP = "1m"
FORECAST_STEP = "5m"
_RANGE_MACRO = re.compile(r"\$__(?:rate_interval|interval|range)\b(?!_)")
_OVER_TIME = {"max": "max_over_time", "min": "min_over_time", "mean": "avg_over_time", "sum": "sum_over_time"}
_COMPARE = {">": P.Expr.gt, ">=": P.Expr.ge, "<": P.Expr.lt, "<=": P.Expr.le}


@dataclass(frozen=True)
class PrometheusRules:
    groups: tuple[dict[str, Any], ...]  # {"name", "interval", "rules": [{"alert", "expr", "for"?, ...}]}
    omissions: tuple[RuleOmission, ...] = ()

    @property
    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self.groups for rule in group["rules"]]

    def to_yaml(self) -> str:
        return dump_rule_file({"groups": list(self.groups)})


def dump_rule_file(document: Mapping[str, Any]) -> str:
    """Block-style YAML, keys in the order Prometheus documents them; stable for diffs."""
    return fast_yaml.safe_dump(dict(document), literal_multiline=True, sort_keys=False, allow_unicode=True, width=4096)


class _Renderer:
    def __init__(self, backend: PrometheusBackend, alert: Alert) -> None:
        self.backend = backend
        self.alert = alert

    def signal(self, signal: Signal, where: Mapping[str, MatchValue]) -> P.Expr:
        expr = self.backend.expression(signal, dict(where))
        if isinstance(expr, Unsupported):
            raise _Skip(expr.reason)
        if not isinstance(expr, P.Expr):
            raise ValueError(f"alert {self.alert.name}: signal {signal.key} has a raw PromQL definition; alerts "
                             "need a query builder expression (airflow_dash.query.promql)")
        return expr

    def text(self, expr: P.Expr) -> str:
        # Typed expressions all the way; only the panels' range macros become the alert's window, as Grafana
        # itself substitutes them before a query runs.
        return _RANGE_MACRO.sub(self.alert.window, str(expr))

    def condition(self) -> P.Expr:
        condition = self.alert.condition
        window = duration(self.alert.window)
        if isinstance(condition, Absent):
            return P.absent(self.signal(condition.signal, condition.where))
        if isinstance(condition, Threshold):
            value = self.signal(condition.signal, condition.where)
            reducer = condition.reducer
            rate = reducer == "mean" and _is_rate(condition.signal)
            if reducer != "last" and not rate:
                if _is_rate(condition.signal):
                    raise ValueError(f"alert {self.alert.name}: reduce {reducer!r} of a rate is not supported")
                value = P.func(_OVER_TIME[reducer], P.Subquery(value, window, duration(SUBQUERY_STEP)))
            compared = _COMPARE[condition.op](value, condition.value)
            base = value
        elif isinstance(condition, Ratio):
            numerator = self.signal(condition.numerator, condition.where)
            denominator = self.signal(condition.denominator, condition.where)
            base = numerator / denominator
            compared = _COMPARE[condition.op](base, condition.value)
        elif isinstance(condition, Forecast):
            level = self.signal(condition.signal, condition.where)
            base = P.predict_linear(P.Subquery(level, window, duration(FORECAST_STEP)), seconds(condition.horizon))
            compared = _COMPARE[condition.op](base, condition.value)
        else:  # pragma: no cover - the Condition union is closed
            raise TypeError(f"unknown condition {condition!r}")
        if self.alert.missing == FIRE:
            return P.binary("or", compared, P.absent(base))
        return compared


class _Skip(Exception):
    pass


def _is_rate(signal: Signal) -> bool:
    return is_rate(signal)


def rule_annotations(alert: Alert, link: PanelLink | None, backend: PrometheusBackend) -> dict[str, str]:
    labels = {d.name: "{{ $labels." + backend.label_name(d) + " }}" for s in alert.signals for d in s.dimensions}
    value = "{{ $value | humanize }}"
    result = {
        "summary": fill_template(escape_go_template(alert.summary), value, labels),
        "description": fill_template(escape_go_template(alert.description), value, labels),
        "runbook": fill_template(escape_go_template(alert.runbook), value, labels),
    }
    if link is not None:
        result["dashboard_uid"] = link.dashboard_uid
        result["panel"] = alert.panel
    return result


def escape_go_template(text: str) -> str:
    """Literal `{{`/`}}` in our texts must not start a Go template action in Prometheus or Grafana."""
    return text.replace("{{", '{{ "{{" }}').replace("}}", '{{ "}}" }}') if "{{" in text or "}}" in text else text


def compile_rules(
    alerts: Sequence[Alert], links: Mapping[str, PanelLink] | None = None, group_interval: str = "1m"
) -> PrometheusRules:
    """One rule group per alert group, in definition order; alerts Prometheus cannot show are left out."""
    check_unique(alerts)
    backend = BACKENDS["prometheus"]
    assert isinstance(backend, PrometheusBackend)
    groups: dict[str, list[dict[str, Any]]] = {}
    omissions: list[RuleOmission] = []
    for alert in alerts:
        renderer = _Renderer(backend, alert)
        try:
            expr = renderer.text(renderer.condition())
        except _Skip as skip:
            omissions.append(RuleOmission(alert.name, backend.name, str(skip)))
            continue
        rule: dict[str, Any] = {"alert": alert.name, "expr": expr}
        if alert.for_ is not None:
            rule["for"] = alert.for_
        rule["labels"] = {"severity": alert.severity, **dict(alert.labels)}
        rule["annotations"] = rule_annotations(alert, (links or {}).get(alert.name), backend)
        groups.setdefault(alert.group, []).append(rule)
    return PrometheusRules(
        tuple({"name": name, "interval": group_interval, "rules": rules} for name, rules in groups.items()),
        tuple(omissions),
    )
