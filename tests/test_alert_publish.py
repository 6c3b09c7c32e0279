"""Publishing Grafana-managed alert rules: the expected writes, then zero; drift refused; prune only ours.

Runs on the emulator's alert-rule API (airflow_dash.testing.grafana_alerting), or a real Grafana when
GRAFANA_URL/GRAFANA_TOKEN are set (the `grafana` fixture).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from airflow_dash.build import compile_alert_rules
from airflow_dash.grafana.alert_publish import (
    HASH_ANNOTATION, RULES_PATH, apply_alert_rules, dry_run_items, plan_alert_rules, rule_hash,
)
from airflow_dash.grafana.model import folder_uid, target_folder_path

ROOT = Path(__file__).resolve().parents[1]
WRITE_METHODS = ("POST", "PUT", "DELETE", "PATCH")


@pytest.fixture(scope="module")
def rules():
    compiled = compile_alert_rules(["flux", "influxql"], ROOT / "dashboards", ROOT / "alerts")
    return [r for backend in ("flux", "influxql") for r in compiled.grafana[backend].rules]


def rule_writes(emulator) -> list:
    return [r for r in emulator.requests if r.method in WRITE_METHODS and r.path.startswith(RULES_PATH)]


def publish(grafana, rules, **options):
    client = grafana.client()
    plan = plan_alert_rules(client, rules, root_folder=grafana.root_folder, **options)
    return plan, apply_alert_rules(client, plan)


def test_publish_creates_every_rule_then_republish_writes_nothing(grafana, rules):
    plan, items = publish(grafana, rules)
    assert {s.action for s in plan.steps} == {"create"}
    assert [i.outcome for i in items if i.kind == "alert rule"] == ["created"] * len(rules)
    client = grafana.client()
    live = client.request("GET", f"{RULES_PATH}/{rules[0].uid}", what="t")[1]
    assert live["folderUID"] == folder_uid(target_folder_path(grafana.root_folder, rules[0].folder))
    assert live["annotations"][HASH_ANNOTATION] == rule_hash(live)
    assert live["provenance"] == "api" and live["ruleGroup"] == rules[0].group
    if grafana.emulator is not None:
        assert len(rule_writes(grafana.emulator)) == len(rules)  # one POST per rule, nothing else
        grafana.emulator.reset_requests()

    plan, items = publish(grafana, rules)
    assert {s.action for s in plan.steps} == {"unchanged"} and plan.write_count == 0
    assert {i.outcome for i in items} == {"unchanged"}
    if grafana.emulator is not None:
        assert rule_writes(grafana.emulator) == []
        assert [r.method for r in grafana.emulator.requests if r.path.startswith(RULES_PATH)] == ["GET"] * len(rules)


def test_changed_threshold_updates_only_that_rule(grafana, rules):
    publish(grafana, rules)
    changed = rules[0].rule | {"for": "7m"}
    edited = [replace(rules[0], rule=changed), *rules[1:]]
    plan, items = publish(grafana, edited)
    assert [(s.uid, s.action) for s in plan.steps if s.action != "unchanged"] == [(rules[0].uid, "update")]
    assert "for" in plan.steps[0].reason
    assert [i.outcome for i in items if i.outcome != "unchanged"] == ["updated"]


def test_rule_edited_in_grafana_is_refused_without_force(grafana, rules):
    emulator = grafana.require_emulator()
    publish(grafana, rules)
    emulator.alerting.edit_rule_as_user(rules[1].uid, lambda r: r.update({"for": "1h"}))
    emulator.reset_requests()
    plan, items = publish(grafana, rules)
    assert [s.uid for s in plan.blocked] == [rules[1].uid]
    assert rule_writes(emulator) == []  # refused before any write
    assert {i.outcome for i in items if i.key == rules[1].uid} == {"refused"}
    assert all(i.outcome in ("unchanged", "refused") for i in items)
    assert [i.outcome for i in dry_run_items(plan) if i.key == rules[1].uid] == ["refused"]

    plan, items = publish(grafana, rules, force=True)
    assert [i.outcome for i in items if i.key == rules[1].uid] == ["updated"]
    assert emulator.alerting.rule(rules[1].uid)["for"] == rules[1].rule["for"]


def test_foreign_and_file_provisioned_rules_are_never_overwritten(grafana, rules):
    emulator = grafana.require_emulator()
    publish(grafana, rules[2:])
    folder = folder_uid(target_folder_path(grafana.root_folder, rules[0].folder))
    foreign = rules[0].api_body(folder) | {"uid": rules[0].uid, "annotations": {"summary": "someone else's"}}
    emulator.alerting.add_rule(foreign)
    emulator.alerting.add_rule(rules[1].api_body(folder) | {"uid": rules[1].uid}, provenance="file")
    plan, items = publish(grafana, rules)
    assert {s.uid: s.action for s in plan.blocked} == {rules[0].uid: "conflict", rules[1].uid: "conflict"}
    plan, items = publish(grafana, rules, force=True)
    outcomes = {i.key: i.outcome for i in items}
    assert plan.blocked and outcomes[rules[1].uid] == "refused"  # --force cannot change a file-provisioned rule
    assert emulator.alerting.rule(rules[0].uid)["annotations"]["summary"] == "someone else's"


def test_prune_deletes_only_our_rules_that_are_gone(grafana, rules):
    emulator = grafana.require_emulator()
    publish(grafana, rules)
    folder = folder_uid(target_folder_path(grafana.root_folder, rules[0].folder))
    emulator.alerting.add_rule({**rules[0].api_body(folder), "uid": "users-own-rule", "title": "User rule",
                                "annotations": {}})
    emulator.reset_requests()
    plan, items = publish(grafana, rules[1:], prune=True)
    deletes = [s for s in plan.steps if s.prune]
    assert [(s.uid, s.action) for s in deletes] == [(rules[0].uid, "delete")]
    assert [(r.method, r.path) for r in rule_writes(emulator)] == [("DELETE", f"{RULES_PATH}/{rules[0].uid}")]
    assert emulator.alerting.rule(rules[0].uid) is None
    assert emulator.alerting.rule("users-own-rule") is not None


def test_emulator_validates_rules_like_the_schema(grafana, rules):
    emulator = grafana.require_emulator()
    client = grafana.client()
    publish(grafana, rules[:1])
    body = rules[1].api_body(folder_uid(target_folder_path(grafana.root_folder, rules[1].folder)))
    for broken, message in (({"condition": "Z"}, "condition"), ({"noDataState": "Maybe"}, "noDataState"),
                            ({"folderUID": "no-such-folder"}, "does not exist"), ({"title": ""}, "title")):
        status, answer = client.request("POST", RULES_PATH, json={**body, **broken}, what="t", allow=(400,))
        assert status == 400 and message in answer["message"]
    status, _ = client.request("POST", RULES_PATH, json={**body, "uid": rules[0].uid}, what="t", allow=(409,))
    assert status == 409
    status, _ = client.request("DELETE", f"{RULES_PATH}/{rules[0].uid}", what="t")
    assert status == 204 and emulator.alerting.rule(rules[0].uid) is None


# --- the command line: dashboards and alert rules in one plan and one report ------------------------------------

def test_publish_command_publishes_alert_rules_with_the_dashboards(grafana, tmp_path):
    import json
    import subprocess
    import sys

    emulator = grafana.require_emulator()
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\nfolder = "ignored-by-env"\n')
    env = grafana.env()

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "publish", "--backend", "influxql",
                                 "--no-datasources", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=300)
        assert "Traceback" not in result.stderr and grafana.token not in result.stdout + result.stderr
        return result

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "alert rule AirflowSchedulerHeartbeatMissing · InfluxDB InfluxQL" in dry.stdout
    assert [r for r in emulator.requests if r.method != "GET"] == []

    first = run()
    assert first.returncode == 0, first.stderr
    table = [line.split() for line in first.stdout.splitlines() if line.startswith("alert rule")]
    assert len(table) == len(emulator.alerting.rules) == 15 and all("created" in row for row in table)
    emulator.reset_requests()

    second = run("--output", "json")
    assert second.returncode == 0, second.stderr
    document = json.loads(second.stdout)
    assert {s["action"] for s in document["plan"]["alert_rules"]} == {"unchanged"}
    assert {i["outcome"] for i in document["report"]["items"]} == {"unchanged"}
    assert [r for r in emulator.requests if r.method != "GET"] == []  # a republish writes nothing

    uid = next(iter(emulator.alerting.rules))
    emulator.alerting.edit_rule_as_user(uid, lambda r: r["labels"].update(severity="info"))
    emulator.reset_requests()
    refused = run()
    assert refused.returncode == 1
    assert "publish refused: 1 alert rule(s) changed in Grafana" in refused.stderr
    assert [r for r in emulator.requests if r.method != "GET"] == []
    assert emulator.alerting.rule(uid)["labels"]["severity"] == "info"


def test_rule_hash_is_the_dashboard_content_hash_and_never_changes_for_a_published_rule(monkeypatch):
    """Alert rules hash like dashboards (one canonical encoder, model.canonical_bytes), and the hash is still
    the one rules were published with (stdlib compact sorted JSON), or every rule would look edited."""
    import hashlib
    import json

    import airflow_dash.grafana.model as model_module
    from airflow_dash.grafana import alert_publish

    rule = {"uid": "r1", "title": "Ünïcode büsy", "condition": "C", "data": [{"refId": "A", "model": {"expr": "x>1"}}],
            "labels": {"team": "ops"}, "annotations": {"summary": "hi", alert_publish.HASH_ANNOTATION: "old"},
            "for": "5m", "orgID": 1, "id": 99, "updated": "now"}
    text = json.dumps(alert_publish.comparable(rule), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert alert_publish.rule_hash(rule) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    encodes = []
    real = model_module.canonical_bytes
    monkeypatch.setattr(model_module, "canonical_bytes", lambda v: encodes.append(1) or real(v))
    monkeypatch.setattr(alert_publish, "canonical_bytes", model_module.canonical_bytes)
    stamped = alert_publish.stamp(rule)
    assert encodes == [1] and not alert_publish.has_drifted(stamped)
