"""Offline checking of PromQL, Flux and InfluxQL queries as Grafana stores them (with $variables/macros).

    check_queries("promql", ['rate(up{job="$job"}[$__rate_interval])'])  ->  [[]]

Each checker returns one list of QueryProblem per query (empty = valid), positioned against the
original text. PromQL uses promql_parser; Flux runs flux-lsp (wasm) in one node process per batch;
InfluxQL uses our own structural parser (`check_influxql_live` asks a real InfluxDB 1.x instead).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from airflow_dash.errors import UserError
from airflow_dash.validate.flux import check_flux
from airflow_dash.validate.influxql import check_influxql, check_influxql_live
from airflow_dash.validate.problems import CheckerUnavailable, QueryProblem
from airflow_dash.validate.promql import check_promql

if TYPE_CHECKING:
    from airflow_dash.validate.cache import CheckCache

CHECKERS = {"promql": check_promql, "flux": check_flux, "influxql": check_influxql}
# Checkers that wait on another process: started first, so the others run while it starts up.
OUT_OF_PROCESS = frozenset({"flux"})

__all__ = [
    "CheckerUnavailable",
    "QueryProblem",
    "check_flux",
    "check_influxql",
    "check_influxql_live",
    "check_promql",
    "check_all",
    "check_queries",
]


def check_queries(language: str, queries: Sequence[str]) -> list[list[QueryProblem]]:
    """Check `queries` with the checker for `language` ("promql", "flux" or "influxql")."""
    checker = CHECKERS.get(language)
    if checker is None:
        raise UserError(f"unknown query language {language!r}: expected one of {', '.join(sorted(CHECKERS))}")
    return checker(list(queries))


def check_all(
    texts_by_language: Mapping[str, Sequence[str]], cache: CheckCache | None = None
) -> dict[str, dict[str, list[QueryProblem]]]:
    """Check every language's queries, each distinct text once: language -> text -> problems.

    Results found in `cache` are not checked again, and new ones are stored in it. Out-of-process
    checkers (Flux: node) start first in a thread; the in-process ones run meanwhile. Errors are raised
    in language order, as checking one language after another would.
    """
    for language in texts_by_language:
        if language not in CHECKERS:
            raise UserError(f"unknown query language {language!r}: expected one of {', '.join(sorted(CHECKERS))}")
    results: dict[str, dict[str, list[QueryProblem]]] = {}
    fingerprints: dict[str, str | None] = {}
    pending: dict[str, list[str]] = {}
    for language, texts in texts_by_language.items():
        unique = list(dict.fromkeys(texts))
        found: dict[str, list[QueryProblem]] = {}
        if cache is not None and unique:
            from airflow_dash.validate.cache import checker_fingerprint

            fingerprint = fingerprints[language] = checker_fingerprint(language)
            if fingerprint is not None:
                found = cache.lookup(fingerprint, language, unique)
        results[language] = found
        pending[language] = [text for text in unique if text not in found]

    errors: dict[str, BaseException] = {}

    def run(language: str) -> None:
        try:
            checked = dict(zip(pending[language], CHECKERS[language](pending[language])))
        except Exception as error:  # re-raised in the calling thread, in language order
            errors[language] = error
            return
        results[language].update(checked)
        fingerprint = fingerprints.get(language)
        if cache is not None and fingerprint is not None:
            cache.store(fingerprint, language, checked.items())

    threads = []
    for language in sorted(pending, key=lambda name: name not in OUT_OF_PROCESS):
        if not pending[language]:
            continue
        if language in OUT_OF_PROCESS:
            thread = threading.Thread(target=run, args=(language,), name=f"check-{language}", daemon=True)
            thread.start()
            threads.append(thread)
        else:
            run(language)
    for thread in threads:
        thread.join()
    for language in sorted(errors):
        raise errors[language]
    return {language: {text: results[language][text] for text in dict.fromkeys(texts)} for language, texts in texts_by_language.items()}
