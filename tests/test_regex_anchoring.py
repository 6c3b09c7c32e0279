"""`Regex("etl_.*")` selects the same values on every backend: the whole value must match, as in PromQL.

Prometheus anchors a label regex itself (`^(?:pattern)$`); InfluxDB (InfluxQL and Flux) match anywhere in the
value, so the builders anchor the pattern there, through `airflow_dash.escaping` (the only place that writes
literals). Checked as a property: for generated patterns (top-level alternation, `/`, patterns anchored
already) and values, each backend's rendered regex, read back out of the query text, selects exactly the
values `re.fullmatch(pattern, value)` selects.
"""

import ast
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.query import flux as F
from airflow_dash.query import influxql as Q
from airflow_dash.query import promql as P
from airflow_dash.query.values import Regex

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_dash"

ATOMS = st.sampled_from(["a", "b", "etl_", "x/y", ".", ".*", "[ab]", "[^a]", "\\.", "_", "\\d", "(a|b)", "b+"])
BRANCH = st.lists(ATOMS, min_size=1, max_size=4).map("".join)
PATTERNS = st.one_of(
    st.lists(BRANCH, min_size=1, max_size=3).map("|".join),  # top level `|`: the trap of naive anchoring
    BRANCH.map(lambda body: f"^{body}$"),  # anchored already
    BRANCH.map(lambda body: f"^{body}"),  # anchored at one end only
)
VALUES = st.text(alphabet="abxy/_.9e tl", max_size=8) | st.sampled_from(["etl_daily", "a", "b", "x/y", "ab", "9"])


def _promql_pattern(pattern: str) -> str:
    text = str(P.metric("m", dag_id=Regex(pattern)))
    literal = re.fullmatch(r'm\{dag_id=~("(?:[^"\\]|\\.)*")\}', text)
    assert literal, text
    return ast.literal_eval(literal.group(1))  # a Go string: the escapes we write are Python's too


def _slash_literal(text: str, before: str) -> str:
    literal = re.search(re.escape(before) + r" =~ /((?:[^/\\]|\\.)*)/", text)
    assert literal, text
    return re.sub(r"\\/", "/", literal.group(1))  # the delimiter escape is the literal's, not the pattern's


def _flux_pattern(pattern: str) -> str:
    return _slash_literal(str(F.from_bucket().range().filter(measurement="m", dag_id=Regex(pattern))), "r.dag_id")


def _influxql_pattern(pattern: str) -> str:
    return _slash_literal(str(Q.select(Q.mean("v")).from_("m").where(dag_id=Regex(pattern))), '"dag_id"')


def test_the_issue_example_is_anchored_on_every_backend():
    assert _promql_pattern("etl_.*") == "etl_.*"  # Prometheus anchors it itself
    assert _flux_pattern("etl_.*") == _influxql_pattern("etl_.*") == "^(?:etl_.*)$"
    for value, selected in (("etl_daily", True), ("my_etl_daily", False), ("etl", False)):
        assert bool(re.search(_flux_pattern("etl_.*"), value)) is selected
        assert bool(re.search(_influxql_pattern("etl_.*"), value)) is selected


@settings(max_examples=300, deadline=None)
@given(pattern=PATTERNS, values=st.lists(VALUES, min_size=1, max_size=6))
def test_a_regex_selects_the_same_values_on_every_backend(pattern, values):
    promql, flux, influxql = _promql_pattern(pattern), _flux_pattern(pattern), _influxql_pattern(pattern)
    for value in values:
        expected = re.fullmatch(pattern, value) is not None
        assert (re.fullmatch(promql, value) is not None) is expected, (pattern, value)  # Prometheus: ^(?:..)$
        assert (re.search(flux, value) is not None) is expected, (pattern, flux, value)  # InfluxDB: anywhere
        assert (re.search(influxql, value) is not None) is expected, (pattern, influxql, value)


def _string_literals(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}  # fmt: skip
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings]  # fmt: skip


def test_anchoring_is_written_in_escaping_only():
    """No query builder, catalog or backend anchors a pattern itself: `^(?:` is written by airflow_dash.escaping."""
    builders = [*PACKAGE.joinpath("query").glob("*.py"), *PACKAGE.joinpath("catalog").glob("*.py"),
                PACKAGE / "backends.py", PACKAGE / "compile.py", PACKAGE / "escaping.py"]  # fmt: skip
    writers = sorted(p.name for p in builders if any("^(?:" in text for text in _string_literals(p)))
    assert writers == ["escaping.py"]
