"""Run the rules over dashboards, apply suppressions, and sort findings deterministically."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from airflow_dash.lint.index import LintedDashboard
from airflow_dash.lint.model import DashboardDocument, Finding, PanelInfo
from airflow_dash.lint.rules import RULES, DashboardRule, grid_rect


@dataclass(frozen=True)
class LintReport:
    findings: tuple[Finding, ...]
    dashboards: int

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        """1 when any error (CI fails), 0 with warnings only."""
        return 1 if self.errors else 0


def _finding(rule: DashboardRule, dashboard: LintedDashboard, panel: PanelInfo | None, message: str) -> Finding:
    return Finding(
        rule_id=rule.id,
        severity=rule.severity,
        message=message,
        source=dashboard.document.source,
        dashboard=dashboard.document.label,
        panel=(panel.title or f"<untitled {panel.type or 'panel'}>") if panel else None,
        grid_pos=grid_rect(panel) if panel else None,
        order=panel.index if panel else -1,
    )


def lint_documents(documents: Sequence[DashboardDocument], rules: Iterable[DashboardRule] | None = None) -> LintReport:
    """Lint every document with `rules` (default all); findings a description disables are dropped."""
    dashboards = [LintedDashboard.of(document) for document in documents]
    position = {id(d): i for i, d in enumerate(dashboards)}
    findings = []
    for rule in rules if rules is not None else RULES.values():
        for dashboard, panel, message in rule.check(dashboards):
            if rule.id in dashboard.suppressed_for(panel):
                continue
            findings.append((position[id(dashboard)], _finding(rule, dashboard, panel, message)))
    findings.sort(key=lambda item: (item[0], item[1].order, item[1].rule_id, item[1].message))
    return LintReport(tuple(f for _, f in findings), len(dashboards))
