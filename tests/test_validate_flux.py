"""Flux checking through the real flux-lsp wasm in node: errors, positions, batching, missing runtime."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from airflow_dash.validate import CheckerUnavailable, check_flux, check_queries
from airflow_dash.validate.flux import NODE_MODULES_ENV, find_node_modules, node_launch_count

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make setup)")

GRAFANA_PANEL = (
    "from(bucket: v.defaultBucket)\n"
    "  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)\n"
    '  |> filter(fn: (r) => r._measurement == "cpu" and r.host =~ /^${host:regex}$/)\n'
    "  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)"
)
VALID = [
    GRAFANA_PANEL,
    GRAFANA_PANEL.replace("\n", " "),
    'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: v.defaultBucket, tag: "host")',
    'import "influxdata/influxdb/schema"\n'
    'schema.measurementTagValues(bucket: "${bucket}", measurement: "airflow", tag: "dag_id")',
    'from(bucket: "$bucket") |> range(start: -$__range) |> filter(fn: (r) => r.host == "[[host]]")'
    " |> aggregateWindow(every: $__interval, fn: last)",
    'from(bucket: v.defaultBucket) |> range(start: v.timeRangeStart) |> map(fn: (r) => ({r with label: "${r.host}"}))',
    # flux-lsp only hints about experimental packages: not an error.
    'import "experimental"\nfrom(bucket: "a") |> range(start: -1h) |> experimental.group(columns: ["a"], mode: "extend")',
]


@pytest.mark.parametrize("query", VALID)
def test_valid_grafana_queries_pass(query):
    assert check_flux([query]) == [[]]


def test_misspelled_function_is_reported_at_its_position():
    query = GRAFANA_PANEL.replace("fn: mean", "fn: meen")
    [[problem]] = check_flux([query])
    assert problem.message == "undefined identifier meen"
    fourth_line = query.split("\n")[3]
    assert (problem.line, problem.column) == (4, fourth_line.index("meen") + 1)


def test_undefined_identifier_and_type_error():
    undefined, type_error = check_flux(
        ['from(bucket: bucket_name) |> range(start: -1h)', 'x = 1\ny = x + "a"']
    )
    assert [p.message for p in undefined] == ["undefined identifier bucket_name"]
    assert [(p.message, p.line, p.column) for p in type_error] == [("expected int but found string", 2, 9)]


def test_syntax_error_is_reported():
    [problems] = check_flux(["from(bucket: v.defaultBucket) |> range(start: -1h"])
    assert problems
    assert problems[0].message == "expected RPAREN, got EOF"
    assert problems[0].line == 1


def test_unescaped_slash_in_regex_is_an_error():
    [problems] = check_flux(['from(bucket: "a") |> range(start: -1h) |> filter(fn: (r) => r.path =~ /a/b/)'])
    assert problems


def test_positions_refer_to_the_original_text_after_substitution():
    # `${host:regex}` (13 chars) becomes `x` before checking; the error column must not shift.
    query = 'from(bucket: "${bucket:raw}") |> range(start: -1h) |> filter(fn: (r) => r.host == "${host:regex}") |> meen()'
    [[problem]] = check_flux([query])
    assert problem.message == "undefined identifier meen"
    assert problem.column == query.index("meen") + 1


def test_unknown_field_of_grafana_v_record_is_reported():
    [[problem]] = check_flux(["from(bucket: v.bucket) |> range(start: -1h)"])
    assert problem.message == "record is missing label bucket"


def test_queries_are_checked_independently():
    # Same variable in two queries: would be "reassigned" if they shared a package.
    assert check_flux(["x = 1\nx", "x = 2\nx"]) == [[], []]


def test_hundred_queries_use_one_node_process():
    queries = [GRAFANA_PANEL if i % 10 else "from(bucket: v.defaultBucket) |> meen()" for i in range(100)]
    before = node_launch_count()
    results = check_queries("flux", queries)
    assert node_launch_count() - before == 1
    assert len(results) == 100
    assert [i for i, problems in enumerate(results) if problems] == list(range(0, 100, 10))


def test_empty_batch_starts_no_process():
    before = node_launch_count()
    assert check_flux([]) == []
    assert node_launch_count() == before


def test_missing_npm_package_raises_checker_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv(NODE_MODULES_ENV, str(tmp_path))
    before = node_launch_count()
    with pytest.raises(CheckerUnavailable) as raised:
        check_flux(["from(bucket: v.defaultBucket)"])
    message = str(raised.value)
    assert "airflow-dash setup-flux-checker" in message and str(tmp_path) in message and "\n" not in message
    assert raised.value.exit_code == 2
    assert node_launch_count() == before


def test_node_modules_is_found_by_walking_up(tmp_path, monkeypatch):
    monkeypatch.delenv(NODE_MODULES_ENV, raising=False)
    nested = tmp_path / "project" / "dashboards" / "deep"
    nested.mkdir(parents=True)
    assert find_node_modules([nested]) is None
    package = tmp_path / "project" / "node_modules" / "@influxdata" / "flux-lsp-browser"
    package.mkdir(parents=True)
    (package / "flux-lsp-browser_bg.wasm").write_bytes(b"")
    assert find_node_modules([nested]) == (tmp_path / "project" / "node_modules").resolve()


def test_env_var_may_name_the_project_or_its_node_modules(monkeypatch):
    real = find_node_modules([Path(__file__).parent])
    if real is None:
        pytest.fail("node_modules with flux-lsp-browser not found: run `make setup`")
    monkeypatch.setenv(NODE_MODULES_ENV, str(real.parent))
    assert find_node_modules() == real


def test_a_checker_started_early_checks_the_next_batch_and_one_never_used_is_ended():
    from airflow_dash.validate import flux as flux_module

    before = node_launch_count()
    flux_module.start_checker_early()
    flux_module.start_checker_early()  # one at most
    assert node_launch_count() - before == 1
    [(_, early)] = flux_module._started
    assert check_flux([GRAFANA_PANEL, "from(bucket: v.defaultBucket) |> meen()"])[1]
    assert node_launch_count() - before == 1 and early.returncode is not None and not flux_module._started  # used, ended
    assert check_flux([GRAFANA_PANEL]) == [[]]  # the next batch starts its own
    assert node_launch_count() - before == 2
    flux_module.start_checker_early()
    [(_, unused)] = flux_module._started
    flux_module.discard_early_checker()
    assert unused.returncode is not None and not flux_module._started


def test_a_checker_started_early_with_other_node_modules_is_not_used(tmp_path, monkeypatch):
    from airflow_dash.validate import flux as flux_module

    flux_module.start_checker_early()
    [(_, early)] = flux_module._started
    copied = tmp_path / "node_modules"
    shutil.copytree(find_node_modules() / flux_module.FLUX_LSP_PACKAGE, copied / flux_module.FLUX_LSP_PACKAGE)
    monkeypatch.setenv(NODE_MODULES_ENV, str(copied))
    before = node_launch_count()
    assert check_flux([GRAFANA_PANEL]) == [[]]
    assert node_launch_count() - before == 1 and early.returncode is not None and not flux_module._started


# --- the node process's failures, reported in one line each ----------------------------------------------------


def _fake_checker(tmp_path, monkeypatch, source: str):
    from airflow_dash.validate import flux as flux_module

    script = tmp_path / "fake_check.mjs"
    script.write_text(source)
    monkeypatch.setattr(flux_module, "CHECKER_SCRIPT", script)
    return flux_module


def test_a_checker_that_stops_answering_is_killed_and_reported_as_a_timeout(tmp_path, monkeypatch):
    flux_module = _fake_checker(tmp_path, monkeypatch, "setInterval(() => {}, 1000);\n")
    monkeypatch.setattr(flux_module, "TIMEOUT_SECONDS", 1)
    with pytest.raises(Exception) as raised:
        check_flux([GRAFANA_PANEL])
    assert str(raised.value) == "Flux checker timed out after 1s"


def test_a_checker_that_crashes_is_reported_with_its_last_stderr_line(tmp_path, monkeypatch):
    _fake_checker(tmp_path, monkeypatch, 'console.error("INFO starting");\nconsole.error("Error: wasm trap");\nprocess.exit(1);\n')
    with pytest.raises(Exception) as raised:
        check_flux([GRAFANA_PANEL])
    assert str(raised.value) == "Flux checker failed (exit 1): Error: wasm trap"


def test_a_checker_that_finds_its_package_unusable_says_so_with_the_install_hint(tmp_path, monkeypatch):
    _fake_checker(tmp_path, monkeypatch, 'process.stdout.write(JSON.stringify({unavailable: "flux-lsp-browser has an unexpected layout"}));\nprocess.exit(3);\n')
    with pytest.raises(CheckerUnavailable) as raised:
        check_flux([GRAFANA_PANEL])
    assert str(raised.value).startswith("flux-lsp-browser has an unexpected layout: run `airflow-dash setup-flux-checker`")


def test_batches_larger_than_a_pipe_buffer_go_through_one_process():
    # 3,000 distinct shapes (~1 MB in, ~9 KB out): the writer thread streams while node answers.
    queries = [f'x{i} = {i}\nfrom(bucket: v.defaultBucket) |> range(start: v.timeRangeStart) |> limit(n: x{i})' + " " * 300
               for i in range(3000)]
    before = node_launch_count()
    assert check_flux(queries) == [[]] * 3000
    assert node_launch_count() - before == 1


def test_a_checker_that_writes_something_else_is_reported_at_once(tmp_path, monkeypatch):
    flux_module = _fake_checker(tmp_path, monkeypatch, 'process.stdout.write("garbage\\n");\nsetInterval(() => {}, 1000);\n')
    monkeypatch.setattr(flux_module, "TIMEOUT_SECONDS", 120)
    with pytest.raises(Exception) as raised:
        check_flux([GRAFANA_PANEL])
    assert "unexpected output: garbage" in str(raised.value) and "timed out" not in str(raised.value)


def test_flux_checks_are_single_use_and_a_failed_add_records_nothing(monkeypatch):
    from airflow_dash.validate import flux as flux_module

    bad = "from(bucket: v.defaultBucket) |> meen()"
    checks = flux_module.FluxChecks()
    assert [p.message for p in checks.results([bad])[0]] == ["undefined identifier meen"]
    with pytest.raises(RuntimeError, match="single-use"):
        checks.results([bad.replace("v.defaultBucket", '"b"')])

    def unavailable():
        raise CheckerUnavailable("node is not on PATH")

    retried = flux_module.FluxChecks()
    monkeypatch.setattr(flux_module, "_require_runtime", unavailable)
    with pytest.raises(CheckerUnavailable):
        retried.add([bad])
    monkeypatch.undo()
    assert [p.message for p in retried.results([bad])[0]] == ["undefined identifier meen"]


def test_a_build_that_fails_while_compiling_leaves_no_checker_running(monkeypatch, tmp_path):
    """Flux is compiled (and sent to node) first; a definition error in the next backend must end node."""
    from airflow_dash import compile as compile_module
    from airflow_dash.build import build_all
    from airflow_dash.errors import UserError
    from airflow_dash.validate import flux as flux_module

    launched = []
    real_launch, real_compile_all = flux_module._launch, compile_module.compile_all

    def recording_launch(*args):
        launched.append(real_launch(*args))
        return launched[-1]

    def failing_compile_all(dashboards, backends=None, *args, **kwargs):
        if backends == ["prometheus"]:
            raise ValueError("a broken definition")
        return real_compile_all(dashboards, backends, *args, **kwargs)

    monkeypatch.setattr(flux_module, "_launch", recording_launch)
    monkeypatch.setattr(compile_module, "compile_all", failing_compile_all)
    root = Path(__file__).resolve().parent.parent
    with pytest.raises(UserError, match="a broken definition"):
        build_all(out=tmp_path / "out", dashboards_dir=root / "dashboards", cache=False)
    assert launched and all(process.poll() is not None for process in launched)
    assert not flux_module._started and not (tmp_path / "out").exists()
