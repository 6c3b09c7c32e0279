"""Dashboard model helpers shared by publish, diff and pull: normalisation, canonical JSON, the ownership
marker and stable folder uids.

Ownership and drift marker (no local state needed): every dashboard we publish carries

- the tag `managed-by:airflow-dash` (visible in the UI; what `--prune` and search key on), and
- a top-level key `"airflowDash": {"contentHash": "sha256:<hex>"}`: the SHA-256 of the canonical JSON of the
  model we posted, without `id`, `version` and the marker itself. Grafana stores the JSON model as sent and
  hands unknown top-level keys back unchanged, so the hash survives our own round trip.

When the live dashboard no longer hashes to its recorded value (or the marker vanished, as when a UI save
rebuilt the model), somebody changed it after we published it: that is drift.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import orjson

from airflow_dash.fast_json import orjson_when_exact

MANAGED_TAG = "managed-by:airflow-dash"
MARKER_KEY = "airflowDash"
# Fields Grafana owns: they change on every save or are assigned by the server.
SERVER_FIELDS = ("id", "version")


class DashboardLike(Protocol):
    """What publish/diff need from a compiled dashboard (airflow_dash.compile.CompiledDashboard fits).
    Read-only: frozen dataclasses satisfy it."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def folder(self) -> str | None: ...
    @property
    def backend(self) -> str: ...
    @property
    def model(self) -> dict[str, Any]: ...


def reference_canonical_json(value: Any) -> str:
    """The definition of the text the content hash is taken over (the standard library's encoder: compact,
    sorted keys, non-ASCII as is). `canonical_bytes` must give exactly these bytes, or every dashboard
    published before would look edited in Grafana."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    """`reference_canonical_json` as UTF-8, through orjson (about 15 times faster). Anything orjson refuses
    (non-string keys, huge ints, lone surrogates, other types) or might write differently goes through the
    reference, so the bytes, or the error, never depend on which encoder ran."""
    return _canonical(value)[0]


def _canonical(value: Any) -> tuple[bytes, bool]:
    """`canonical_bytes`, and whether orjson wrote them (then orjson reads them back exactly: no int
    beyond 64 bits, which orjson.loads would turn into a float)."""
    encoded = orjson_when_exact(value, orjson.OPT_SORT_KEYS)
    return (reference_canonical_json(value).encode("utf-8"), False) if encoded is None else (encoded, True)


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: equal documents give equal strings."""
    return canonical_bytes(value).decode("utf-8")


def pretty_json(value: Any) -> str:
    """Formatted JSON for files and diffs: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def normalize(model: Mapping[str, Any], *, drop_marker: bool = False) -> dict[str, Any]:
    """A copy without server-assigned fields (and optionally without our marker), for comparisons.

    Shallow on purpose: only top-level keys are dropped, nested values are shared and never mutated (a deep
    copy of every model cost more than the publish's HTTP round trips)."""
    result = dict(model)
    for key in SERVER_FIELDS:
        result.pop(key, None)
    if drop_marker:
        result.pop(MARKER_KEY, None)
    return result


def content_hash(model: Mapping[str, Any]) -> str:
    """The hash recorded in the marker: over everything but server fields and the marker itself."""
    return hash_of_canonical(canonical_bytes(normalize(model, drop_marker=True)))


def hash_of_canonical(canonical: bytes) -> str:
    """The content hash of a model whose `canonical_bytes` (without server fields and marker) are given."""
    return f"sha256:{hashlib.sha256(canonical).hexdigest()}"


@dataclass(frozen=True)
class EncodedModel:
    """A model as publish stores it, kept as the canonical bytes its content hash is taken over (without
    `id`, `version` and the marker): about a tenth of the memory of the dict, hashed exactly once."""

    canonical: bytes = field(repr=False)
    hash: str
    orjson_exact: bool = True  # orjson wrote `canonical` (see `_canonical`), so orjson may read it

    @classmethod
    def of(cls, unstamped: Mapping[str, Any]) -> "EncodedModel":
        """Our model: managed tag added, server fields and any old marker dropped, hashed."""
        return cls.stamped(unstamped)[0]

    @classmethod
    def stamped(cls, unstamped: Mapping[str, Any]) -> tuple["EncodedModel", dict[str, Any]]:
        """`of`, and the stamped model itself (sharing nested values with `unstamped`), for a write that
        follows at once: no need to read the bytes back."""
        result = normalize(unstamped, drop_marker=True)
        tags = list(result.get("tags") or [])
        if MANAGED_TAG not in tags:
            tags.append(MANAGED_TAG)
        result["tags"] = tags
        canonical, exact = _canonical(result)
        encoded = cls(canonical, hash_of_canonical(canonical), exact)
        result[MARKER_KEY] = {"contentHash": encoded.hash}
        return encoded, result

    def model(self) -> dict[str, Any]:
        """The model to post (a fresh dict every call), marker included."""
        model: dict[str, Any] = orjson.loads(self.canonical) if self.orjson_exact else json.loads(self.canonical)
        model[MARKER_KEY] = {"contentHash": self.hash}
        return model

    def matches(self, live_model: Mapping[str, Any]) -> bool:
        """The live model is exactly this one (server fields aside): not edited since, same content."""
        return recorded_hash(live_model) == self.hash and content_hash(live_model) == self.hash


def stamp(model: Mapping[str, Any]) -> dict[str, Any]:
    """Our model as it will be posted: managed tag added, `id`/`version` dropped, marker (re)computed.
    Encoded once, for the hash, and not read back: a new top-level dict whose nested values are `model`'s
    (not to be mutated; publish posts the same dict, see `encoded_desired_model`)."""
    return EncodedModel.stamped(model)[1]


def _retargeted(dashboard: "DashboardLike", schema_version: int | None) -> dict[str, Any]:
    model = {**dashboard.model, "uid": dashboard.uid, "title": dashboard.title}
    if schema_version is not None and isinstance(model.get("schemaVersion"), int):
        from airflow_dash.compile import for_schema_version

        model = for_schema_version(model, schema_version)
    return model


def desired_model(dashboard: "DashboardLike", schema_version: int | None = None) -> dict[str, Any]:
    """A compiled dashboard as publish stores it (and diff compares it): uid and title set, retargeted to the
    schemaVersion the server supports (None: as compiled), stamped."""
    return stamp(_retargeted(dashboard, schema_version))


def encoded_desired(dashboard: "DashboardLike", schema_version: int | None = None) -> EncodedModel:
    """`desired_model`, encoded once (see `EncodedModel`): what publish plans and writes with."""
    return EncodedModel.of(_retargeted(dashboard, schema_version))


def encoded_desired_model(dashboard: "DashboardLike",
                          schema_version: int | None = None) -> tuple[EncodedModel, dict[str, Any]]:
    """`encoded_desired` and `desired_model` at once, hashed once: for a write that follows right away."""
    return EncodedModel.stamped(_retargeted(dashboard, schema_version))


def is_managed(model: Mapping[str, Any]) -> bool:
    return MANAGED_TAG in (model.get("tags") or [])


def recorded_hash(model: Mapping[str, Any]) -> str | None:
    marker = model.get(MARKER_KEY)
    return marker.get("contentHash") if isinstance(marker, dict) else None


def has_drifted(live_model: Mapping[str, Any]) -> bool:
    """True when a dashboard we published was changed by someone else since (see the module docstring)."""
    recorded = recorded_hash(live_model)
    return recorded is None or recorded != content_hash(live_model)


_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def folder_uid(path: tuple[str, ...] | list[str]) -> str:
    """A stable, valid (<= 40 chars of [a-z0-9-]) uid for a folder path such as ("Airflow", "System")."""
    key = "/".join(path)
    slug = _SLUG_DROP.sub("-", path[-1].lower()).strip("-")[:20] or "folder"
    return f"ad-{slug}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:10]}"


def split_folder_path(text: str) -> tuple[str, ...]:
    """"Airflow/System" -> ("Airflow", "System"); blank segments are ignored."""
    return tuple(part.strip() for part in text.split("/") if part.strip())


def target_folder_path(root: str, dashboard_folder: str | None) -> tuple[str, ...]:
    """Where a dashboard goes: under the configured root folder, in its own sub-folder if it names one.
    A dashboard folder that already starts with the root is not nested twice."""
    root_path = split_folder_path(root)
    own = split_folder_path(dashboard_folder or "")
    if own[: len(root_path)] == root_path:
        own = own[len(root_path):]
    return root_path + own
