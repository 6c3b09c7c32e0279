"""The escape hatch: a query written by hand in one language, used as is.

    >>> from airflow_dash.query import promql as P
    >>> q = P.raw('sum(rate(my_app_requests_total{job="$job"}[$__rate_interval]))')
    >>> q.language, str(q)
    ('promql', 'sum(rate(my_app_requests_total{job="$job"}[$__rate_interval]))')

A raw query is not escaped or filtered by the dashboard's variables (write `$var` yourself); it is still
checked by the same offline checker as built queries when dashboards are built, and `airflow-dash lint`
flags it (AD103) so reviewers know it was not built with the typed builders. Each builder module has its own
`raw()` (`promql.raw`, `flux.raw`, `influxql.raw`), so a Flux text cannot end up in a PromQL slot.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = frozenset({"promql", "flux", "influxql"})


@dataclass(frozen=True)
class RawQuery:
    """Query text in `language` ("promql", "flux" or "influxql"), used verbatim.

    >>> RawQuery("up", "promql").text
    'up'
    """

    text: str
    language: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"raw query language {self.language!r}: expected one of {', '.join(sorted(LANGUAGES))}")
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"raw {self.language} query: expected non-empty text, got {self.text!r}")

    def __str__(self) -> str:
        return self.text
