"""The Grafana rule runner's semantics (docs/grafana-alerting-facts.md): reduce modes, nil → NoData, `for`."""

from __future__ import annotations

import math

from airflow_dash.live.alert_eval import ALERTING, NORMAL, PENDING, Evaluation, RuleState, _math, reduce_series


def test_drop_non_numbers_then_nil_for_an_empty_mean():
    assert reduce_series([1.0, None, 3.0, math.nan], "mean", "dropNN") == 2.0
    assert reduce_series([None, None], "mean", "dropNN") is None  # NaN result -> nil -> NoData
    assert reduce_series([None, None], "sum", "dropNN") == 0.0
    assert reduce_series([None, None], "count", "dropNN") == 0.0
    assert math.isnan(reduce_series([1.0, None], "sum", ""))  # strict: a null poisons the result


def test_math_joins_by_ref_and_divides_like_grafana():
    assert _math("$C / $D", {"C": 1.0, "D": 4.0}) == 0.25
    assert math.isnan(_math("$C / $D", {"C": 0.0, "D": 0.0}))
    assert _math("$C + ($C - $D) * 2.0", {"C": 10.0, "D": 12.0}) == 6.0
    assert _math("$B >= 5", {"B": 5.0}) == 1.0
    assert _math("$B >= 5", {"B": None}) is None


def _rule(no_data: str = "OK", hold: str = "1m") -> dict:
    return {"noDataState": no_data, "execErrState": "Error", "for": hold}


def test_pending_then_firing_after_for_and_back_to_normal():
    state = RuleState(_rule())
    assert state.step(Evaluation(0, {(): 1.0})) == {(): PENDING}
    assert state.step(Evaluation(60, {(): 1.0})) == {(): ALERTING}
    assert state.step(Evaluation(120, {(): 0.0})) == {(): NORMAL}


def test_no_data_follows_no_data_state():
    quiet, loud = RuleState(_rule("OK", "0s")), RuleState(_rule("Alerting", "0s"))
    assert quiet.step(Evaluation(0, {}, no_data=True)) == {(): NORMAL}
    assert loud.step(Evaluation(0, {}, no_data=True)) == {(): ALERTING}
    assert loud.step(Evaluation(60, {(("host", "a"),): None})) == {(): NORMAL, (("host", "a"),): ALERTING}
