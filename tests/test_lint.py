"""Lint rules on small synthetic dashboards: each rule fires on one and stays quiet on a near miss."""

from __future__ import annotations

import copy
import json

import pytest

from airflow_dash.lint import RULES, DashboardDocument, lint_documents, suppressed_ids

DS_PROM = {"type": "prometheus", "uid": "${datasource}"}
DS_INFLUX = {"type": "influxdb", "uid": "${datasource}"}
GOOD_PROMQL = 'sum by (job) (rate(http_requests_total{job=~"$job"}[$__rate_interval]))'
GOOD_FLUX = (
    'from(bucket: "telegraf")\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n'
    '  |> filter(fn: (r) => r._measurement == "cpu" and r.host =~ /^${host:regex}$/)\n'
    "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)"
)
GOOD_INFLUXQL = 'SELECT mean("usage_idle") FROM "cpu" WHERE "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval) fill(null)'


COUNTER_FLUX = (
    'from(bucket: "telegraf")\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n'
    '  |> filter(fn: (r) => r._measurement == "airflow_scheduler_heartbeat" and r.host =~ /^${host:regex}$/)\n'
    "  |> toFloat()\n  |> aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: true)\n  |> fill(value: 0.0)"
)
COUNTER_INFLUXQL = ('SELECT sum("value") FROM "airflow_scheduler_heartbeat" WHERE "host" =~ /^$host$/ AND $timeFilter '
                    "GROUP BY time($__interval) fill(0)")


def target(text: str, language: str = "promql", ref: str = "A") -> dict:
    if language == "promql":
        return {"refId": ref, "expr": text, "datasource": DS_PROM}
    if language == "influxql":
        return {"refId": ref, "query": text, "rawQuery": True, "datasource": DS_INFLUX}
    return {"refId": ref, "query": text, "datasource": DS_INFLUX}


def panel(title="Requests", query=GOOD_PROMQL, language="promql", x=0, y=1, w=12, h=8, type="timeseries", unit="reqps", **extra):
    body = {
        "type": type,
        "title": title,
        "datasource": DS_PROM if language == "promql" else DS_INFLUX,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [target(query, language)] if query else [],
        "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
    }
    body.update(extra)
    return body


def row(title="Main", y=0, collapsed=False, panels=()):
    return {"type": "row", "title": title, "collapsed": collapsed, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": list(panels)}


def variables(language="promql", extra=()):
    kind = "prometheus" if language == "promql" else "influxdb"
    selector = {
        "promql": ("job", "label_values(up, job)"),
        "flux": ("host", 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "telegraf", tag: "host")'),
        "influxql": ("host", 'SHOW TAG VALUES FROM "cpu" WITH KEY = "host"'),
    }[language]
    regex = {"promql": "", "flux": r"/\bflux\b/i", "influxql": r"/\binfluxql\b/i"}[language]
    return [
        {"type": "datasource", "name": "datasource", "query": kind, "regex": regex},
        {"type": "query", "name": selector[0], "query": selector[1], "datasource": DS_PROM if language == "promql" else DS_INFLUX},
        *extra,
    ]


def dashboard(panels=None, language="promql", extra_variables=(), **extra):
    model = {
        "uid": "synthetic",
        "title": "Synthetic",
        "schemaVersion": 41,
        "templating": {"list": variables(language, extra_variables)},
        "panels": [row()] + (panels if panels is not None else [panel(language=language, query={"promql": GOOD_PROMQL, "flux": GOOD_FLUX, "influxql": GOOD_INFLUXQL}[language])]),
    }
    model.update(extra)
    return model


def picker(model: dict, regex: str) -> dict:
    model = copy.deepcopy(model)
    model["templating"]["list"][0]["regex"] = regex
    return model


def lint_one(model: dict | DashboardDocument, rule_id: str | None = None):
    rules = [RULES[rule_id]] if rule_id else None
    document = model if isinstance(model, DashboardDocument) else DashboardDocument("synthetic.json", "synthetic", model)
    return lint_documents([document], rules).findings


def compiled_with_raw(raw: frozenset) -> DashboardDocument:
    """A dashboard compiled from Python whose `raw` (panel, refId) queries were written as raw text."""
    return DashboardDocument("dashboards/synthetic.py", "synthetic [prometheus]", prom(GOOD_PROMQL), raw)


def prom(query: str, **extra) -> dict:
    return dashboard([panel(query=query, **extra)])


# rule id -> (a dashboard on which it must fire, a near miss on which it must stay quiet)
CASES = {
    "AD103": (compiled_with_raw(frozenset({("Requests", "A")})), compiled_with_raw(frozenset({("Other", "A")}))),
    "AD101": (prom("rate(http_requests_total{job=~\"$job\"}[$__rate_interval]"), prom(GOOD_PROMQL)),
    "AD102": (dashboard([panel(datasource=DS_INFLUX, targets=[{"refId": "A", "expr": GOOD_PROMQL, "datasource": DS_INFLUX}])]), prom(GOOD_PROMQL)),
    "AD201": (
        prom('sum(rate(http_requests_total{job=~"$job", cluster="$cluster"}[$__rate_interval]))'),
        prom('label_replace(sum by (job) (rate(http_requests_total{job=~"${job:regex}"}[$__rate_interval])), "j", "$1", "job", "(.*)")'),
    ),
    "AD202": (
        dashboard(extra_variables=[{"type": "custom", "name": "unused", "query": "a,b"}]),
        dashboard([panel(repeat="shard")], extra_variables=[{"type": "custom", "name": "shard", "query": "a,b"}]),
    ),
    "AD203": (
        dashboard([panel(datasource={"type": "prometheus", "uid": "P1809F7CD0C75ACF3"})]),
        dashboard([panel(datasource={"type": "prometheus", "uid": "prometheus"})]),
    ),
    "AD204": (
        # the regex v0.1 shipped: every InfluxDB name contains "flux", so Grafana offers nothing
        picker(dashboard(language="influxql"), "/^(?!.*[Ff]lux).*$/"),
        picker(dashboard(language="influxql"), "/InfluxQL/"),
    ),
    "AD301": (
        prom('sum by (job) (http_requests_total{job=~"$job"})'),
        prom('count(http_requests_total{job=~"$job"}) + sum(job:http_requests_total:rate5m{job=~"$job"})'),
    ),
    "AD302": (prom('sum(rate(http_requests_total{job=~"$job"}[5m]))'), prom(GOOD_PROMQL)),
    "AD303": (
        prom('histogram_quantile(0.9, sum by (job) (rate(http_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))'),
        prom('histogram_quantile(0.9, sum by (le, job) (rate(http_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))'),
    ),
    "AD304": (
        prom("sum(rate(http_requests_total[$__rate_interval]))"),
        # same query, but the dashboard offers no instance/job-like variable to filter by
        {**prom("sum(rate(http_requests_total[$__rate_interval]))"),
         "templating": {"list": [{"type": "datasource", "name": "datasource", "query": "prometheus"}]}},
    ),
    "AD305": (
        prom('sum(increase(http_requests_total{job=~"$job"}[$__rate_interval]))'),
        prom('sum(increase(http_requests_total{job=~"$job"}[$__interval]))'),
    ),
    "AD403": (
        dashboard([panel(language="flux", query=COUNTER_FLUX.replace("fn: sum", "fn: mean"))], language="flux"),
        dashboard([panel(language="flux", query=COUNTER_FLUX)], language="flux"),
    ),
    "AD404": (
        # the heartbeat stat v0.1 shipped: an idle scheduler writes nothing, the stat keeps its last busy window
        dashboard([panel(type="stat", language="influxql", query=COUNTER_INFLUXQL.replace("fill(0)", "fill(null)"))], language="influxql"),
        dashboard([panel(type="stat", language="influxql", query=COUNTER_INFLUXQL)], language="influxql"),
    ),
    "AD401": (
        dashboard([panel(language="flux", query=GOOD_FLUX.replace("start: v.timeRangeStart, stop: v.timeRangeStop", "start: -1h"))], language="flux"),
        dashboard(language="flux"),
    ),
    "AD402": (
        dashboard([panel(language="flux", query=GOOD_FLUX.replace("every: v.windowPeriod", "every: 1m"))], language="flux"),
        dashboard(language="flux"),
    ),
    "AD411": (
        dashboard([panel(language="influxql", query=GOOD_INFLUXQL.replace(" AND $timeFilter", ""))], language="influxql"),
        dashboard(language="influxql"),
    ),
    "AD412": (
        dashboard([panel(language="influxql", query=GOOD_INFLUXQL.replace("time($__interval)", "time(1m)"))], language="influxql"),
        # no aggregation: a "current value" query needs no GROUP BY time
        dashboard([panel(language="influxql", query='SELECT last("usage_idle") FROM "cpu" WHERE "host" =~ /^$host$/ AND $timeFilter')], language="influxql"),
    ),
    "AD501": (dashboard([panel(x=20, w=8)]), dashboard([panel(x=12, w=12)])),
    "AD502": (
        dashboard([panel("A", x=0, w=12), panel("B", x=6, w=12)]),
        # a collapsed row's panels sit at the same y as the open flow without overlapping it
        dashboard([panel("A", y=1), row("Hidden", y=9, collapsed=True, panels=[panel("B", y=1), panel("C", x=12, y=1)])]),
    ),
    "AD503": (
        dashboard([panel("Same", x=0), panel("Same", x=12)]),
        dashboard([panel("Same", x=0), row("Other", y=9), panel("Same", y=10)]),
    ),
    "AD504": (dashboard([panel(unit=None)]), dashboard([panel(type="text", query=None, unit=None)])),
    "AD505": (dashboard([panel(type="graph")]), dashboard([panel(type="timeseries")])),
    "AD506": (dashboard(sharedCrosshair=True), dashboard(graphTooltip=1)),
    "AD507": (dashboard(uid=""), dashboard(uid="airflow-dash-synthetic")),
    "AD508": (dashboard([panel(colour="red")]), dashboard([panel(description="red")])),
    "AD509": (dashboard([panel(repeatDirection="diagonal")]), dashboard([panel(repeatDirection="v")])),
}


@pytest.mark.parametrize("regex, fires", [
    ("/[Ff]lux/", True),  # matches "InfluxDB InfluxQL (airflow-dash)" too: a Flux board on an InfluxQL source
    ("", True),  # every InfluxDB data source, whatever its language
    (r"/\bflux\b/i", False),
    ("InfluxDB Flux.*", False),  # bare patterns are anchored, as Grafana's stringToJsRegex does
    ("/(unclosed/", True),
])
def test_datasource_picker_on_a_flux_dashboard(regex, fires):
    findings = lint_one(picker(dashboard(language="flux"), regex), "AD204")
    assert bool(findings) is fires, findings


@pytest.mark.parametrize("query, fires", [
    (COUNTER_FLUX, False),
    (COUNTER_FLUX.replace("createEmpty: true", "createEmpty: false"), True),
    (COUNTER_FLUX.replace("\n  |> fill(value: 0.0)", ""), True),
])
def test_idle_counter_stat_on_flux(query, fires):
    findings = lint_one(dashboard([panel(type="stat", language="flux", query=query)], language="flux"), "AD404")
    assert bool(findings) is fires, findings


def test_increase_over_the_range_is_fine_in_a_stat():
    stat = prom('sum(increase(http_requests_total{job=~"$job"}[$__range]))', type="stat")
    assert lint_one(stat, "AD305") == ()
    assert lint_one(prom('sum(increase(http_requests_total{job=~"$job"}[$__range]))'), "AD305")  # a time series


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires(rule_id):
    findings = lint_one(CASES[rule_id][0], rule_id)
    assert findings and all(f.rule_id == rule_id for f in findings)
    assert all(f.severity == RULES[rule_id].severity for f in findings)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_stays_quiet(rule_id):
    assert lint_one(CASES[rule_id][1], rule_id) == ()


@pytest.mark.parametrize("language", ["promql", "flux", "influxql"])
def test_clean_dashboard_is_clean_for_every_rule(language):
    assert lint_one(dashboard(language=language)) == ()


@pytest.mark.parametrize("field_config", [{"overrides": ["unit"]}, {"overrides": {"unit": "s"}},
                                          {"defaults": [], "overrides": [{"properties": "unit"}]}, "s"])
def test_malformed_field_config_in_a_json_file_is_a_finding_not_a_crash(field_config):
    assert [f.rule_id for f in lint_one(dashboard([panel(fieldConfig=field_config)]), "AD504")] == ["AD504"]


def test_a_unit_set_by_an_override_counts():
    overrides = [{"matcher": {"id": "byName", "options": "x"}, "properties": [{"id": "unit", "value": "s"}]}]
    assert lint_one(dashboard([panel(unit=None, fieldConfig={"defaults": {}, "overrides": overrides})]), "AD504") == ()


def test_findings_carry_panel_title_and_grid_position():
    (finding,) = lint_one(prom('sum(rate(http_requests_total{job=~"$job"}[5m]))'), "AD302")
    assert finding.panel == "Requests"
    assert finding.grid_pos == (0, 1, 12, 8)
    assert finding.source == "synthetic.json"


def test_flux_queries_of_all_dashboards_are_checked_in_one_node_process():
    from airflow_dash.validate.flux import node_launch_count

    bad = GOOD_FLUX.replace("fn: mean", "fn: mean,,")
    documents = [
        DashboardDocument(f"d{i}.json", f"d{i}", dashboard([panel(language="flux", query=q)], language="flux"))
        for i, q in enumerate([GOOD_FLUX, bad, GOOD_FLUX])
    ]
    before = node_launch_count()
    findings = lint_documents(documents, [RULES["AD101"]]).findings
    assert node_launch_count() - before == 1
    assert {f.dashboard for f in findings} == {"d1"}


def test_rawquery_flux_target_is_flux_not_influxql():
    # Grafana keeps rawQuery: true on targets switched from the InfluxQL editor to Flux.
    model = dashboard([panel(language="flux", query=GOOD_FLUX)], language="flux")
    model["panels"][1]["targets"][0]["rawQuery"] = True
    assert lint_one(model) == ()


def test_loki_targets_are_not_checked_as_promql():
    loki = {"type": "loki", "uid": "${loki}"}
    model = dashboard([panel(type="logs", unit=None, datasource=loki, targets=[{"refId": "A", "expr": '{job=~"$job"} |= "error"', "datasource": loki}])],
                      extra_variables=[{"type": "datasource", "name": "loki", "query": "loki"}])  # fmt: skip
    assert lint_one(model) == ()


# --- suppression ---------------------------------------------------------------------------------------------


def test_suppression_syntax():
    assert suppressed_ids("<!-- lint-disable AD304 -->") == {"AD304"}
    assert suppressed_ids("Shows load. lint-disable AD304, AD504 AD302") == {"AD304", "AD504", "AD302"}
    assert suppressed_ids("lint-disable") == frozenset()
    assert suppressed_ids(None) == frozenset()


def test_panel_level_suppression_silences_only_that_panel():
    fixed = 'sum(rate(http_requests_total{job=~"$job"}[5m]))'
    model = dashboard([panel("Quiet", query=fixed, description="<!-- lint-disable AD302 -->"), panel("Loud", query=fixed, x=12)])
    assert [f.panel for f in lint_one(model, "AD302")] == ["Loud"]


def test_dashboard_level_suppression_survives_a_json_round_trip():
    model = dashboard([panel(unit=None)], description="Legacy board <!-- lint-disable AD504 -->")
    reloaded = json.loads(json.dumps(model))
    assert lint_one(copy.deepcopy(model), "AD504") == ()
    assert lint_one(reloaded, "AD504") == ()
    assert lint_one({**reloaded, "description": ""}, "AD504") != ()


# --- output formats and the command --------------------------------------------------------------------------


def _run(capsys, *args):
    from airflow_dash.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def _write(tmp_path, name, model):
    path = tmp_path / name
    path.write_text(json.dumps(model))
    return path


def test_cli_exit_codes_and_formats(tmp_path, capsys):
    warning_only = _write(tmp_path, "warn.json", prom('sum(rate(http_requests_total{job=~"$job"}[5m]))'))
    with_error = _write(tmp_path, "error.json", dashboard([panel(type="graph")]))

    code, out, _ = _run(capsys, "lint", str(warning_only))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{warning_only}: warning AD302 Synthetic panel 'Requests' (x=0 y=1 w=12 h=8):")
    assert lines[-1] == "0 error(s), 1 warning(s) in 1 dashboard(s)"

    code, out, _ = _run(capsys, "lint", "--output", "json", str(with_error))
    assert code == 1
    items = json.loads(out)
    assert isinstance(items, list) and {i["rule"] for i in items} == {"AD505"}
    assert items[0]["gridPos"] == {"x": 0, "y": 1, "w": 12, "h": 8} and items[0]["file"] == str(with_error)

    code, out, _ = _run(capsys, "lint", "--output", "github", str(tmp_path))
    assert code == 1
    assert f"::error file={with_error},title=AD505::" in out
    assert f"::warning file={warning_only},title=AD302::" in out
    assert all(line.startswith("::") for line in out.strip().splitlines())


def test_github_annotations_escape_newlines_and_percent():
    from airflow_dash.lint.model import Finding
    from airflow_dash.lint.report import format_github
    from airflow_dash.lint.runner import LintReport

    finding = Finding("AD101", "error", "bad\nquery 100%", "a,b:c.json", "d")
    assert format_github(LintReport((finding,), 1)) == "::error file=a%2Cb%3Ac.json,title=AD101::d: bad%0Aquery 100%25"


@pytest.mark.parametrize("argument", ["no/such/dir", "missing.json", "no-such-dashboard"])
def test_cli_bad_targets_exit_2_with_one_line(argument, capsys):
    code, out, err = _run(capsys, "lint", argument)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_cli_non_dashboard_file_exits_2(tmp_path, capsys):
    code, _, err = _run(capsys, "lint", str(_write(tmp_path, "list.json", [1, 2])))
    assert code == 2 and "not a Grafana dashboard" in err


# --- our own dashboards --------------------------------------------------------------------------------------

def test_bundled_dashboards_have_no_lint_errors():
    from airflow_dash.lint import collect_documents

    report = lint_documents(collect_documents([]))
    assert report.dashboards > 0
    assert report.errors == (), "\n".join(f"{f.location}: {f.rule_id} {f.message}" for f in report.errors)


def test_bundled_findings_point_at_the_defining_module():
    from airflow_dash.lint import collect_documents

    for document in collect_documents([]):
        key = document.label.split(" [")[0]
        assert document.source.startswith("dashboards/") and document.source.endswith(".py")
        assert f'key="{key}"' in open(document.source, encoding="utf-8").read().replace("'", '"')
