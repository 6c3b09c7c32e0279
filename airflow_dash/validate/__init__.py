"""Offline checking of PromQL, Flux and InfluxQL queries as Grafana stores them (with $variables/macros).

    check_queries("promql", ['rate(up{job="$job"}[$__rate_interval])'])  ->  [[]]

Each checker returns one list of QueryProblem per query (empty = valid), positioned against the
original text. PromQL uses promql_parser; Flux runs flux-lsp (wasm) in one node process per batch;
InfluxQL uses our own structural parser (`check_influxql_live` asks a real InfluxDB 1.x instead).
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow_dash.errors import UserError
from airflow_dash.validate.flux import check_flux
from airflow_dash.validate.influxql import check_influxql, check_influxql_live
from airflow_dash.validate.problems import CheckerUnavailable, QueryProblem
from airflow_dash.validate.promql import check_promql

CHECKERS = {"promql": check_promql, "flux": check_flux, "influxql": check_influxql}

__all__ = [
    "CheckerUnavailable",
    "QueryProblem",
    "check_flux",
    "check_influxql",
    "check_influxql_live",
    "check_promql",
    "check_queries",
]


def check_queries(language: str, queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check `queries` with the checker for `language` ("promql", "flux" or "influxql")."""
    checker = CHECKERS.get(language)
    if checker is None:
        raise UserError(f"unknown query language {language!r}: expected one of {', '.join(sorted(CHECKERS))}")
    return checker(list(queries))
