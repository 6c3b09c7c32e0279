"""The per-user cache of query check results, and running the Flux checker alongside the others.

Real checkers throughout (node + flux-lsp, promql_parser, our InfluxQL parser); node launches are counted,
not timed. Every test gets its own empty cache directory (conftest).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sqlite3
import threading
from pathlib import Path

import pytest

from airflow_dash import validate
from airflow_dash.build import compile_dashboards, find_invalid_queries
from airflow_dash.validate import CheckerUnavailable, check_all, check_queries
from airflow_dash.validate import cache as cache_module
from airflow_dash.validate.cache import CACHE_DIR_ENV, CheckCache, checker_fingerprint, default_cache_dir
from airflow_dash.validate.flux import FLUX_LSP_PACKAGE, NODE_MODULES_ENV, find_node_modules, node_launch_count

ROOT = Path(__file__).resolve().parent.parent
needs_node = pytest.mark.skipif(shutil.which("node") is None or find_node_modules() is None, reason="node or flux-lsp missing (make setup-node)")

FLUX_OK = 'from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart) |> filter(fn: (r) => r.host == "${host}")'
FLUX_BAD = "from(bucket: v.defaultBucket)\n  |> meen()"
QUERIES = {
    "flux": [FLUX_OK, FLUX_BAD, FLUX_OK],
    "promql": ['rate(up{job="$job"}[$__rate_interval])', "rate(up)"],
    "influxql": ['SELECT mean("value") FROM "cpu" WHERE $timeFilter GROUP BY time($__interval)', "SELECT value"],
}


def uncached() -> dict:
    return {language: dict(zip(texts, check_queries(language, texts))) for language, texts in QUERIES.items()}


@needs_node
def test_a_second_check_reuses_every_result_and_starts_no_node():
    cache = CheckCache()
    first_launches = node_launch_count()
    first = check_all(QUERIES, cache)
    assert node_launch_count() - first_launches == 1
    assert cache.hits == 0 and cache.misses == 6  # distinct texts

    again = CheckCache()
    before = node_launch_count()
    second = check_all(QUERIES, again)
    assert node_launch_count() == before
    assert again.hits == 6 and again.misses == 0
    assert first == second == uncached()
    # Problems keep their message and position against the original text.
    assert second["flux"][FLUX_BAD] and second["flux"][FLUX_BAD][0].line == 2
    assert second["promql"]["rate(up)"] and second["influxql"]["SELECT value"]


@needs_node
def test_the_cache_lives_under_xdg_cache_home_unless_its_own_variable_says_where(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    check_all({"influxql": ["SELECT value FROM cpu"]}, CheckCache())
    assert default_cache_dir() == tmp_path / "airflow-dash"
    assert (tmp_path / "airflow-dash" / "checks.sqlite3").is_file()
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    check_all({"influxql": ["SELECT value FROM cpu"]}, CheckCache())
    assert (tmp_path / "elsewhere" / "checks.sqlite3").is_file()


def _copy_validate_sources(target: Path) -> Path:
    target.mkdir()
    for name in os.listdir(cache_module._VALIDATE_DIR):
        if name.endswith((".py", ".mjs")):
            shutil.copy(cache_module._VALIDATE_DIR / name, target / name)
    return target


@needs_node
def test_a_changed_checker_invalidates_its_results(tmp_path, monkeypatch):
    sources = _copy_validate_sources(tmp_path / "validate")
    monkeypatch.setattr(cache_module, "_VALIDATE_DIR", sources)
    check_all(QUERIES, CheckCache())
    fingerprints = {language: checker_fingerprint(language) for language in QUERIES}

    # Our Flux checker's source changed: Flux results are stale, the others are not.
    (sources / "flux.py").write_text((sources / "flux.py").read_text() + "\n# changed\n")
    assert checker_fingerprint("flux") != fingerprints["flux"]
    assert checker_fingerprint("promql") == fingerprints["promql"]
    cache, before = CheckCache(), node_launch_count()
    check_all(QUERIES, cache)
    assert node_launch_count() - before == 1
    assert cache.misses == 2 and cache.hits == 4

    # The shared substitution code changed: every language is checked again.
    (sources / "grafana_vars.py").write_text((sources / "grafana_vars.py").read_text() + "\n# changed\n")
    cache = CheckCache()
    check_all(QUERIES, cache)
    assert cache.hits == 0 and cache.misses == 6


@needs_node
def test_a_reinstalled_flux_lsp_invalidates_flux_results(tmp_path, monkeypatch):
    modules = tmp_path / "node_modules"
    shutil.copytree(find_node_modules() / FLUX_LSP_PACKAGE, modules / FLUX_LSP_PACKAGE)
    monkeypatch.setenv(NODE_MODULES_ENV, str(modules))
    check_all({"flux": [FLUX_OK]}, CheckCache())
    wasm = modules / FLUX_LSP_PACKAGE / "flux-lsp-browser_bg.wasm"
    stat = wasm.stat()
    os.utime(wasm, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    before = node_launch_count()
    check_all({"flux": [FLUX_OK]}, CheckCache())
    assert node_launch_count() - before == 1


def test_without_node_nothing_flux_is_cached_and_the_checker_still_reports_it(tmp_path, monkeypatch):
    monkeypatch.setenv(NODE_MODULES_ENV, str(tmp_path))  # no flux-lsp there
    assert checker_fingerprint("flux") is None
    with pytest.raises(CheckerUnavailable):
        check_all({"flux": [FLUX_OK], "promql": ["up"]}, CheckCache())
    with pytest.raises(CheckerUnavailable):
        check_all({"flux": [FLUX_OK], "promql": ["up"]}, CheckCache())


@pytest.mark.parametrize("damage", ["not a directory", "not a database"])
def test_an_unusable_cache_only_means_checking_again(tmp_path, monkeypatch, damage):
    if damage == "not a directory":
        (tmp_path / "file").write_text("x")
        monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "file" / "cache"))
    else:
        monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
        (tmp_path / "checks.sqlite3").write_bytes(b"garbage " * 1000)
    texts = {"promql": ["rate(up)", "up"], "influxql": ["SELECT value"]}
    for _ in range(2):
        cache = CheckCache()
        results = check_all(texts, cache)
        assert cache.hits == 0
        assert results["promql"]["rate(up)"] and results["promql"]["up"] == [] and results["influxql"]["SELECT value"]


_WRITER = """
import sys
from airflow_dash.validate.cache import CheckCache
from airflow_dash.validate.problems import QueryProblem
worker, rounds = int(sys.argv[1]), int(sys.argv[2])
cache = CheckCache(sys.argv[3])
for round_ in range(rounds):
    texts = [f"q-{worker}-{round_}-{i}" for i in range(50)]
    cache.store("fp", "promql", [(t, [QueryProblem("promql", t, "bad " + t, 1, len(t))]) for t in texts])
    found = cache.lookup("fp", "promql", texts)
    assert len(found) == len(texts), (worker, round_, len(found))
    assert [found[t][0].message for t in texts] == ["bad " + t for t in texts]
"""


def test_concurrent_builds_share_the_cache_without_losing_or_mixing_results(tmp_path):
    workers, rounds = 4, 10
    processes = [subprocess.Popen([sys.executable, "-c", _WRITER, str(w), str(rounds), str(tmp_path)], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True) for w in range(workers)]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    texts = [f"q-{w}-{r}-{i}" for w in range(workers) for r in range(rounds) for i in range(50)]
    found = CheckCache(tmp_path).lookup("fp", "promql", texts)
    assert len(found) == len(texts)
    assert all(problems[0].message == "bad " + text and problems[0].column == len(text) for text, problems in found.items())


class FakeStream:
    """Stands in for FluxChecks (validate.STREAMING): `started` when texts are added, `answer` gives results."""

    def __init__(self, answer, log):
        self.answer, self.log, self.added = answer, log, []

    def add(self, texts):
        self.log.append("flux started")
        self.added += texts

    def results(self, texts):
        return self.answer(texts)

    def close(self, abort=False):
        self.log.append("flux aborted" if abort else "flux closed")


def test_the_out_of_process_checker_runs_while_the_others_check(monkeypatch):
    """Flux gets its texts first and the in-process checkers run meanwhile: the fake Flux checker only answers
    once the PromQL one has run, and it was started before PromQL ran."""
    promql_ran = threading.Event()
    order = []

    def flux(texts):
        assert promql_ran.is_set(), "Flux results were awaited before PromQL was checked"
        return [[] for _ in texts]

    def promql(texts):
        order.append("promql")
        promql_ran.set()
        return [[] for _ in texts]

    monkeypatch.setitem(validate.STREAMING, "flux", lambda: FakeStream(flux, order))
    monkeypatch.setitem(validate.CHECKERS, "promql", promql)
    result = check_all({"promql": ["up"], "flux": ["x"]})
    assert result == {"promql": {"up": []}, "flux": {"x": []}}
    assert order == ["flux started", "promql", "flux closed"]


def test_errors_are_raised_in_language_order_after_every_checker_finished(monkeypatch):
    finished = []

    def failing(name):
        def checker(texts):
            finished.append(name)
            raise CheckerUnavailable(f"{name} is missing")
        return checker

    monkeypatch.setitem(validate.STREAMING, "flux", lambda: FakeStream(failing("flux"), []))
    monkeypatch.setitem(validate.CHECKERS, "promql", failing("promql"))
    with pytest.raises(CheckerUnavailable, match="flux is missing"):
        check_all({"promql": ["up"], "flux": ["x"]})
    assert sorted(finished) == ["flux", "promql"]


def test_a_build_sends_flux_queries_to_the_checker_before_it_compiles_the_other_backends(monkeypatch, tmp_path):
    """The streaming checker gets the Flux dashboards' queries first, while the other backends still compile."""
    from airflow_dash import compile as compile_module
    from airflow_dash.build import build_all

    log = []
    real_compile_all = compile_module.compile_all

    def logging_compile_all(dashboards, backends=None, *args, **kwargs):
        log.append(f"compile {','.join(backends)}")
        return real_compile_all(dashboards, backends, *args, **kwargs)

    monkeypatch.setattr(compile_module, "compile_all", logging_compile_all)
    streams = []

    def stream():
        streams.append(FakeStream(lambda texts: [[] for _ in texts], log))
        return streams[-1]

    monkeypatch.setitem(validate.STREAMING, "flux", stream)
    build_all(out=tmp_path / "out", dashboards_dir=ROOT / "dashboards", cache=False)
    assert log[:4] == ["compile flux", "flux started", "compile prometheus", "compile influxql"]
    assert log[4:] == ["flux started", "flux closed"]  # then the alert rules' Flux queries, then the answers
    [only] = streams
    assert len(only.added) > 100 and all("from(" in text or "import" in text for text in only.added)
    assert (tmp_path / "out" / "flux").is_dir() and (tmp_path / "out" / "prometheus").is_dir()


@needs_node
def test_build_checks_find_the_same_problems_with_and_without_the_cache():
    compiled = compile_dashboards(dashboards_dir=ROOT / "dashboards")
    fresh = find_invalid_queries(compiled, cache=False)
    first = find_invalid_queries(compiled)
    before = node_launch_count()
    cached = find_invalid_queries(compiled)
    assert node_launch_count() == before
    assert fresh == first == cached == []


def _build(out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--out", str(out), *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@needs_node
def test_a_cached_build_writes_the_same_bytes_as_an_uncached_one(tmp_path):
    runs = {name: _build(tmp_path / name, *options) for name, options in
            (("uncached", ("--no-cache",)), ("filling", ()), ("cached", ()))}
    assert all(r.returncode == 0 for r in runs.values()), {n: r.stderr for n, r in runs.items()}
    files = {name: {p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*.json")} for name in runs}
    assert files["uncached"] and files["uncached"] == files["filling"] == files["cached"]


def test_an_offline_build_does_not_import_requests(tmp_path):
    script = (
        "import sys\nfrom airflow_dash.build import build\n"
        f"build(backends=['prometheus', 'influxql'], out={str(tmp_path)!r}, dashboards_dir={str(ROOT / 'dashboards')!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('requests', 'urllib3', 'influxdb_client', 'PIL')))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_build_renders_each_alert_rule_file_once(tmp_path, monkeypatch):
    """Rendering the rule files (YAML) was most of an unchanged re-build when done three times."""
    from airflow_dash.alert_rules import CompiledAlerts
    from airflow_dash.build import compile_alert_rules, write_alerts

    monkeypatch.chdir(ROOT)
    alerts = compile_alert_rules(["prometheus", "flux"])
    calls = []
    rendered = CompiledAlerts.files
    monkeypatch.setattr(CompiledAlerts, "files", lambda self: calls.append(1) or rendered(self))
    written = write_alerts(alerts, tmp_path)
    assert written and all(path.is_file() for path in written)
    assert len(calls) == 1


def test_query_checks_are_single_use(monkeypatch):
    monkeypatch.setitem(validate.STREAMING, "flux", lambda: FakeStream(lambda texts: [[] for _ in texts], []))
    checks = validate.QueryChecks()
    assert checks.results({"flux": ["x"]}) == {"flux": {"x": []}}
    with pytest.raises(RuntimeError, match="single-use"):
        checks.results({"flux": ["y"]})


def test_one_build_uses_one_connection_to_the_cache_and_closes_it(monkeypatch):
    """Opening a connection, and closing the last one (a WAL checkpoint), cost a few ms each: a build's
    lookups and stores share one."""
    opened = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: opened.append(real_connect(*a, **k)) or opened[-1])
    cache = CheckCache()
    check_all({"promql": ["up", "rate(up[5m])"], "influxql": ["SELECT value FROM cpu"]}, cache)
    assert len(opened) == 1 and cache._connection is None
    with pytest.raises(sqlite3.ProgrammingError):
        opened[0].execute("SELECT 1")  # closed
    again = CheckCache()
    check_all({"promql": ["up", "rate(up[5m])"], "influxql": ["SELECT value FROM cpu"]}, again)
    assert again.hits == 3 and len(opened) == 2
