"""Airflow signals: every name they use exists in our collector output; queries are valid on every backend."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from airflow_dash.backends import BACKENDS
from airflow_dash.catalog import airflow as A
from airflow_dash.catalog.airflow_metrics import METRICS, TIMER_FIELDS
from airflow_dash.catalog.model import TelegrafSeries, Unsupported
from airflow_dash.cli import cli
from airflow_dash.collectors import FILES
from airflow_dash.query.values import Variable


def _prom_names() -> set[str]:
    names = set()
    for m in METRICS:
        if m.prometheus:
            if m.statsd_type == "timer":
                names |= {m.prometheus_name + s for s in ("_bucket", "_sum", "_count")}
            else:
                names.add(m.prometheus_name)
    return names


@pytest.mark.parametrize("signal", A.SIGNALS, ids=lambda s: s.key)
def test_signal_names_exist_in_our_collectors(signal):
    prom = BACKENDS["prometheus"].render(signal, {d.name: Variable(d.name) for d in signal.dimensions})
    if not isinstance(prom, Unsupported):
        used = {n for n in _prom_names() if n in prom.query}
        assert used, prom.query
    series = signal.telegraf
    if isinstance(series, TelegrafSeries):
        metric = next(m for m in METRICS if m.telegraf and m.telegraf_measurement == series.measurement)
        assert series.field in metric.telegraf_fields
        for tag in series.where:
            assert tag in metric.labels


@pytest.mark.parametrize("signal", A.SIGNALS, ids=lambda s: s.key)
def test_signal_queries_validate(signal):
    from airflow_dash.validate import promql as vp

    prom = BACKENDS["prometheus"].render(signal, {d.name: Variable(d.name) for d in signal.dimensions})
    if not isinstance(prom, Unsupported):
        problems = vp.check_promql_query(prom.query)
        assert not problems, problems


def test_dimension_values_sources_are_our_names():
    prom = _prom_names()
    tg = {m.telegraf_measurement for m in METRICS if m.telegraf}
    for d in A.DIMENSIONS:
        assert d.prometheus_label == d.telegraf_tag
        assert d.prometheus_values_from in prom, d
        assert d.telegraf_values_from is None or d.telegraf_values_from in tg, d


def test_timer_fields_include_mean_and_percentiles():
    assert {"mean", "upper", "count", "sum", "90_percentile"} <= set(TIMER_FIELDS)


def test_collectors_command_writes_three_files(tmp_path):
    result = CliRunner().invoke(cli, ["collectors", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)


def test_collectors_command_unwritable_dir_exits_2(tmp_path):
    from airflow_dash.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["collectors", "--out", str(blocker / "sub")])
    assert exc.value.code == 2
