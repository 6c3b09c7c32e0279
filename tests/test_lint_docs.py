"""The reviewing guide and the CI example stay in sync with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from airflow_dash.lint import RULES, rules_table

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reviewing.md"
WORKFLOW = ROOT / ".github" / "workflows" / "dashboards.yml"


def test_doc_lists_every_rule_with_the_generated_table():
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- rules:start -->\n", 1)[1].split("\n<!-- rules:end -->", 1)[0]
    assert table == rules_table(), "regenerate the table: python -c 'from airflow_dash.lint import rules_table; print(rules_table())'"
    for rule_id in RULES:
        assert f"| {rule_id} |" in text


def test_doc_explains_suppression_syntax():
    text = DOC.read_text(encoding="utf-8")
    assert "lint-disable AD304" in text and "<!-- lint-disable" in text


def test_workflow_parses_and_runs_the_review_steps():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    review, publish = workflow["jobs"]["review"], workflow["jobs"]["publish"]
    review_text = "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in review["steps"])
    for needle in ("actions/setup-python", "actions/setup-node", "make setup", "airflow-dash lint --output github",
                   "airflow-dash build", "--against", "--output markdown", "sticky-pull-request-comment",
                   "airflow-dash preview", "actions/upload-artifact"):  # fmt: skip
        assert needle in review_text, needle
    (publish_step,) = [s for s in publish["steps"] if s.get("run") == "make publish"]
    assert publish_step["env"] == {"GRAFANA_URL": "${{ secrets.GRAFANA_URL }}", "GRAFANA_TOKEN": "${{ secrets.GRAFANA_TOKEN }}"}
    assert "push" in publish["if"] and "pull_request" in review["if"]
