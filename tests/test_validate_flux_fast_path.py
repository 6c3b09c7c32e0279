"""The Flux checker's fast path (one text per string-literal shape, `v` declared inline, is_valid_flux) against
the exact check (the language server's diagnostics, `v` in a second file).

check_flux trusts a passing shape for all its members and re-checks only the members of a failing one the
exact way. That is safe only if no text the exact check rejects has a shape the fast check accepts: these
tests put that to the real flux-lsp over the bundled queries, hand-picked traps and seeded mutations.
"""

from __future__ import annotations

import random
import signal
import shutil
import time

import pytest

from airflow_dash.build import compile_alert_rules, compile_dashboards
from airflow_dash.validate import flux as flux_module
from airflow_dash.validate.flux import GRAFANA_PRELUDE, check_flux, substitute_flux
from airflow_dash.validate.flux_fast_path import flux_shape, with_inline_prelude

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make setup)")


def fast_text(text: str) -> str | None:
    shape = flux_shape(text)
    return None if shape is None else with_inline_prelude(shape, GRAFANA_PRELUDE)


def exact_and_fast(texts: list[str]) -> list[tuple[bool, bool]]:
    """Per substituted text: (the exact check finds errors, the fast path does not pass it). A text with no
    fast path (no certain shape, or one that could continue the inline prelude) counts as not passed."""
    fast_texts = [fast_text(text) for text in texts]
    judged = [text for text in fast_texts if text is not None]
    checker = flux_module._CheckerProcess()
    try:
        exact_batch = checker.send(texts, GRAFANA_PRELUDE)
        fast_batch = checker.send(judged, valid_only=True)
        deadline = time.monotonic() + 300
        exact, verdicts = checker.answer(exact_batch, deadline), iter(checker.answer(fast_batch, deadline))
    finally:
        checker.close()
    return [(bool(errors), text is None or not next(verdicts)) for errors, text in zip(exact, fast_texts)]


def bundled_flux_texts() -> list[str]:
    compiled = compile_dashboards(backends=["flux"])
    queries = [query.text for dashboard in compiled for query in dashboard.queries if query.language == "flux"]
    queries += [text for language, _, text in compile_alert_rules(backends=["flux"], compiled=compiled).queries()
                if language == "flux"]
    return [substitute_flux(q).text for q in dict.fromkeys(queries)]


TRAPS = [
    # string labels: the content is what is checked
    'x = {"a": 1}\ny = x["b"]',
    'x = {a: 1}\ny = x["b"]',
    'from(bucket: "a") |> range(start: -1h) |> map(fn: (r) => ({"_value": r["_value"] + 1}))["missing"]',
    # imports: the path is what is checked
    'import "strinngs"\nx = 1',
    'import s "strinngs"\nx = s.title(v: "a")',
    # escapes and interpolation are parsed
    'x = "\\q"',
    'x = "${undefined_name}"',
    'x = "a ${1 +} b"',
    # strings inside regexes, and a regex the heuristic could miss
    'from(bucket: "a") |> range(start: -1h) |> filter(fn: (r) => r.x =~ /a"(b"/)',
    'f = (r) => /a"b/c"/\nx = 1',
    # statements around the inline prelude
    'package main\nimport "strings"\nx = strings.title(v: "a")\nx',
    '// comment\nimport "strings" // trailing comment\nstrings.title(v: v.defaultBucket)',
    'v = 1\nv',
    'import "strings"\nimport "strings"\nx = 1',
    'x = 1\nimport "strings"',
    "",
    "   \n  ",
    # found by review: text that would continue the inline `v = {...}` declaration
    ".organization\nx = 1",
    " == {a: 1}\nx = 1",
    'import "strings"\n.organization\nx = strings.title(v: "a")',
    "and true\nx = 1",
    '|> yield()\nx = 1',
    # a comment between a label and its `:` or `]`
    'x = {"a" // c\n: 1}\ny = x.s',
    'x = {s: 1}\ny = x[ // c\n "b"]',
    'from(bucket: "a") |> range(start: -1h) |> map(fn: (r) => ({"a" // label\n: r._value}))\n'
    ' |> map(fn: (r) => ({r with z: r.s}))',
    # regexes after `=>`, `then`, `else` or a comment
    'f = (r) => /[a"b-a"]/\nx = 1',
    'x = if true then /[a"b-a"]/ else /b/',
    'x = if true then /b/ else /[a"b-a"]/',
    'x = // c\n /[a"b-a"]/',
    # a division after a name ending in and/or/not, and quotes inside ${...}
    's = 1\nband = 4\nx = band / 2\n"a/b" meen "c"',
    's = 1\nr = {sensor: 2}\nx = r.sensor / 2\n"a/b" meen "c"',
    's = 1\nx = "${"\\""}" meen "z"',
    # a package clause: the exact check's `v` lives in another package
    'package foo\nimport "strings"\nx = strings.title(v: v.defaultBucket)',
]


def test_no_bundled_query_is_a_suspect_on_the_fast_path():
    """The point of the fast path: every bundled query's shape passes, so none is re-checked one by one."""
    texts = bundled_flux_texts()
    assert len(texts) > 100
    assert len({flux_shape(t) for t in texts}) < len(texts) / 2  # shapes do collapse the set
    assert exact_and_fast(texts) == [(False, False)] * len(texts)


@pytest.mark.parametrize("text", TRAPS)
def test_a_trap_the_exact_check_rejects_is_rejected_on_the_fast_path(text):
    [(exact, fast)] = exact_and_fast([text])
    assert fast or not exact, (text, flux_shape(text))


def mutants(texts: list[str], count: int, seed: int) -> list[str]:
    """Seeded small edits of valid queries: deletions, insertions of syntax characters, string and name edits."""
    rng = random.Random(seed)
    inserts = ['"', "(", ")", "[", "]", "{", "}", "|>", ",", ":", "=", "/", "\\", "${", "import ", '"a": ', "meen",
               "// c\n", "=> /", " then ", " else ", ".", "==", " and ", "package p\n", '"a" // c\n']
    result = []
    while len(result) < count:
        text = rng.choice(texts)
        at = rng.randrange(len(text))
        kind = rng.randrange(4)
        if kind == 0:
            mutant = text[:at] + text[at + rng.randint(1, 3):]
        elif kind == 1:
            mutant = text[:at] + rng.choice(inserts) + text[at:]
        elif kind == 2:  # retype a string's content: stays plain, or gains a character that is parsed
            quote = text.find('"', at)
            if quote < 0:
                continue
            mutant = text[: quote + 1] + rng.choice(["zz", "a/b", "x\\n", "${x}", "a\"b", "1.5"]) + text[quote + 1 :]
        else:  # misspell an identifier
            letters = [i for i, c in enumerate(text) if c.isalpha()]
            i = rng.choice(letters)
            mutant = text[:i] + rng.choice("aeiouxq") + text[i + 1 :]
        result.append(mutant)
    return result


def test_no_mutant_the_exact_check_rejects_passes_the_fast_path():
    texts = bundled_flux_texts()
    candidates = mutants(texts, 400, seed=13)
    outcomes = exact_and_fast(candidates)
    missed = [text for text, (exact, fast) in zip(candidates, outcomes) if exact and not fast]
    assert sum(exact for exact, _ in outcomes) > 200  # most edits break the query: the sample tests something
    assert missed == []


def test_only_the_members_of_a_failing_shape_are_checked_one_by_one(monkeypatch):
    sent: list[tuple[int, str]] = []
    original = flux_module._CheckerProcess.send

    def recording(self, scripts, prelude="", valid_only=False):
        sent.append((len(scripts), prelude, valid_only))
        return original(self, scripts, prelude, valid_only)

    monkeypatch.setattr(flux_module._CheckerProcess, "send", recording)
    good = [f'from(bucket: "b{i}") |> range(start: v.timeRangeStart) |> filter(fn: (r) => r.host == "h{i}")' for i in range(20)]
    bad = [f'from(bucket: "b{i}") |> range(start: v.timeRangeStart) |> meen()' for i in range(5)]
    results = check_flux(good + bad)
    assert sent == [(2, "", True), (5, GRAFANA_PRELUDE, False)]  # two shapes, then the five of the failing one, exactly
    assert results[:20] == [[]] * 20
    assert [[p.message for p in r] for r in results[20:]] == [["undefined identifier meen"]] * 5
    assert {r[0].column for r in results[20:]} == {bad[0].index("meen") + 1}


def test_the_inline_prelude_goes_after_the_imports_and_only_before_a_named_statement():
    prelude = GRAFANA_PRELUDE.strip()
    assert with_inline_prelude('import "strings"\nimport s "x"\n\nstrings.title(v: "a")', prelude) == (
        f'import "strings"\nimport s "x"\n\n{prelude}\nstrings.title(v: "a")')
    assert with_inline_prelude("from(bucket: v.defaultBucket)", prelude) == f"{prelude}\nfrom(bucket: v.defaultBucket)"
    for continuing in (".organization", "== 1", "and x", "or x", "(1)", "[0]", "|> yield()", "-1"):
        assert with_inline_prelude(continuing, prelude) is None, continuing


def test_texts_whose_tokens_are_uncertain_have_no_shape():
    for text in ('x = "a" // c', 'x = "a\\n"', 'x = "${r.x}"', 'package p\nx = 1', 'x = "open', 'x = /a"b/',
                 "x = /a\nb/"):
        assert flux_shape(text) is None, text
    assert flux_shape('x = a / b / "c"') == 'x = a / b / "s"'  # divisions, not a regex holding a string
    assert flux_shape('x = 1\nband = 4\ny = band / 2 / "c"') == 'x = 1\nband = 4\ny = band / 2 / "s"'
    assert flux_shape('y = r.x =~ /a/ and "b" == "c"') == 'y = r.x =~ /a/ and "s" == "s"'


def test_the_warm_up_script_passes_flux_s_own_check():
    """Node runs WARM_UP_SCRIPT before its first batch so that flux's one-time set-up is paid while it waits;
    a script that failed would only warm up the error path."""
    checker = flux_module._CheckerProcess()
    try:
        batch = checker.send([flux_module.WARM_UP_SCRIPT], valid_only=True)
        assert checker.answer(batch, time.monotonic() + 120) == [True]
    finally:
        checker.close()
    assert flux_module.WARM_UP_SCRIPT in flux_module._launch_command("node", flux_module.CHECKER_SCRIPT.parent)


def test_closing_waits_for_unanswered_batches_and_not_for_node_s_shutdown_after_the_last_answer():
    pending = flux_module._CheckerProcess()
    pending.send(["x = 1"], valid_only=True)
    pending.close()  # the batch was never read: node answers it, then exits on its own
    assert pending.process.returncode == 0 and pending._answers == [[True]]
    answered = flux_module._CheckerProcess()
    batch = answered.send(["x = 1"], valid_only=True)
    assert answered.answer(batch, time.monotonic() + 120) == [True]
    answered.close()  # nothing left to wait for: ended at once
    assert answered.process.returncode == -signal.SIGKILL
