"""Lint rules for alert definitions (AD6xx): what a reviewer checks before an alert can wake someone.

They look at the definitions (`airflow_dash.alerts.Alert`), the dashboards the alerts point at, and the
compiled Prometheus rule (for what the expression really reads). Findings use the same `Finding` as the
dashboard rules; `dashboard` is "alert <name>" and `panel` the panel the alert names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from airflow_dash.alerts import Alert
from airflow_dash.catalog.model import Signal
from airflow_dash.dashboard import Dashboard
from airflow_dash.lint import promql_ast
from airflow_dash.lint.model import Finding, Rule, Severity
from airflow_dash.panels import AnyPanel, LibraryPanel, Query
from airflow_dash.lint.rules import _is_counter, _reads_counter_safely

AlertRule = Rule["AlertContext", str]
AlertCheck = TypeVar("AlertCheck", bound=Callable[["AlertContext"], Iterable[str]])

ALERT_RULES: dict[str, AlertRule] = {}
SOURCE = "alerts"


@dataclass(frozen=True)
class AlertContext:
    """One alert with what its rules need: the dashboards and its compiled Prometheus expression (if any)."""

    alert: Alert
    dashboards: Sequence[Dashboard]
    prometheus_expr: str | None


def _rule(rule_id: str, name: str, severity: Severity, summary: str) -> Callable[[AlertCheck], AlertCheck]:
    def register(check: AlertCheck) -> AlertCheck:
        ALERT_RULES[rule_id] = Rule(rule_id, name, severity, summary, check)
        return check
    return register


@_rule("AD601", "alert-for", "warning", "Every alert waits a `for` duration before it fires (one bad evaluation is not an incident); `for_=\"0s\"` says so on purpose.")
def alert_for(context: AlertContext) -> Iterator[str]:
    if context.alert.for_ is None:
        yield "no `for`: it fires on the first evaluation that crosses the threshold (set for_=..., or \"0s\" on purpose)"


@_rule("AD602", "alert-counter-threshold", "error", "An alert never compares a raw counter (`*_total`, `*_count`, `*_sum`, `*_bucket` outside rate/increase) with a threshold: it only grows.")
def alert_counter_threshold(context: AlertContext) -> Iterator[str]:
    if not context.prometheus_expr:
        return
    tree = promql_ast.parse_for_lint(context.prometheus_expr)
    if tree is None:
        return
    bare = sorted({name for name, ancestors in ((promql_ast.metric_name(s), a) for s, a in promql_ast.vector_selectors(tree))
                   if _is_counter(name) and not any(_reads_counter_safely(a) for a in ancestors)})
    if bare:
        yield f"threshold on raw counter {', '.join(bare)}: compare its rate (a COUNTER/DELTA signal) instead"


@_rule("AD603", "alert-runbook", "error", "Every alert has a runbook: what to check first, in a sentence or more.")
def alert_runbook(context: AlertContext) -> Iterator[str]:
    if len(context.alert.runbook.split()) < 3:
        yield "no runbook: say what to check first (runbook=...)"


def _same_quantity(a: Signal, b: Signal) -> bool:
    """The same catalog quantity, possibly split differently (a `replace(signal, group_by=...)` copy)."""
    return a.key == b.key or (a.prometheus is b.prometheus and a.telegraf == b.telegraf)


def _queries(panel: AnyPanel) -> tuple[Query, ...]:
    """The catalog queries a panel shows (a library panel's live in Grafana: none we can see)."""
    return () if isinstance(panel, LibraryPanel) else panel.queries


def _panels(dashboards: Sequence[Dashboard]) -> Iterator[tuple[Dashboard, AnyPanel]]:
    for dashboard in dashboards:
        for row in dashboard.rows:
            for panel in row.panels:
                yield dashboard, panel


@_rule("AD604", "alert-signal-shown", "error", "An alert's signals are shown by a panel, and its own panel shows at least one of them: whoever is paged can see what fired.")
def alert_signal_shown(context: AlertContext) -> Iterator[str]:
    alert = context.alert
    panels = list(_panels(context.dashboards))
    for signal in alert.signals:
        if not any(_same_quantity(signal, q.signal) for _, p in panels for q in _queries(p)):
            yield f"signal {signal.key} is shown by no panel: add it to a dashboard, or alert on one that is"
    own = [p for d, p in panels if d.key == alert.dashboard and p.title == alert.panel]
    if own and not any(_same_quantity(s, q.signal) for p in own for q in _queries(p) for s in alert.signals):
        yield f"panel {alert.panel!r} of {alert.dashboard} shows none of the alert's signals"


def lint_alerts(alerts: Sequence[Alert], dashboards: Sequence[Dashboard], prometheus_exprs: dict[str, str],
                rules: Iterable[AlertRule] | None = None) -> list[Finding]:
    """Findings for every alert, in definition order then rule id."""
    findings = []
    for alert in alerts:
        context = AlertContext(alert, dashboards, prometheus_exprs.get(alert.name))
        for rule in rules if rules is not None else ALERT_RULES.values():
            for message in rule.check(context):
                findings.append(Finding(rule.id, rule.severity, message, SOURCE, f"alert {alert.name}", alert.panel))
    return findings
