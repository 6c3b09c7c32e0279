"""The data source picker of each compiled dashboard offers the data source we provision for its backend, and
only data sources of its query language, judged the way Grafana judges it: the plugin type must equal the
variable's `query` and the variable's regex (Grafana's `/pattern/flags` strings) is tested against NAMES."""

from pathlib import Path

import pytest
import yaml

from airflow_dash.backends import BACKENDS, grafana_regex, picker_offers
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards

ROOT = Path(__file__).resolve().parents[1]


def _provisioned():
    """Every data source in our provisioning files: uid -> (name, type, query language)."""
    found = {}
    for path in sorted((ROOT / "datasources").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text())["datasources"]:
            version = (entry.get("jsonData") or {}).get("version", "InfluxQL" if entry["type"] == "influxdb" else "")
            language = {"prometheus": "promql"}.get(entry["type"]) or version.lower()
            found[entry["uid"]] = (entry["name"], entry["type"], language)
    return found


def _offered(variable, datasources):
    """The names Grafana would list in this picker."""
    return {name for name, kind, _ in datasources if kind == variable["query"] and picker_offers(variable["regex"], name)}


PROVISIONED = _provisioned()
# Names users commonly give data sources; the picker must not mix up query languages for any of them.
OTHER_INFLUX_NAMES = [
    ("InfluxDB", "influxql"), ("influxdb-prod", "influxql"), ("InfluxDB InfluxQL", "influxql"), ("telegraf-influxql", "influxql"),
    ("InfluxDB Flux", "flux"), ("influx-flux-prod", "flux"), ("Flux", "flux"),
]


def test_backends_name_the_provisioned_data_sources():
    for backend in BACKENDS.values():
        name, kind, language = PROVISIONED[backend.default_datasource_uid]
        assert (name, kind, language) == (backend.default_datasource_name, backend.datasource_type, backend.language)


@pytest.mark.parametrize("compiled", compile_all(load_dashboards(ROOT / "dashboards")), ids=lambda c: f"{c.backend}-{c.name}")
def test_picker_offers_our_data_source_and_only_its_language(compiled):
    backend = BACKENDS[compiled.backend]
    variable = next(v for v in compiled.model["templating"]["list"] if v["type"] == "datasource")
    ours = PROVISIONED[variable["current"]["value"]]
    assert variable["current"]["text"] == ours[0]
    candidates = list(PROVISIONED.values()) + [(n, "influxdb", lang) for n, lang in OTHER_INFLUX_NAMES]
    offered = _offered(variable, candidates)
    assert ours[0] in offered
    named_language = {name: language for name, kind, language in candidates if kind == backend.datasource_type}
    wrong = {name for name in offered if named_language[name] != backend.language}
    # "InfluxDB" and "influxdb-prod" carry no language in their name: InfluxQL must not claim them blindly either,
    # but they must never show up on a Flux dashboard.
    assert wrong <= ({"InfluxDB", "influxdb-prod"} if backend.name == "influxql" else set()), wrong


def test_grafana_regex_semantics():
    assert grafana_regex("/flux/i").search("InfluxDB")  # a match anywhere: this is the bug the old regex had
    assert grafana_regex("abc").pattern == "^abc$"  # bare pattern: anchored like Grafana's stringToJsRegex
    assert not picker_offers("/^(?!.*[Ff]lux).*$/", "InfluxDB InfluxQL (airflow-dash)")  # the old InfluxQL regex
    assert picker_offers("/[Ff]lux/", "InfluxDB InfluxQL (airflow-dash)")  # the old Flux regex took InfluxQL too
    with pytest.raises(ValueError):
        grafana_regex("/unterminated")


def test_a_configured_regex_reaches_the_picker_and_a_bad_one_is_a_user_error():
    from airflow_dash.errors import UserError
    from airflow_dash.settings import load_settings

    settings = load_settings(env={"AIRFLOW_DASH_INFLUXQL_DATASOURCE_REGEX": "/^influx-prod$/"}, start=ROOT / "tests")
    assert settings.datasource_regex("influxql") == "/^influx-prod$/" and settings.datasource_regex("flux") is None
    compiled = compile_all(load_dashboards(ROOT / "dashboards"), ["influxql"],
                           datasource_regexes={"influxql": settings.datasource_regex("influxql")})
    picker = compiled[0].model["templating"]["list"][0]
    assert picker["regex"] == "/^influx-prod$/" and _offered(picker, [("influx-prod", "influxdb", "influxql")])
    with pytest.raises(UserError, match="influxql_datasource_regex"):
        load_settings(env={"AIRFLOW_DASH_INFLUXQL_DATASOURCE_REGEX": "/(unclosed/"}, start=ROOT / "tests")
