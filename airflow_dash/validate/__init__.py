"""Offline checking of PromQL, Flux and InfluxQL queries as Grafana stores them (with $variables/macros).

    check_queries("promql", ['rate(up{job="$job"}[$__rate_interval])'])  ->  [[]]

Each checker returns one list of QueryProblem per query (empty = valid), positioned against the
original text. PromQL uses promql_parser; Flux runs flux-lsp (wasm) in one node process per batch;
InfluxQL uses our own structural parser (`check_influxql_live` asks a real InfluxDB 1.x instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from airflow_dash.errors import UserError
from airflow_dash.validate.flux import FluxChecks, check_flux
from airflow_dash.validate.influxql import check_influxql, check_influxql_live
from airflow_dash.validate.problems import CheckerUnavailable, QueryProblem
from airflow_dash.validate.promql import check_promql

if TYPE_CHECKING:
    from airflow_dash.validate.cache import CheckCache

CHECKERS = {"promql": check_promql, "flux": check_flux, "influxql": check_influxql}
# Checkers that wait on another process, as a class fed queries while the caller goes on (see QueryChecks):
# started first, so the in-process ones run while it works.
STREAMING: dict[str, Callable[[], FluxChecks]] = {"flux": FluxChecks}

__all__ = [
    "CheckerUnavailable",
    "QueryProblem",
    "check_flux",
    "check_influxql",
    "check_influxql_live",
    "check_promql",
    "check_all",
    "check_queries",
    "QueryChecks",
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
    checkers (Flux: node) start first; the in-process ones run meanwhile. Errors are raised in language
    order, as checking one language after another would. See QueryChecks to feed queries as they come.
    """
    checks = QueryChecks(cache)
    for language, texts in texts_by_language.items():
        checks.add(language, texts)
    return checks.results(texts_by_language)


class QueryChecks:
    """Queries checked as they are added: an out-of-process checker (Flux: node) gets each added text at
    once, so it works while the caller compiles the next dashboard; in-process ones run in `results`.

        checks = QueryChecks(cache)
        checks.add("flux", texts)      # sent to node now
        checks.results({"flux": texts, "promql": other})   # language -> text -> problems
    """

    def __init__(self, cache: CheckCache | None = None) -> None:
        self._cache = cache
        self._fingerprints: dict[str, str | None] = {}
        self._found: dict[str, dict[str, list[QueryProblem]]] = {}
        self._pending: dict[str, dict[str, None]] = {}  # language -> texts to check, in order
        self._streams: dict[str, FluxChecks] = {}
        self._errors: dict[str, BaseException] = {}
        self._ended = False

    def add(self, language: str, texts: Iterable[str]) -> None:
        """Queue `texts` (of `language`) for checking; a streaming checker starts on them now."""
        if self._ended:
            raise RuntimeError("QueryChecks is single-use: its checkers have ended")
        if language not in CHECKERS:
            raise UserError(f"unknown query language {language!r}: expected one of {', '.join(sorted(CHECKERS))}")
        found = self._found.setdefault(language, {})
        pending = self._pending.setdefault(language, {})
        new = [text for text in dict.fromkeys(texts) if text not in found and text not in pending]
        if not new or language not in STREAMING:
            pending.update(dict.fromkeys(new))  # in-process: looked up in the cache and checked in results
            return
        found.update(self._cached(language, new))
        new = [text for text in new if text not in found]
        pending.update(dict.fromkeys(new))
        if new and language not in self._errors:
            try:
                if language not in self._streams:
                    self._streams[language] = STREAMING[language]()
                self._streams[language].add(new)
            except Exception as error:  # raised by results, in language order
                self._errors[language] = error

    def _cached(self, language: str, texts: list[str]) -> dict[str, list[QueryProblem]]:
        fingerprint = self._fingerprint(language) if self._cache is not None else None
        if self._cache is None or fingerprint is None or not texts:
            return {}
        return self._cache.lookup(fingerprint, language, texts)

    def _fingerprint(self, language: str) -> str | None:
        if language not in self._fingerprints:
            from airflow_dash.validate.cache import checker_fingerprint

            self._fingerprints[language] = checker_fingerprint(language)
        return self._fingerprints[language]

    def results(self, texts_by_language: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[QueryProblem]]]:
        """language -> text -> problems for `texts_by_language` (added now if they were not); ends the checkers.
        Single use, like the streaming checkers it ends."""
        try:
            for language, texts in texts_by_language.items():
                self.add(language, texts)
            for language in sorted(self._pending, key=lambda name: name in STREAMING):  # in-process first
                self._finish(language)
        except BaseException:
            self.close(abort=True)
            raise
        self.close()
        for language in sorted(self._errors):
            raise self._errors[language]
        return {language: {text: self._found[language][text] for text in dict.fromkeys(texts)}
                for language, texts in texts_by_language.items()}

    def close(self, abort: bool = False) -> None:
        """End the streaming checkers: after their queued work, or at once with `abort` (an error or an
        interrupt: nobody waits for their answers), and the cache's connection. A caller that stops before
        `results` must call this."""
        self._ended = True
        streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.close(abort)
        if self._cache is not None:
            self._cache.close()

    def _finish(self, language: str) -> None:
        pending = list(self._pending.pop(language))
        if language not in STREAMING:
            self._found[language].update(self._cached(language, pending))
            pending = [text for text in pending if text not in self._found[language]]
        if not pending or language in self._errors:
            return
        try:
            stream = self._streams.get(language)
            checked = dict(zip(pending, stream.results(pending) if stream is not None else CHECKERS[language](pending)))
        except Exception as error:  # re-raised in language order
            self._errors[language] = error
            return
        self._found[language].update(checked)
        fingerprint = self._fingerprints.get(language)
        if self._cache is not None and fingerprint is not None:
            self._cache.store(fingerprint, language, checked.items())
