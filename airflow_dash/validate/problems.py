"""What the checkers report, and the error raised when a checker cannot run."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_dash.errors import UserError


@dataclass(frozen=True)
class QueryProblem:
    """One problem in one query, positioned against the query text as Grafana stores it."""

    language: str  # "promql" | "flux" | "influxql"
    query: str  # the original text, with $variables and macros
    message: str  # the checker's message, one line
    line: int | None = None  # 1-based, against `query`
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line is not None and self.column is not None else ""
        where = where or (f"line {self.line}: " if self.line is not None else "")
        return f"{self.language}: {where}{self.message}"


class CheckerUnavailable(UserError):
    """A checker's runtime (node, the flux-lsp npm package) is missing; the message says how to install it."""
