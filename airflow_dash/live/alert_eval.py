"""Evaluate a Grafana-managed alert rule against a live InfluxDB, the way Grafana's rule engine would.

For proving that our InfluxDB alert rules fire on real data, where no Grafana runs: each data query is
interpolated like Grafana's datasource backend does (relative time range, `intervalMs`/`maxDataPoints` from the
model) and run against the real database; then reduce (`dropNN`), math and threshold expressions are applied
and the result mapped to a state (facts: docs/grafana-alerting-facts.md):

- no frames at all from a query → NoData; per series: nil → NoData, 0 → Normal, non-zero (and NaN) → Alerting;
- `noDataState` maps NoData to OK (Normal), Alerting or NoData; an error maps through `execErrState`;
- Alerting first makes an instance Pending; it fires once it has been breaching for the rule's `for`.

Only what our compiler emits is supported: reducers sum/mean/min/max/count/last, `gt`/`lt` thresholds and
math over `$REF`s with + - * / and comparisons.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from airflow_dash.live.interpolate import QueryContext, TimeRange, interpolate
from airflow_dash.live.runner import FluxLive, InfluxQLLive, LiveDatasource

Labels = tuple[tuple[str, str], ...]
NORMAL, PENDING, ALERTING, NODATA, ERROR = "Normal", "Pending", "Alerting", "NoData", "Error"
_REF = re.compile(r"\$\{?([A-Z])\}?")
_DURATION = re.compile(r"^(\d+)(s|m|h)$")


@dataclass(frozen=True)
class Series:
    labels: Labels
    points: tuple[tuple[float, float | None], ...]  # (unix seconds, value or None)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a rule at `at`: the condition per instance (None = NoData), or an error."""

    at: float
    values: Mapping[Labels, float | None]
    no_data: bool = False  # a query returned no frames at all
    error: str | None = None


def _seconds(duration: str) -> float:
    match = _DURATION.match(duration)
    if not match:
        raise ValueError(f"unsupported duration {duration!r}")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


# --- queries -------------------------------------------------------------------------------------------------

def _context(datasource: LiveDatasource, model: dict[str, Any], time_range: TimeRange) -> QueryContext:
    interval = f"{int(model.get('intervalMs', 1000) // 1000)}s"
    return datasource.context(time_range, interval=interval, max_data_points=int(model.get("maxDataPoints", 43200)))


def query_series(datasource: LiveDatasource, model: dict[str, Any], time_range: TimeRange) -> list[Series]:
    """The frames Grafana would get for one data query: one series per tag set, null points kept."""
    context = _context(datasource, model, time_range)
    text = interpolate(model["query"], {}, datasource.dialect, context)
    if isinstance(datasource, InfluxQLLive):
        body = datasource._query(text)
        error = datasource._error(body)
        if error:
            raise RuntimeError(error)
        result: list[Series] = []
        for block in body.get("results") or []:
            for series in block.get("series") or []:
                labels = tuple(sorted((series.get("tags") or {}).items()))
                points = tuple((row[0] / 1000, None if row[1] is None else float(row[1]))
                               for row in series.get("values") or [])
                result.append(Series(labels, points))
        return result
    if isinstance(datasource, FluxLive):
        tables, error = datasource._tables(text)
        if tables is None:
            raise RuntimeError(error)
        found: list[Series] = []
        for table in tables:
            records = table.records
            if not records:
                continue
            first = records[0].values
            labels = tuple(sorted((k, str(v)) for k, v in first.items()
                                  if not k.startswith("_") and k not in ("result", "table")))
            points = tuple((r.values["_time"].timestamp(), None if r.values["_value"] is None else float(r.values["_value"]))
                           for r in records)
            found.append(Series(labels, points))
        return found
    raise TypeError(f"unsupported datasource {type(datasource).__name__}")


# --- expressions ---------------------------------------------------------------------------------------------

def reduce_series(values: Sequence[float | None], reducer: str, mode: str) -> float | None:
    """Grafana's reduce: dropNN drops null/NaN/±Inf first and turns a NaN result into nil."""
    if mode == "dropNN":
        values = [v for v in values if v is not None and math.isfinite(v)]
    elif any(v is None or math.isnan(v) for v in values) and reducer in ("sum", "mean", "min", "max"):
        return math.nan
    if reducer == "count":
        return float(len(values))
    numbers = [v for v in values if v is not None]  # all of them for the reducers below (None returned NaN above)
    result: float | None
    if reducer == "last":
        result = values[-1] if values else math.nan
    elif reducer == "sum":
        result = float(sum(numbers))
    elif reducer == "mean":
        result = sum(numbers) / len(numbers) if numbers else math.nan
    elif reducer in ("min", "max"):
        result = (min if reducer == "min" else max)(numbers) if numbers else math.nan
    else:
        raise ValueError(f"unsupported reducer {reducer!r}")
    if mode == "dropNN" and result is not None and math.isnan(result):
        return None
    return result


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {ast.Gt: operator.gt, ast.Lt: operator.lt, ast.GtE: operator.ge, ast.LtE: operator.le,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


def _math(expression: str, env: Mapping[str, float | None]) -> float | None:
    tree = ast.parse(_REF.sub(r"\1", expression), mode="eval")

    def value(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = value(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Div) and right == 0:
                return math.nan if left == 0 else math.copysign(math.inf, left)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            left, right = value(node.left), value(node.comparators[0])
            if left is None or right is None:
                return None
            return 1.0 if _COMPARE[type(node.ops[0])](left, right) else 0.0
        raise ValueError(f"unsupported math expression {expression!r}")

    return value(tree)


def evaluate(rule: dict[str, Any], datasource: LiveDatasource, at: float) -> Evaluation:
    """One evaluation of `rule` (a compiled Grafana rule) at unix time `at`."""
    numbers: dict[str, dict[Labels, float | None]] = {}
    series: dict[str, list[Series]] = {}
    try:
        for item in rule["data"]:
            model, ref = item["model"], item["refId"]
            if item["datasourceUid"] != "__expr__":
                span = item["relativeTimeRange"]
                found = query_series(datasource, model, TimeRange(at - span["from"], at - span["to"]))
                if not found:
                    return Evaluation(at, {}, no_data=True)
                series[ref] = found
                continue
            kind = model["type"]
            if kind == "reduce":
                mode = (model.get("settings") or {}).get("mode", "")
                numbers[ref] = {s.labels: reduce_series([v for _, v in s.points], model["reducer"], mode)
                                for s in series[model["expression"]]}
            elif kind == "math":
                refs = _REF.findall(model["expression"])
                keys = numbers[refs[0]].keys()
                numbers[ref] = {k: _math(model["expression"], {r: numbers[r].get(k) for r in refs}) for k in keys}
            elif kind == "threshold":
                condition = model["conditions"][0]["evaluator"]
                compare = {"gt": operator.gt, "lt": operator.lt}[condition["type"]]
                numbers[ref] = {k: None if v is None else (1.0 if compare(v, condition["params"][0]) else 0.0)
                                for k, v in numbers[model["expression"]].items()}
            else:
                raise ValueError(f"unsupported expression type {kind!r}")
    except (RuntimeError, OSError) as exc:
        return Evaluation(at, {}, error=str(exc))
    return Evaluation(at, numbers[rule["condition"]])


@dataclass
class RuleState:
    """The alert instances of one rule over successive evaluations (Grafana's state manager, simplified)."""

    rule: dict[str, Any]
    pending_since: dict[Labels, float] = field(default_factory=dict)
    firing: dict[Labels, float] = field(default_factory=dict)  # labels -> when it started firing

    def _breaching(self, evaluation: Evaluation) -> dict[Labels, bool]:
        if evaluation.error is not None:
            return {(): self.rule["execErrState"] == "Alerting"}
        if evaluation.no_data or not evaluation.values:
            return {(): self.rule["noDataState"] == "Alerting"}
        result: dict[Labels, bool] = {}
        for labels, value in evaluation.values.items():
            result[labels] = self.rule["noDataState"] == "Alerting" if value is None else value != 0
        return result

    def step(self, evaluation: Evaluation) -> dict[Labels, str]:
        hold = _seconds(self.rule.get("for") or "0s")
        states: dict[Labels, str] = {}
        breaching = self._breaching(evaluation)
        for labels in set(self.pending_since) | set(self.firing) | set(breaching):
            if breaching.get(labels):
                since = self.pending_since.setdefault(labels, evaluation.at)
                if labels in self.firing or evaluation.at - since >= hold:
                    self.firing.setdefault(labels, evaluation.at)
                    states[labels] = ALERTING
                else:
                    states[labels] = PENDING
            else:
                self.pending_since.pop(labels, None)
                self.firing.pop(labels, None)
                states[labels] = NORMAL
        return states


def replay(rule: dict[str, Any], datasource: LiveDatasource, start: float, end: float,
           interval_s: float = 60.0) -> list[tuple[float, dict[Labels, str]]]:
    """Evaluate `rule` every `interval_s` from `start` to `end`: [(time, {labels: state})]."""
    state = RuleState(rule)
    timeline: list[tuple[float, dict[Labels, str]]] = []
    at = start
    while at <= end:
        timeline.append((at, state.step(evaluate(rule, datasource, at))))
        at += interval_s
    return timeline


def first_firing(timeline: Sequence[tuple[float, dict[Labels, str]]]) -> float | None:
    return next((at for at, states in timeline if ALERTING in states.values()), None)
