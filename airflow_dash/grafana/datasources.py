"""Datasources from Grafana provisioning files (`datasources/*.yaml`), pushed through the HTTP API by uid.

File format: Grafana's own provisioning format (`apiVersion: 1`, `datasources: [...]`), so the same files can be
mounted into a Grafana container. Values may use `${VAR}` / `$VAR`, `$$` is a literal `$` (as in Grafana);
unlike Grafana, an unset variable is an error rather than an empty string. `deleteDatasources` is ignored.

Secrets (`secureJsonData`, deprecated top-level `password` / `basicAuthPassword`) are only ever sent to
Grafana: they are left out of every repr, plan and report. Grafana never returns them, so a datasource counts
as unchanged when its plain fields match and every secure key is already set live; `update_secrets=True`
re-sends them anyway (use it after rotating a password).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from airflow_dash.errors import UserError
from airflow_dash.scrub import register_secret
from airflow_dash.grafana.client import GrafanaClient, GrafanaHTTPError

# Top-level provisioning fields that the HTTP API accepts as they are.
PLAIN_FIELDS = ("name", "type", "uid", "access", "url", "isDefault", "basicAuth", "basicAuthUser", "user",
                "database", "withCredentials", "jsonData")
# Deprecated top-level secrets, moved into secureJsonData.
LEGACY_SECRET_FIELDS = ("password", "basicAuthPassword")

# $$, ${NAME}, $NAME, or (group 3) a `${` that is not a well-formed ${NAME}: an error, never literal text.
_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))")


@dataclass(frozen=True)
class DatasourceSpec:
    """One datasource as it should be in Grafana. `secure` holds the write-only secrets (never shown)."""

    uid: str
    name: str
    type: str
    source: Path
    fields: Mapping[str, Any] = field(repr=False)
    secure: Mapping[str, str] = field(repr=False, default_factory=dict)

    def api_body(self, include_secrets: bool = True) -> dict[str, Any]:
        body = {"access": "proxy", **dict(self.fields)}
        if include_secrets and self.secure:
            body["secureJsonData"] = dict(self.secure)
        return body


@dataclass(frozen=True)
class _RawDatasource:
    """A parsed but not yet substituted entry: substitution is deferred so that only the datasources a
    publish needs require their environment variables."""

    uid: str
    name: str
    type: str
    source: Path
    entry: Mapping[str, Any] = field(repr=False)


def substitute(value: Any, env: Mapping[str, str], source: Path, missing: list[str]) -> Any:
    """Replace ${VAR}/$VAR in string values (not keys); collect unset variable names in `missing`."""
    if isinstance(value, str):
        def replace(match: re.Match[str]) -> str:
            if match.group(3) is not None:
                bad = "$" + match.group(3)
                problem = "unterminated" if not bad.endswith("}") else "malformed"
                raise UserError(f"{source}: {problem} variable reference {bad!r} (write ${{NAME}}, or $$ for a literal $)")
            name = match.group(1) or match.group(2)
            if name is None:
                return "$"
            if name not in env:
                missing.append(name)
                return ""
            return env[name]
        return _VARIABLE.sub(replace, value)
    if isinstance(value, list):
        return [substitute(item, env, source, missing) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, env, source, missing) for key, item in value.items()}
    return value


def _check_references(value: Any, source: Path) -> None:
    """A malformed `${...}` anywhere in the file is an error when it is read, whichever datasource it is in."""
    if isinstance(value, str):
        substitute(value, {}, source, [])
    elif isinstance(value, list):
        for item in value:
            _check_references(item, source)
    elif isinstance(value, dict):
        for item in value.values():
            _check_references(item, source)


def _read_file(path: Path) -> list[_RawDatasource]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read datasource file ({exc.strerror})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(f"{where}: malformed YAML: {' '.join(str(problem).split())}") from None
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("datasources", []), list):
        raise UserError(f"{path}: expected a mapping with a 'datasources' list (Grafana provisioning format)")
    result = []
    for index, entry in enumerate(document.get("datasources") or []):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: datasources[{index}] must be a mapping")
        for required in ("name", "type", "uid"):
            if not entry.get(required) or not isinstance(entry[required], str):
                raise UserError(f"{path}: datasources[{index}] needs a '{required}' (airflow-dash pushes by uid)")
        _check_references(entry, path)
        result.append(_RawDatasource(uid=entry["uid"], name=entry["name"], type=entry["type"], source=path,
                                     entry=entry))
    return result


def _resolve(raw: _RawDatasource, env: Mapping[str, str]) -> DatasourceSpec:
    missing: list[str] = []
    entry = substitute(dict(raw.entry), env, raw.source, missing)
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise UserError(f"{raw.source}: environment variable {names} is not set (datasource {raw.name!r}); publish "
                        "other backends only with --backend (or the backends setting), or --no-datasources when "
                        "Grafana's datasources are managed elsewhere")
    fields = {key: entry[key] for key in PLAIN_FIELDS if key in entry}
    secure = {str(k): str(v) for k, v in (entry.get("secureJsonData") or {}).items()}
    for legacy in LEGACY_SECRET_FIELDS:
        if legacy in entry:
            secure.setdefault(legacy, str(entry[legacy]))
    for value in secure.values():  # whatever prints later (an echoing server's error) never shows them
        register_secret(value, user=str(entry.get("basicAuthUser") or entry.get("user") or "") or None)
    if "jsonData" in fields and not isinstance(fields["jsonData"], dict):
        raise UserError(f"{raw.source}: jsonData of datasource {raw.name!r} must be a mapping")
    return DatasourceSpec(uid=raw.uid, name=raw.name, type=raw.type, source=raw.source, fields=fields,
                          secure=secure)


def load_datasources(directory: Path, env: Mapping[str, str] | None = None,
                     uids: set[str] | None = None) -> list[DatasourceSpec]:
    """Read every `*.yaml`/`*.yml` in `directory` (sorted); substitute variables for the selected `uids`
    (all when None). Raises UserError naming the file for malformed YAML, duplicates or unset variables."""
    env = os.environ if env is None else env
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"datasources directory {directory} does not exist: point the datasources_dir setting at "
                        "yours, or publish without datasources (--no-datasources, or publish_datasources = false)")
    raws: list[_RawDatasource] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        raws.extend(_read_file(path))
    seen: dict[str, Path] = {}
    for raw in raws:
        if raw.uid in seen:
            raise UserError(f"{raw.source}: datasource uid {raw.uid!r} is also defined in {seen[raw.uid]}")
        seen[raw.uid] = raw.source
    if uids is not None:
        unknown = sorted(uids - set(seen))
        if unknown:
            raise UserError(f"dashboards use datasource uid(s) {', '.join(unknown)} that no file in "
                            f"{directory} defines")
    return [_resolve(raw, env) for raw in raws if uids is None or raw.uid in uids]


def referenced_datasource_uids(model: Any) -> set[str]:
    """Every `datasource: {uid: ...}` in a dashboard model, except Grafana's built-in and variable refs,
    plus the default of each datasource picker variable (what `${datasource}` resolves to)."""
    found: set[str] = set()
    if isinstance(model, dict) and model.get("type") == "datasource" and isinstance(model.get("current"), dict):
        value = model["current"].get("value")
        if isinstance(value, str) and value and not value.startswith("$"):
            found.add(value)
    if isinstance(model, dict):
        source = model.get("datasource")
        if isinstance(source, dict) and isinstance(source.get("uid"), str):
            uid = source["uid"]
            if not uid.startswith(("-- ", "$", "${", "grafana")):
                found.add(uid)
        for value in model.values():
            found |= referenced_datasource_uids(value)
    elif isinstance(model, list):
        for item in model:
            found |= referenced_datasource_uids(item)
    return found


@dataclass(frozen=True)
class DatasourcePlan:
    """What publishing will do with one datasource: create, update, unchanged or read-only (provisioned)."""

    spec: DatasourceSpec
    action: str
    changes: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update")


def _differences(spec: DatasourceSpec, live: Mapping[str, Any], update_secrets: bool) -> list[str]:
    changes = []
    desired = spec.api_body(include_secrets=False)
    for key, value in desired.items():
        if key == "jsonData":
            live_json = live.get("jsonData") or {}
            changed = sorted(k for k, v in value.items() if live_json.get(k) != v)
            changes += [f"jsonData.{k}" for k in changed]
        elif live.get(key) != value and not (value in (None, "", False) and not live.get(key)):
            changes.append(key)
    live_secure = {k for k, v in (live.get("secureJsonFields") or {}).items() if v}
    missing_secure = sorted(set(spec.secure) - live_secure)
    changes += [f"secureJsonData.{k} (not set)" for k in missing_secure]
    if update_secrets and spec.secure and not missing_secure:
        changes.append("secureJsonData (re-sent)")
    return changes


def plan_datasources(client: GrafanaClient, specs: list[DatasourceSpec],
                     update_secrets: bool = False) -> list[DatasourcePlan]:
    """Read each datasource by uid and decide what to do (reads only)."""
    plans = []
    for spec in specs:
        live = client.get_datasource(spec.uid)
        if live is None:
            plans.append(DatasourcePlan(spec, "create"))
            continue
        changes = _differences(spec, live, update_secrets)
        if not changes:
            plans.append(DatasourcePlan(spec, "unchanged"))
        elif live.get("readOnly"):
            plans.append(DatasourcePlan(spec, "read-only", tuple(changes)))
        else:
            plans.append(DatasourcePlan(spec, "update", tuple(changes)))
    return plans


def apply_datasource(client: GrafanaClient, plan: DatasourcePlan) -> str:
    """Perform one planned write; returns a short outcome ("created", "updated"). A 409 on create (a retried
    create already applied, or created meanwhile) turns into an update of the datasource with our uid."""
    spec = plan.spec
    if plan.action == "create":
        try:
            client.create_datasource(spec.api_body())
            return "created"
        except GrafanaHTTPError as exc:
            if exc.status != 409 or client.get_datasource(spec.uid) is None:
                raise
    if plan.action in ("create", "update"):
        client.update_datasource(spec.uid, spec.api_body())
        return "updated"
    return plan.action
