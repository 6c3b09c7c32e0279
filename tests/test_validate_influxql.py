"""InfluxQL: the offline structural checker, and its agreement with a real InfluxDB 1.x."""

from __future__ import annotations

import pytest

from airflow_dash.validate import check_influxql, check_influxql_live, check_queries
from airflow_dash.validate.influxql import substitute_influxql

CHECK_DB = "airflow_dash_query_check"

# Queries both checkers must accept (Grafana forms included).
VALID = [
    'SELECT mean("value") FROM "cpu" WHERE time > now() - 1h GROUP BY time(1m) fill(null)',
    'SELECT mean("value") FROM "logins" WHERE "hostname" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval), "hostname"',
    "SELECT mean(value) FROM cpu WHERE $timeFilter GROUP BY time([[interval]]) fill(none)",
    "SELECT mean(value) FROM cpu WHERE $timeFilter GROUP BY time(${__interval}) fill(previous) ORDER BY time DESC LIMIT 10",
    'SELECT non_negative_derivative(mean("bytes"), 1s) FROM "net" WHERE $timeFilter GROUP BY time($__interval), "interface" fill(none)',
    'SELECT percentile("value", 95) FROM cpu WHERE $timeFilter GROUP BY time($interval)',
    "SELECT spread(value), median(value), max(value) FROM cpu WHERE $timeFilter GROUP BY time($__interval)",
    "SELECT difference(last(value)) FROM cpu WHERE $timeFilter GROUP BY time(5m)",
    "SELECT count(DISTINCT value) FROM cpu",
    "SELECT mean(*) FROM /cp.*/",
    'SELECT last("value") FROM /^$measurement$/ WHERE $timeFilter',
    "SELECT value FROM cpu WHERE (host = 'a' OR host = '$host') AND value > -1.5",
    'SELECT "value"::field, "host"::tag FROM "telegraf"."autogen"."cpu"',
    "SELECT mean(value) AS avg FROM cpu WHERE time > ${__from}ms AND time < ${__to}ms GROUP BY time($__interval) tz('Europe/Berlin')",
    "SELECT mean(value) FROM (SELECT max(value) AS value FROM cpu GROUP BY time(1m)) GROUP BY time(5m)",
    "SELECT value FROM cpu ORDER BY time DESC LIMIT $limit",
    "SELECT mean(value) FROM cpu WHERE $timeFilter GROUP BY time($__interval) ORDER BY asc",  # bare direction = time
    "SELECT value FROM cpu ORDER BY DESC LIMIT 1",
    "SELECT mean(value) FROM cpu GROUP BY time(1m, 30s)",
    "SELECT max(value), host FROM cpu",
    "select mean(value) from cpu where $timeFilter group by time($__interval)",
    'SELECT value FROM cpu WHERE host =~ /a\\/b/',
    'SHOW TAG VALUES WITH KEY = "hostname"',
    "SHOW TAG VALUES WITH KEY = \"hostname\" WHERE region = '$region'",
    'SHOW TAG VALUES FROM cpu WITH KEY IN ("a", "b")',
    "SHOW MEASUREMENTS WITH MEASUREMENT =~ /airflow.*/",
    'SHOW TAG KEYS FROM "cpu"',
    "SHOW FIELD KEYS FROM cpu",
    "SHOW RETENTION POLICIES ON telegraf",
]

# Queries both must reject; the offline message, where it is ours, is given for the offline test.
INVALID = [
    ("SELECT FROM x", "found FROM, expected identifier, string, number, bool", (1, 8)),
    ("SELECT meen(value) FROM cpu", "undefined function meen()", (1, 8)),
    ("SELECT mean(value) FROM cpu fill(null) GROUP BY time(1m)", "found GROUP, expected ;", (1, 40)),
    ("SELECT mean(value) FROM cpu GROUP BY time(x)", "time dimension must have duration argument", (1, 38)),
    ("SELECT value FROM cpu WHERE host =~ /a/b/", "found b, expected ;", (1, 40)),
    ("SELECT value", "found EOF, expected FROM", (1, 13)),
    ("SELECT value FROM cpu LIMIT 1 ORDER BY time DESC", "found ORDER, expected ;", (1, 31)),
    ('SELECT "value FROM cpu', "unterminated quoted identifier", (1, 8)),
    ("SELECT value FROM cpu WHERE host = 'a", "unterminated string", (1, 36)),
    ("SELECT value FROM cpu WHERE host =~ /unterminated", "unterminated regex", (1, 37)),
    ("SELECT value FROM cpu GROUP BY time(1m)", "GROUP BY requires at least one aggregate function", (1, 1)),
    ("SELECT percentile(value) FROM cpu", "invalid number of arguments for percentile, expected 2, got 1", (1, 8)),
    ("SELECT mean(value) FROM cpu GROUP BY time(1m) fill(bogus)", "expected number argument in fill()", (1, 52)),
    ("SELECT last(value) FROM cpu ORDER BY host", "only ORDER BY time supported at this time", (1, 38)),
    ("SELECT value FROM cpu WHERE (host = 'a'", "found EOF, expected )", (1, 40)),
    ("SELECT mean(value), value FROM cpu", "mixing aggregate and non-aggregate queries is not supported", (1, 1)),
    ("SELECT histogram(value) FROM cpu", "undefined function histogram()", (1, 8)),
    ("SELECT duration FROM cpu", "found DURATION, expected identifier, string, number, bool", (1, 8)),
    ("SELECT value::bogus FROM cpu", "found bogus, expected field, tag, integer, float, string or boolean", (1, 15)),
    ("SELECT mean(value)) FROM cpu", "found ), expected FROM", (1, 19)),
    ("SHOW TAG VALUES", "found EOF, expected WITH", (1, 16)),
    ("SHOW FIELDS", "found FIELDS, expected DATABASES", (1, 6)),
    ("SELECT value FROM cpu GROUP BY", "found EOF, expected identifier or regex", (1, 31)),
]


@pytest.mark.parametrize("query", VALID)
def test_offline_accepts_valid_queries(query):
    assert check_influxql([query]) == [[]]


@pytest.mark.parametrize(("query", "message", "position"), INVALID)
def test_offline_rejects_invalid_queries_with_message_and_position(query, message, position):
    [[problem]] = check_influxql([query])
    assert problem.language == "influxql"
    assert problem.message.startswith(message)
    assert (problem.line, problem.column) == position


def test_statement_must_be_select_or_show():
    [[problem]] = check_influxql(["DROP DATABASE telegraf"])
    assert problem.message == "found DROP, expected SELECT or SHOW"


def test_positions_refer_to_the_original_text_after_substitution():
    query = "SELECT mean(value) FROM cpu WHERE host =~ /^${host:regex}$/ AND $timeFilter\nfill(null) GROUP BY time($__interval)"
    [[problem]] = check_influxql([query])
    assert (problem.line, problem.column) == (2, 12)
    assert problem.message == "found GROUP, expected ;"


def test_grafana_macros_become_influxql():
    substituted = substitute_influxql(
        "SELECT mean(v) FROM m WHERE h =~ /^$host$/ AND $timeFilter GROUP BY time($__interval) LIMIT $n"
    ).text
    assert substituted == "SELECT mean(v) FROM m WHERE h =~ /^x$/ AND time >= now() - 1h GROUP BY time(1m) LIMIT 1"


def test_dispatch_to_influxql():
    assert check_queries("influxql", ["SELECT value FROM cpu", "SELECT value"])[0] == []


@pytest.fixture(scope="module")
def check_db(influxdb_v1):  # noqa: F811
    answer = influxdb_v1.query("", f'CREATE DATABASE "{CHECK_DB}"')
    assert "error" not in answer, answer
    return influxdb_v1


@pytest.mark.slow
def test_offline_checker_agrees_with_real_influxdb(check_db):
    corpus = VALID + [query for query, _, _ in INVALID]
    offline = check_influxql(corpus)
    live = check_influxql_live(corpus, check_db.url, CHECK_DB)
    disagreements = [
        (query, [p.message for p in off], [p.message for p in real])
        for query, off, real in zip(corpus, offline, live)
        if bool(off) != bool(real)
    ]
    assert disagreements == []
    # The corpus really exercises both sides.
    assert sum(bool(problems) for problems in live) == len(INVALID)


@pytest.mark.slow
def test_live_errors_are_positioned_against_the_original_text(check_db):
    query = "SELECT mean(value) FROM cpu WHERE host =~ /^${host:regex}$/ AND $timeFilter fill(null) GROUP BY time($__interval)"
    [[problem]] = check_influxql_live([query], check_db.url, CHECK_DB)
    assert problem.message == "found GROUP, expected ;"
    assert problem.column == query.index("GROUP") + 1


@pytest.mark.slow
def test_live_check_reports_compile_errors_and_never_sends_writes(check_db):
    check_db.write("guard", ["cpu,host=a value=1"])
    undefined, drop, into = check_influxql_live(
        ["SELECT meen(value) FROM cpu", "DROP DATABASE guard", "SELECT value INTO copy FROM cpu"], check_db.url, CHECK_DB
    )
    assert [p.message for p in undefined] == ["undefined function meen()"]
    assert [p.message for p in drop] == ["only SELECT and SHOW statements are checked live"]
    assert [p.message for p in into] == ["SELECT ... INTO writes data: not checked live"]
    assert check_db.query("guard", "SELECT value FROM cpu")["results"][0]["series"][0]["values"][0][1] == 1
