"""The content hash publish records is the one it always recorded (or every dashboard published before would
look edited in Grafana), now written by orjson, and it is computed once per dashboard and once per live copy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_dash.backends import BACKENDS
from airflow_dash.compile import compile_all
from airflow_dash.discovery import load_dashboards
from airflow_dash.grafana import model as model_module
from airflow_dash.grafana.model import (
    MARKER_KEY, EncodedModel, canonical_bytes, content_hash, desired_model, encoded_desired, has_drifted, stamp,
)
from tests.grafana_fixtures import sample_dashboard
from tests.test_publish_flow import publish

DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"


def reference_stamp(model: dict) -> dict:
    """What publish stamped before orjson: the hash over the standard library's compact sorted JSON."""
    result = {k: v for k, v in model.items() if k not in ("id", "version", MARKER_KEY)}
    tags = list(result.get("tags") or [])
    result["tags"] = tags if "managed-by:airflow-dash" in tags else [*tags, "managed-by:airflow-dash"]
    text = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**result, MARKER_KEY: {"contentHash": "sha256:" + hashlib.sha256(text.encode()).hexdigest()}}


def test_bundled_dashboards_are_stamped_with_the_hash_they_always_had():
    compiled = compile_all(load_dashboards(DASHBOARDS_DIR), list(BACKENDS))
    for dashboard in compiled:
        for schema_version in (None, 42):
            ours = desired_model(dashboard, schema_version)
            model = {**dashboard.model, "uid": dashboard.uid, "title": dashboard.title}
            if schema_version is not None:
                from airflow_dash.compile import for_schema_version

                model = for_schema_version(model, schema_version)
            assert ours == reference_stamp(model), dashboard.uid
            assert encoded_desired(dashboard, schema_version).hash == ours[MARKER_KEY]["contentHash"]
            assert not has_drifted(ours)


# Values a JSON model can hold, floats that need the careful path and ints beyond 64 bits included.
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e-05, 2.5e-07, 1e16, -0.0])
            | st.text(st.characters(codec="utf-8")))
_values = st.recursive(_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=4),
                       max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _values, max_size=6))
def test_any_model_hashes_and_reads_back_like_the_reference(model):
    assert canonical_bytes(model) == json.dumps(model, sort_keys=True, separators=(",", ":"),
                                                ensure_ascii=False).encode()
    assert stamp(model) == reference_stamp(model)
    encoded = EncodedModel.of(model)
    assert encoded.model() == reference_stamp(model)  # ints beyond 64 bits stay ints
    assert encoded.matches(reference_stamp(model)) and content_hash(encoded.model()) == encoded.hash


def test_a_publish_hashes_each_dashboard_once_and_each_live_copy_once(grafana, monkeypatch):
    hashed: list[bytes] = []
    real = model_module.hash_of_canonical

    def counting(canonical: bytes) -> str:
        hashed.append(canonical)
        return real(canonical)

    monkeypatch.setattr(model_module, "hash_of_canonical", counting)
    dashboards = [sample_dashboard(grafana.prefix, f"d{i}", "Team" if i % 2 else None) for i in range(12)]
    plan, report = publish(grafana, dashboards)
    assert report.ok and {s.action for s in plan.dashboards} == {"create"}
    assert len(hashed) == 12  # ours, once each; the message reuses it
    hashed.clear()
    plan, report = publish(grafana, dashboards)
    assert report.ok and {s.action for s in plan.dashboards} == {"unchanged"}
    assert len(hashed) == 24  # ours and the live copy's (drift and equality both use it)


def test_stamp_encodes_once_and_never_decodes(monkeypatch):
    """stamp/desired_model hash the canonical bytes once and hand back the stamped dict itself: no
    encode-then-decode round trip (the bytes were only ever needed for the hash)."""
    import airflow_dash.grafana.model as model_module

    calls = {"encode": 0, "decode": 0}
    real_canonical = model_module._canonical

    def counting_canonical(value):
        calls["encode"] += 1
        return real_canonical(value)

    def counting_loads(real):
        def loads(*args, **kwargs):
            calls["decode"] += 1
            return real(*args, **kwargs)
        return loads

    monkeypatch.setattr(model_module, "_canonical", counting_canonical)
    monkeypatch.setattr(model_module.orjson, "loads", counting_loads(model_module.orjson.loads))
    monkeypatch.setattr(model_module.json, "loads", counting_loads(model_module.json.loads))
    model = {"uid": "u", "title": "T", "id": 3, "version": 9, "tags": ["x"], "panels": [{"id": 1}]}
    stamped = stamp(model)
    assert calls == {"encode": 1, "decode": 0}
    assert stamped == reference_stamp(model)
