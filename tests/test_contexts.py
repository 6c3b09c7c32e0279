"""Named contexts: `[tool.airflow-dash.contexts.<name>]` (Grafana URL, org, folder, credentials source) chosen
with `--context`, AIRFLOW_DASH_CONTEXT or the `context` setting; and used end to end against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_dash.errors import UserError
from airflow_dash.settings import effective_settings, load_settings, select_context

ROOT = Path(__file__).resolve().parent.parent

CONTEXTS = """
[tool.airflow-dash]
folder = "Airflow"
backends = ["prometheus"]

[tool.airflow-dash.contexts.dev]
grafana_url = "http://dev.grafana.example:3000"
folder = "Airflow/Dev"

[tool.airflow-dash.contexts.staging]
grafana_url = "https://staging.grafana.example"
grafana_org_id = 3
folder = "Airflow/Staging"
grafana_token_env = "STAGING_GRAFANA_TOKEN"

[tool.airflow-dash.contexts.prod]
grafana_url = "https://grafana.example"
grafana_org_id = 2
folder = "Airflow/Prod"
grafana_user = "publisher"
grafana_password_env = "PROD_GRAFANA_PASSWORD"
"""


@pytest.fixture(autouse=True)
def _no_selected_context():
    select_context(None)
    yield
    select_context(None)


def project(tmp_path: Path, text: str = CONTEXTS) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'team'\n" + text)
    return tmp_path


def test_a_context_gives_its_url_org_folder_and_credentials(tmp_path):
    root = project(tmp_path)
    env = {"STAGING_GRAFANA_TOKEN": "staging-secret", "PROD_GRAFANA_PASSWORD": "prod-pw"}
    staging = load_settings({"context": "staging"}, env, root)
    assert (staging.context, staging.grafana_url, staging.grafana_org_id, staging.folder) == (
        "staging", "https://staging.grafana.example", 3, "Airflow/Staging")
    assert staging.grafana_token == "staging-secret" and staging.grafana_password is None
    assert staging.backends == ["prometheus"]  # the rest of the table still applies
    prod = load_settings({"context": "prod"}, env, root)
    assert (prod.grafana_user, prod.grafana_password, prod.grafana_token) == ("publisher", "prod-pw", None)
    sources = effective_settings({"context": "prod"}, env, root)
    assert sources["folder"].source == "context prod (pyproject.toml)"
    assert sources["grafana_password"].source == "env PROD_GRAFANA_PASSWORD (context prod)"
    assert sources["context"].source == "--context"


def test_the_generic_token_is_never_sent_to_a_context_that_names_another_source(tmp_path):
    root = project(tmp_path)
    env = {"GRAFANA_TOKEN": "dev-token", "GRAFANA_PASSWORD": "dev-pw", "AIRFLOW_DASH_GRAFANA_TOKEN": "other"}
    for name in ("dev", "staging", "prod"):
        chosen = load_settings({"context": name}, env, root)
        assert chosen.grafana_token is None and chosen.grafana_password is None, name
    assert load_settings(None, env, root).grafana_token == "dev-token"  # no context: as before


def test_a_chosen_context_beats_the_environment_and_options_beat_the_context(tmp_path):
    root = project(tmp_path)
    env = {"GRAFANA_URL": "http://somewhere-else:3000", "AIRFLOW_DASH_FOLDER": "FromEnv"}
    chosen = load_settings({"context": "staging"}, env, root)
    assert chosen.grafana_url == "https://staging.grafana.example" and chosen.folder == "Airflow/Staging"
    assert load_settings({"context": "staging", "folder": "Cli"}, env, root).folder == "Cli"
    assert load_settings(None, env, root).grafana_url == "http://somewhere-else:3000"


def test_the_context_is_chosen_by_option_then_environment_then_pyproject(tmp_path):
    root = project(tmp_path, 'context = "dev"\n' + CONTEXTS.replace("[tool.airflow-dash]\n", ""))
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace(
        "[project]\nname = 'team'\ncontext", "[project]\nname = 'team'\n\n[tool.airflow-dash]\ncontext"))
    assert load_settings(None, {}, root).context == "dev"
    assert load_settings(None, {"AIRFLOW_DASH_CONTEXT": "prod"}, root).context == "prod"
    select_context("staging")
    assert load_settings(None, {"AIRFLOW_DASH_CONTEXT": "prod"}, root).context == "staging"
    assert load_settings({"context": "dev"}, {"AIRFLOW_DASH_CONTEXT": "prod"}, root).context == "dev"


@pytest.mark.parametrize("table, message", [
    ('[tool.airflow-dash.contexts.prod]\ngrafana_token = "glsa_x"\n', "must not be stored in pyproject.toml"),
    ('[tool.airflow-dash.contexts.prod]\ngrafana_ulr = "http://x"\n', "did you mean 'grafana_url'"),
    ('[tool.airflow-dash.contexts.prod]\ngrafana_url = "ftp://x"\n', "expected an http(s):// URL"),
    ('[tool.airflow-dash.contexts.prod]\ngrafana_token_env = ""\n', "must name an environment variable"),
    ('[tool.airflow-dash]\ncontexts = "prod"\n', "must be a table of contexts"),
])
def test_a_bad_context_table_is_one_clear_error(tmp_path, table, message):
    root = project(tmp_path, table)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({"context": "prod"}, {}, root)


def test_an_unknown_context_names_the_defined_ones(tmp_path):
    root = project(tmp_path)
    with pytest.raises(UserError) as raised:
        load_settings({"context": "prdo"}, {}, root)
    assert "did you mean 'prod'" in str(raised.value) and "defined: dev, prod, staging" in str(raised.value)


def _cli(cwd: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**environment, **env})


def test_config_shows_the_context_and_an_unknown_one_is_exit_2(tmp_path):
    root = project(tmp_path)
    shown = _cli(root, "--context", "staging", "config", "--output", "json", env={"STAGING_GRAFANA_TOKEN": "s3cret-staging"})
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["context"] == {"value": "staging", "source": "--context"}
    assert document["grafana_url"]["value"] == "https://staging.grafana.example"
    assert document["grafana_token"]["source"] == "env STAGING_GRAFANA_TOKEN (context staging)"
    assert "s3cret-staging" not in shown.stdout + shown.stderr
    wrong = _cli(root, "--context", "qa", "build", "--out", "out", env={})
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "unknown context 'qa'" in wrong.stderr and not (root / "out").exists()


def test_publish_with_a_context_goes_to_its_grafana_folder_and_org_with_its_credentials(tmp_path):
    from airflow_dash.testing.grafana_emulator import GrafanaEmulator

    with GrafanaEmulator() as grafana:
        root = project(tmp_path, f"""
[tool.airflow-dash]
backends = ["prometheus"]
publish_datasources = false

[tool.airflow-dash.contexts.staging]
grafana_url = "{grafana.url}"
folder = "Airflow/Staging"
grafana_token_env = "STAGING_GRAFANA_TOKEN"

[tool.airflow-dash.contexts.prod]
grafana_url = "http://127.0.0.1:9"
folder = "Airflow/Prod"
grafana_token_env = "PROD_GRAFANA_TOKEN"
""")
        # The generic token is wrong on purpose: the context must use its own source.
        env = {"STAGING_GRAFANA_TOKEN": grafana.admin_token, "GRAFANA_TOKEN": "wrong"}
        result = _cli(root, "--context", "staging", "publish", "host-basics", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        from airflow_dash.grafana.client import GrafanaClient
        from airflow_dash.grafana.publish import folder_uid_for

        with GrafanaClient(grafana.url, token=grafana.admin_token) as client:
            live = client.get_dashboard("airflow-dash-host-basics-prom")
        assert live is not None and live.folder_uid == folder_uid_for("Airflow/Staging", None)
        assert grafana.folder(live.folder_uid)["title"] == "Staging"
        assert "wrong" not in result.stdout + result.stderr
