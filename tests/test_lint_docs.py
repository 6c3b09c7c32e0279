"""The reviewing guide and the CI example stay in sync with the code."""

from __future__ import annotations

import re
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
                   "make build", "make --silent diff DIFF_OUTPUT=markdown", "sticky-pull-request-comment",
                   "make preview", "actions/upload-artifact"):  # fmt: skip
        assert needle in review_text, needle
    assert "setup-ci" not in WORKFLOW.read_text(encoding="utf-8")  # nothing of this repository's Makefile
    (publish_step,) = [s for s in publish["steps"] if s.get("run") == "make publish"]
    assert {k: publish_step["env"][k] for k in ("GRAFANA_URL", "GRAFANA_TOKEN")} == {
        "GRAFANA_URL": "${{ secrets.GRAFANA_URL }}", "GRAFANA_TOKEN": "${{ secrets.GRAFANA_TOKEN }}"}
    assert "push" in publish["if"]
    (diff_step,) = [s for s in review["steps"] if "diff" in str(s.get("run", ""))]
    assert "pull_request" in diff_step["if"] and diff_step["env"]["GRAFANA_TOKEN"] == "${{ secrets.GRAFANA_TOKEN }}"


def test_example_workflow_and_datasources_are_what_init_writes():
    """The example here is `airflow-dash init --backend prometheus --backend flux --backend influxql`'s output."""
    from airflow_dash.scaffold import scaffold_files

    files = {f.path: f.text for f in scaffold_files("x", ["prometheus", "flux", "influxql"], "0.1.0", [])}
    assert WORKFLOW.read_text(encoding="utf-8") == files[".github/workflows/dashboards.yml"]
    for path in sorted((ROOT / "datasources").glob("*.yaml")):
        assert path.read_text(encoding="utf-8") == files[f"datasources/{path.name}"], path.name
    targets = set(re.findall(r"^([a-z-]+):", files["Makefile"], re.MULTILINE))
    assert {"setup", "build", "lint", "diff", "publish", "preview"} <= targets
