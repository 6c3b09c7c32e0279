"""Compile alert definitions (`airflow_dash.alerts`) for each backend.

- `prometheus`: a Prometheus rule file (`groups:` of `alert`/`expr`/`for`/`labels`/`annotations`), checked by
  `promtool check rules` and unit-tested by `promtool test rules`;
- `grafana`: Grafana-managed alert rules (provisioning API objects and file-provisioning YAML), one data query
  per signal, then reduce, math and threshold expressions. Works for every backend through the `Backend`
  interface; the InfluxDB backends need it (they have no rule engine of their own).

Each alert names the dashboard and panel it belongs to; `link_alerts` resolves them against the compiled
dashboards, so a rule links to its panel and a typo in a panel title fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from airflow_dash.alerts import Alert
from airflow_dash.compile import CompiledDashboard

if TYPE_CHECKING:  # imported where used: a build without alerts never loads the rule compilers
    from airflow_dash.alert_rules.grafana import GrafanaRules
    from airflow_dash.alert_rules.prometheus import PrometheusRules

MANAGED_BY = "airflow-dash"


@dataclass(frozen=True)
class PanelLink:
    """Where an alert's panel lives on one backend: dashboard uid and panel id (None if left out there)."""

    dashboard_uid: str
    panel_id: int | None
    dashboard_title: str
    folder: str | None


@dataclass(frozen=True)
class RuleOmission:
    """An alert left out for one backend, and why (a signal this stack cannot show)."""

    alert: str
    backend: str
    reason: str


def _panels(model: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def link_alerts(
    alerts: Sequence[Alert], compiled: Sequence[CompiledDashboard], backend: str
) -> dict[str, PanelLink]:
    """Alert name -> its panel on `backend`; ValueError when a dashboard or panel does not exist."""
    by_key = {c.name: c for c in compiled if c.backend == backend}
    links: dict[str, PanelLink] = {}
    for alert in alerts:
        dashboard = by_key.get(alert.dashboard)
        if dashboard is None:
            known = ", ".join(sorted(by_key)) or "none"
            raise ValueError(f"alert {alert.name}: unknown dashboard {alert.dashboard!r} (known: {known})")
        panel_id = next((p.get("id") for p in _panels(dashboard.model) if p.get("title") == alert.panel), None)
        if panel_id is None and not any(o.what == f"panel '{alert.panel}'" for o in dashboard.omissions):
            raise ValueError(f"alert {alert.name}: dashboard {alert.dashboard!r} has no panel {alert.panel!r}")
        links[alert.name] = PanelLink(dashboard.uid, panel_id, dashboard.title, dashboard.folder)
    return links


def check_unique(alerts: Sequence[Alert]) -> None:
    seen: set[str] = set()
    for alert in alerts:
        if alert.name in seen:
            raise ValueError(f"alert {alert.name} is defined twice")
        seen.add(alert.name)


@dataclass(frozen=True)
class CompiledAlerts:
    """Everything `build` writes for alerts: the Prometheus rule file and Grafana rules per backend."""

    prometheus: PrometheusRules | None  # when the prometheus backend was built
    grafana: dict[str, GrafanaRules]  # backend name -> its rules (backends without a rule engine of their own)
    omissions: tuple[RuleOmission, ...] = ()

    def queries(self) -> list[tuple[str, str, str]]:
        """(language, alert, query text) of every rule, for the offline checkers."""
        result: list[tuple[str, str, str]] = []
        if self.prometheus is not None:
            result += [("promql", r["alert"], r["expr"]) for r in self.prometheus.rules]
        for backend, rules in self.grafana.items():
            from airflow_dash.backends import BACKENDS

            language = BACKENDS[backend].language
            field = {"promql": "expr"}.get(language, "query")
            for rule in rules.rules:
                result += [(language, rule.alert, d["model"][field]) for d in rule.rule["data"]
                           if d["datasourceUid"] != "__expr__"]
        return result

    def files(self) -> dict[str, str]:
        """Relative path -> text: `prometheus/airflow-dash.rules.yml`, `<backend>/grafana-alert-rules.yaml`."""
        from airflow_dash.alert_rules.prometheus import RULE_FILE

        result: dict[str, str] = {}
        if self.prometheus is not None:
            result[f"prometheus/{RULE_FILE}"] = self.prometheus.to_yaml()
        for backend, rules in sorted(self.grafana.items()):
            result[f"{backend}/{GRAFANA_RULE_FILE}"] = rules.provisioning_yaml()
        return result


GRAFANA_RULE_FILE = "grafana-alert-rules.yaml"


def rule_file_names() -> frozenset[str]:
    """The names of every rule file a build writes (in `<backend>/`): what a later build may remove."""
    from airflow_dash.alert_rules.prometheus import RULE_FILE

    return frozenset({RULE_FILE, GRAFANA_RULE_FILE})


def compile_alerts(
    alerts: Sequence[Alert], compiled: Sequence[CompiledDashboard], backends: Sequence[str],
    datasource_uids: Mapping[str, str] | None = None,
) -> CompiledAlerts:
    """Rules for each backend in `backends`: a rule file where the backend has its own rule engine
    (Prometheus), Grafana-managed rules elsewhere. ValueError for a bad definition (unknown panel...)."""
    from airflow_dash.alert_rules.grafana import compile_grafana_rules
    from airflow_dash.alert_rules.prometheus import compile_rules
    from airflow_dash.backends import BACKENDS

    check_unique(alerts)
    prometheus: PrometheusRules | None = None
    grafana: dict[str, GrafanaRules] = {}
    omissions: list[RuleOmission] = []
    for name in backends:
        backend = BACKENDS[name]
        links = link_alerts(alerts, compiled, name)
        if backend.has_rule_engine:
            prometheus = compile_rules(alerts, links)
            omissions += prometheus.omissions
        else:
            grafana[name] = compile_grafana_rules(alerts, name, links, (datasource_uids or {}).get(name))
            omissions += grafana[name].omissions
    return CompiledAlerts(prometheus, grafana, tuple(omissions))
