"""Datasource provisioning files: loading, ${VAR} substitution, errors, and create-or-update by uid."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_dash.errors import UserError
from airflow_dash.grafana.datasources import (
    apply_datasource, load_datasources, plan_datasources, referenced_datasource_uids,
)
from tests.grafana_fixtures import sample_dashboard

BUNDLED = Path(__file__).resolve().parents[1] / "datasources"
FULL_ENV = {"PROMETHEUS_URL": "http://prom:9090", "INFLUXDB_URL": "http://influx:8086", "INFLUXDB_ORG": "org",
            "INFLUXDB_BUCKET": "airflow", "INFLUXDB_TOKEN": "tok-secret-1", "INFLUXQL_URL": "http://i1:8086",
            "INFLUXQL_DATABASE": "airflow", "INFLUXQL_USER": "grafana", "INFLUXQL_PASSWORD": "pw-secret-2"}


def test_bundled_files_define_the_three_datasources():
    specs = load_datasources(BUNDLED, FULL_ENV)
    assert sorted(s.uid for s in specs) == ["influxdb-flux", "influxdb-influxql", "prometheus"]
    flux = next(s for s in specs if s.uid == "influxdb-flux")
    assert flux.fields["jsonData"] == {"version": "Flux", "organization": "org", "defaultBucket": "airflow",
                                       "timeInterval": "10s"}
    assert flux.secure == {"token": "tok-secret-1"}
    for spec in specs:  # secrets stay out of every repr
        assert "secret" not in repr(spec)


def test_substitution_escape_and_only_values(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "apiVersion: 1\ndatasources:\n  - name: A\n    type: prometheus\n    uid: a\n"
        "    url: http://$HOST:${PORT}/x\n    jsonData:\n      $KEY: 'cost $$5'\n")
    [spec] = load_datasources(tmp_path, {"HOST": "h", "PORT": "9", "KEY": "unused"})
    assert spec.fields["url"] == "http://h:9/x"
    assert spec.fields["jsonData"] == {"$KEY": "cost $5"}


def test_missing_variable_names_variable_and_file(tmp_path):
    with pytest.raises(UserError) as caught:
        load_datasources(BUNDLED, {k: v for k, v in FULL_ENV.items() if k != "INFLUXDB_TOKEN"})
    assert "INFLUXDB_TOKEN" in str(caught.value) and "influxdb-flux.yaml" in str(caught.value)
    # Only the datasources a publish needs require their variables.
    assert [s.uid for s in load_datasources(BUNDLED, {"PROMETHEUS_URL": "http://p"}, uids={"prometheus"})] == ["prometheus"]


def test_malformed_yaml_names_file_and_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("apiVersion: 1\ndatasources:\n  - name: x\n\tuid: tab\n")
    with pytest.raises(UserError, match=r"bad\.yaml:4: malformed YAML"):
        load_datasources(tmp_path, {})


def test_entries_need_a_uid_and_uids_must_be_unique(tmp_path):
    (tmp_path / "a.yaml").write_text("datasources:\n  - name: A\n    type: prometheus\n")
    with pytest.raises(UserError, match="needs a 'uid'"):
        load_datasources(tmp_path, {})
    (tmp_path / "a.yaml").write_text("datasources:\n  - {name: A, type: prometheus, uid: same}\n")
    (tmp_path / "b.yaml").write_text("datasources:\n  - {name: B, type: prometheus, uid: same}\n")
    with pytest.raises(UserError, match="also defined"):
        load_datasources(tmp_path, {})


def test_referenced_uids_skip_builtin_and_variables():
    model = sample_dashboard("x", "y").model
    model["annotations"]["list"].append({"datasource": {"type": "grafana", "uid": "-- Grafana --"}})
    model["panels"].append({"datasource": {"uid": "${ds}"}})
    assert referenced_datasource_uids(model) == {"prometheus"}


def test_create_then_unchanged_then_update(grafana):
    emulator = grafana.require_emulator()
    client = grafana.client()
    specs = load_datasources(BUNDLED, FULL_ENV)
    plans = plan_datasources(client, specs)
    assert {p.action for p in plans} == {"create"}
    assert [apply_datasource(client, p) for p in plans] == ["created"] * 3
    assert emulator.datasource("influxdb-influxql")["secureJsonData"] == {"password": "pw-secret-2"}

    emulator.reset_requests()
    assert {p.action for p in plan_datasources(client, specs)} == {"unchanged"}
    assert [r.method for r in emulator.requests] == ["GET"] * 3

    moved = load_datasources(BUNDLED, {**FULL_ENV, "PROMETHEUS_URL": "http://prom-2:9090"})
    plans = {p.spec.uid: p for p in plan_datasources(client, moved)}
    assert plans["prometheus"].action == "update" and plans["prometheus"].changes == ("url",)
    assert apply_datasource(client, plans["prometheus"]) == "updated"
    assert emulator.datasource("prometheus")["url"] == "http://prom-2:9090"
    assert plan_datasources(client, moved, update_secrets=True)[1].action == "update"


def test_read_only_datasource_is_reported_not_written(grafana):
    emulator = grafana.require_emulator()
    emulator.add_datasource({"name": "P", "type": "prometheus", "uid": "prometheus", "url": "http://old",
                             "access": "proxy"}, read_only=True)
    [plan] = plan_datasources(grafana.client(), load_datasources(BUNDLED, FULL_ENV, uids={"prometheus"}))
    assert plan.action == "read-only" and not plan.writes
