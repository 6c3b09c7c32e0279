"""Settings precedence (default < pyproject < env < CLI), sources and secret handling."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from airflow_dash.errors import UserError
from airflow_dash.settings import effective_settings, load_settings


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.airflow-dash]\nfolder = "Team"\nbackends = ["prometheus"]\ngrafana_url = "http://from-file:3000"\n')
    return tmp_path


def test_precedence_and_sources(project):
    values = effective_settings({}, {}, project)
    assert (values["folder"].value, values["folder"].source) == ("Team", "pyproject.toml")
    assert values["retries"].source == "default"
    assert values["dashboards_dir"].value == str(project / "dashboards")

    env = {"GRAFANA_URL": "http://from-env:3000", "AIRFLOW_DASH_FOLDER": "EnvFolder", "GRAFANA_TOKEN": "glsa_x",
           "AIRFLOW_DASH_BACKENDS": "flux,influxql", "GRAFANA_ORG_ID": "3"}
    values = effective_settings({"folder": "Cli"}, env, project)
    assert (values["grafana_url"].value, values["grafana_url"].source) == ("http://from-env:3000", "env GRAFANA_URL")
    assert (values["folder"].value, values["folder"].source) == ("Cli", "--folder")
    assert values["backends"].value == ["flux", "influxql"] and values["grafana_org_id"].value == 3
    assert values["grafana_token"].display == "****** (set)" and "glsa_x" not in repr(values["grafana_token"])
    settings = load_settings({}, env, project)
    assert "glsa_x" not in repr(settings) and settings.verify is True


def test_token_in_pyproject_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airflow-dash]\ngrafana_token = "glsa_leak"\n')
    with pytest.raises(UserError, match="GRAFANA_TOKEN") as caught:
        effective_settings({}, {}, tmp_path)
    assert "glsa_leak" not in str(caught.value)


def test_bad_values_are_user_errors(project):
    with pytest.raises(UserError, match="retries"):
        effective_settings({}, {"AIRFLOW_DASH_RETRIES": "many"}, project)
    with pytest.raises(UserError, match="unknown backend"):
        effective_settings({}, {"AIRFLOW_DASH_BACKENDS": "graphite"}, project)


def test_insecure_and_ca_cert(project):
    assert load_settings({"insecure": True}, {}, project).verify is False
    assert load_settings({"ca_cert": "/etc/ssl/ca.pem"}, {}, project).verify == "/etc/ssl/ca.pem"


def test_config_command_masks_secrets(project, monkeypatch):
    from airflow_dash.commands.publish import config

    monkeypatch.chdir(project)
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_never_shown")
    monkeypatch.setenv("GRAFANA_PASSWORD", "pw_never_shown")
    result = CliRunner().invoke(config, ["--output", "json"])
    assert result.exit_code == 0
    assert "glsa_never_shown" not in result.output and "pw_never_shown" not in result.output
    assert '"source": "env GRAFANA_TOKEN"' in result.output


@pytest.mark.parametrize("bundled, shown", [("false", "bundled (none)"), ('["system"]', "bundled (system)"),
                                            ("true", "bundled (all)")])
def test_config_names_the_bundled_selection(tmp_path, monkeypatch, bundled, shown):
    """`bundled = false` with a dashboards directory was a TypeError traceback in `config`."""
    from airflow_dash.commands.publish import config

    (tmp_path / "pyproject.toml").write_text(f"[tool.airflow-dash]\nbundled = {bundled}\n")
    (tmp_path / "dashboards").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(config, [])
    assert result.exit_code == 0, result.output
    assert f"{shown} + {tmp_path / 'dashboards'}" in result.output
