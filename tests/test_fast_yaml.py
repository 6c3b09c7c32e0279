"""The YAML files we write are the pure-Python emitter's bytes, whichever emitter wrote them.

`fast_yaml.safe_dump` lets libyaml write a document only where `libyaml_exact` says both emitters agree: checked
here over the bundled alert rule files and collector configs (which must take the fast path), generated
documents made of what those files hold (quotes, unicode, line breaks, long lines, leading and trailing spaces,
strings YAML would read as booleans or numbers...), the known differences (which must take the pure path), and
a PyYAML without libyaml (in a subprocess).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_dash import fast_yaml
from airflow_dash.build import compile_alert_rules
from airflow_dash.collectors.prometheus import prometheus_yaml
from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml
from airflow_dash.discovery import DashboardSource

ROOT = Path(__file__).resolve().parent.parent


def pure(document, literal_multiline=False, **options) -> str:
    """The reference: PyYAML's pure-Python emitter."""
    dumper = fast_yaml._PureLiteral if literal_multiline else fast_yaml._Pure
    return yaml.dump(document, Dumper=dumper, **options)


def libyaml(document, literal_multiline=False, **options) -> str:
    dumper = fast_yaml._CLiteral if literal_multiline else fast_yaml._C
    return yaml.dump(document, Dumper=dumper, **options)


def bundled_files() -> dict[str, str]:
    """Every YAML file build and collectors write from the bundled definitions: name -> text."""
    alerts = compile_alert_rules(dashboards_dir=DashboardSource(ROOT / "dashboards", bundled=False),
                                 alerts_dir=ROOT / "alerts")
    files = alerts.files()
    for mode in ("tags", "names"):
        files[f"statsd_mapping.yml {mode}"] = statsd_mapping_yaml(mode=mode)
        files[f"prometheus.yml {mode}"] = prometheus_yaml(mode=mode)
    return files


def test_bundled_files_take_libyaml_and_are_the_pure_emitters_text(monkeypatch):
    calls = []
    real = fast_yaml.safe_dump

    def recording(document, **options):
        calls.append((document, options))
        return real(document, **options)

    monkeypatch.setattr(fast_yaml, "safe_dump", recording)
    fast = bundled_files()
    assert set(fast) == {"prometheus/airflow-dash.rules.yml", "flux/grafana-alert-rules.yaml",
                         "influxql/grafana-alert-rules.yaml", "statsd_mapping.yml tags", "statsd_mapping.yml names",
                         "prometheus.yml tags", "prometheus.yml names"}
    assert len(calls) == len(fast) and sum(map(len, fast.values())) > 80_000  # the real files, not a toy
    for document, options in calls:
        exact = fast_yaml.libyaml_exact(document, allow_unicode=options.get("allow_unicode", False),
                                        width=options.get("width"))
        assert exact  # else the fast path is never taken
        assert libyaml(document, **options) == pure(document, **options)
    monkeypatch.setattr(fast_yaml, "_CSafeDumper", None)  # every document through the pure emitter
    assert bundled_files() == fast


# Where the two emitters differ (found by the generated comparison below without the guard): each must be
# written by the pure emitter. (document, allow_unicode, width)
RULE_FILE = {"allow_unicode": True, "width": 4096}
DIFFERENT = [
    ({"": "empty key"}, RULE_FILE),
    ({"a" * 123: 1}, RULE_FILE),  # PyYAML: `? key` (123 + the 5 of `!!str` >= 128); libyaml: a simple key
    ({"é" * 65: 1}, RULE_FILE),  # 130 UTF-8 bytes: libyaml `? key`, PyYAML a simple key
    ({"k": "astral \U0001f600"}, RULE_FILE),
    ({"k": "next\x85line"}, RULE_FILE),
    ({"k": "kept\n\n", "after": 1}, RULE_FILE),  # libyaml ends the document with `...` after an inner `|+` literal
    ({"k": ["\n", "after"]}, RULE_FILE),
    # double-quoted (\xE9) and past the width: PyYAML breaks the line after the escape, libyaml does not
    ({"alert": " " * 37 + "x" * 40 + "é "}, {"allow_unicode": False, "width": 80}),
    ({"alert": "a \n" + "word " * 40}, {"allow_unicode": True, "width": 80}),
]


@pytest.mark.parametrize(("document", "options"), DIFFERENT, ids=repr)
@pytest.mark.parametrize("literal_multiline", [True, False])
def test_where_libyaml_differs_the_pure_emitter_writes(document, options, literal_multiline):
    assert not fast_yaml.libyaml_exact(document, **options)
    options = {**options, "literal_multiline": literal_multiline, "sort_keys": False}
    assert fast_yaml.safe_dump(document, **options) == pure(document, **options)


def test_the_differences_are_real():
    """The cases above are not hypothetical (with this PyYAML): libyaml writes something else for each, with
    literal blocks or without."""
    for document, options in DIFFERENT:
        differ = [libyaml(document, literal_multiline=literal, sort_keys=False, **options)
                  != pure(document, literal_multiline=literal, sort_keys=False, **options)
                  for literal in (True, False)]
        assert any(differ), document


@pytest.mark.parametrize("length", range(118, 131))
@pytest.mark.parametrize("character", ["a", "é", "✓"])
def test_key_lengths_around_the_simple_key_limits(length, character):
    document = {character * (length // len(character.encode("utf-8"))) + "a" * (length % len(character.encode("utf-8"))): 1}
    key = next(iter(document))
    assert len(key.encode("utf-8")) == length
    for literal in (True, False):
        options = {"literal_multiline": literal, "allow_unicode": True}
        assert fast_yaml.safe_dump(document, **options) == pure(document, **options)
        if fast_yaml.libyaml_exact(document, allow_unicode=True):
            assert libyaml(document, **options) == pure(document, **options)


def test_only_plain_data_takes_libyaml():
    assert fast_yaml.libyaml_exact({"a": [1, 2.5, True, None, "x", {"b": []}]})
    for document in ({1: "int key"}, {"k": (1, 2)}, {"k": b"bytes"}, {"k": {1, 2}}):
        assert not fast_yaml.libyaml_exact(document, allow_unicode=True, width=4096)


# Generated documents from what our files hold, and more: pieces that change how YAML quotes and breaks.
PIECES = [" ", "  ", "\n", " \n", "\n ", "\n\n", ":", ": ", " :", "#", " #", "- ", "-", "? ", "'", '"', "''", "\\",
          "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "%", "@", "`", "·", "é", "≥", "✓", "—", "\u00a0",
          "{{ $labels.dag_id }}", "$__rate_interval", 'r._field == "value"', "|> filter(fn: (r) => r.x)",
          "yes", "no", "on", "off", "true", "False", "null", "~", "1", "-1", "0x1f", "0o7", "1e3", "1_000", ".5",
          ".inf", ".NaN", "12:30", "2024-01-01", "=", "<<", "word", "x" * 9]
fragments = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)
long_lines = st.lists(st.sampled_from([" ", "word", "x" * 40, "é", ", ", '"', "'"]), min_size=40,
                      max_size=1500).map("".join)
unicode_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFFFD, exclude_categories=("Cs", "Cc")),
                       max_size=20)
strings = fragments | long_lines | unicode_text
keys = (st.sampled_from(["alert", "expr", "for", "labels", "y", "n", "true", "null", "1", "on", "-", "a b", "é"])
        | fragments.filter(lambda k: "\n" not in k) | unicode_text)
scalars = strings | st.integers() | st.floats() | st.booleans() | st.none()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                         max_leaves=16)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.dictionaries(keys, documents, min_size=1, max_size=5), literal_multiline=st.booleans(),
       allow_unicode=st.booleans(), width=st.sampled_from([80, 120, 4096]))
def test_generated_documents_libyaml_writes_the_pure_emitters_text(document, literal_multiline, allow_unicode, width):
    assume(fast_yaml.libyaml_exact(document, allow_unicode=allow_unicode, width=width))
    options = {"literal_multiline": literal_multiline, "allow_unicode": allow_unicode, "width": width,
               "sort_keys": False}
    assert libyaml(document, **options) == pure(document, **options)
    assert fast_yaml.safe_dump(document, **options) == pure(document, **options)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(keys | st.text(max_size=3), documents | st.text(), max_size=4),
       literal_multiline=st.booleans())
def test_any_document_is_written_as_the_pure_emitter_writes_it(document, literal_multiline):
    options = {"literal_multiline": literal_multiline, "allow_unicode": True, "sort_keys": False}
    assert fast_yaml.safe_dump(document, **options) == pure(document, **options)


def test_without_libyaml_the_pure_emitter_writes_the_same_files():
    """PyYAML built without libyaml: `yaml._yaml` cannot be imported, so there is no CSafeDumper at all."""
    script = (
        "import sys, json\n"
        "sys.modules['yaml._yaml'] = None\n"
        "import yaml\n"
        "from airflow_dash import fast_yaml\n"
        "from airflow_dash.build import compile_alert_rules\n"
        "from airflow_dash.collectors.statsd_exporter import statsd_mapping_yaml\n"
        "from airflow_dash.discovery import DashboardSource\n"
        "assert not yaml.__with_libyaml__ and not hasattr(yaml, 'CSafeDumper') and not fast_yaml.has_libyaml()\n"
        f"alerts = compile_alert_rules(dashboards_dir=DashboardSource({str(ROOT / 'dashboards')!r}, bundled=False),"
        f" alerts_dir={str(ROOT / 'alerts')!r})\n"
        "print(json.dumps({**alerts.files(), 'statsd': statsd_mapping_yaml()}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    without = json.loads(completed.stdout)
    alerts = compile_alert_rules(dashboards_dir=DashboardSource(ROOT / "dashboards", bundled=False),
                                 alerts_dir=ROOT / "alerts")
    assert without == {**alerts.files(), "statsd": statsd_mapping_yaml()}
    assert len(without) == 4


def test_the_character_check_is_the_character_class():
    """`_unsafe_character` (a loop for non-ASCII text, quick to import) accepts exactly this class."""
    import re

    unsafe = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
    for code in range(0x110000):
        character = chr(code)
        assert fast_yaml._unsafe_character(character) == bool(unsafe.search(character)), hex(code)
        assert fast_yaml._unsafe_character("é" + character + "a") == bool(unsafe.search(character)), hex(code)


def test_scalar_recursive_documents_and_huge_widths_take_the_pure_emitter():
    """From review: a bare scalar ends with `...` in PyYAML only; a recursive document looped forever in the
    check; libyaml keeps the width in a C int."""
    recursive: list = []
    recursive.append(recursive)
    for document, width in (("abc", None), (None, None), ({"k": recursive}, None), ({"a": 1}, 2**31)):
        assert not fast_yaml.libyaml_exact(document, width=width)
    assert fast_yaml.safe_dump({"a": 1}, width=2**31) == yaml.safe_dump({"a": 1}, width=2**31)
    assert fast_yaml.safe_dump("abc") == yaml.safe_dump("abc")
    with pytest.raises(RecursionError):
        fast_yaml.safe_dump({"k": recursive})


def test_a_container_used_twice_is_written_twice_without_anchors_and_checked_once_per_depth():
    shared = {"instance": "airflow-host"}
    document = {"a": [{"labels": shared}], "b": [{"labels": shared}]}
    assert fast_yaml.libyaml_exact(document)
    assert libyaml(document) == pure(document) == fast_yaml.safe_dump(document)
    assert "&id" not in fast_yaml.safe_dump(document) and fast_yaml.safe_dump(document).count("instance") == 2
    deep: list = ["leaf"]
    for _ in range(22):  # 4 million paths, 23 containers
        deep = [deep, deep]
    assert fast_yaml.libyaml_exact({"k": deep})


def test_generated_configs_hold_no_yaml_anchors(tmp_path):
    from tests.cli import run_cli

    for mode in ("names", "tags"):
        result = run_cli("collectors", "--statsd-mode", mode, "--out", str(tmp_path / mode), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        texts = {p.name: p.read_text() for p in (tmp_path / mode).rglob("*") if p.is_file()}
        assert texts and not [name for name, text in texts.items() if "&id0" in text or "*id0" in text]
