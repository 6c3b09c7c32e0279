"""Effective settings: defaults < `[tool.airflow-dash]` in pyproject.toml < environment < command-line options.

`effective_settings()` returns every value with where it came from; `airflow-dash config` prints them with
secrets masked. Secrets (the Grafana token and password) are accepted from the environment only: a token in
pyproject.toml would end up in git, so it is refused. Relative directories are resolved against the directory
of the pyproject.toml that was found (searching upwards from the working directory).

Environment: GRAFANA_URL, GRAFANA_TOKEN, GRAFANA_USER, GRAFANA_PASSWORD, GRAFANA_ORG_ID, GRAFANA_CA_CERT and,
for every key, AIRFLOW_DASH_<KEY> (e.g. AIRFLOW_DASH_FOLDER, AIRFLOW_DASH_BACKENDS=prometheus,flux).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from airflow_dash.errors import UserError

BACKENDS = ("prometheus", "flux", "influxql")
SECTION = "airflow-dash"


def _to_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _to_grafana_regex(text: Any) -> str:
    from airflow_dash.backends import grafana_regex

    grafana_regex(str(text))  # ValueError: reported like any other bad setting
    return str(text)


def _to_list(text: Any) -> list[str]:
    if isinstance(text, (list, tuple)):
        return [str(item) for item in text]
    return [part.strip() for part in str(text).split(",") if part.strip()]


def _to_optional_int(text: Any) -> int | None:
    return None if text in (None, "") else int(text)


def _to_positive_float(text: Any) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def _to_count(text: Any) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


@dataclass(frozen=True)
class Key:
    """One setting: its default, parser, environment variables and whether it is secret."""

    name: str
    default: Any
    parse: Callable[[Any], Any] = str
    env: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""


KEYS: tuple[Key, ...] = (
    Key("grafana_url", "http://localhost:3000", str, ("GRAFANA_URL",), help="Grafana base URL"),
    Key("grafana_token", None, str, ("GRAFANA_TOKEN",), secret=True, help="service-account token (env only)"),
    Key("grafana_user", None, str, ("GRAFANA_USER",), help="basic-auth user (when no token)"),
    Key("grafana_password", None, str, ("GRAFANA_PASSWORD",), secret=True, help="basic-auth password (env only)"),
    Key("grafana_org_id", None, _to_optional_int, ("GRAFANA_ORG_ID",), help="X-Grafana-Org-Id for basic auth"),
    Key("ca_cert", None, str, ("GRAFANA_CA_CERT",), help="CA bundle to verify Grafana's TLS certificate"),
    Key("insecure", False, _to_bool, help="skip TLS verification (only when asked)"),
    Key("connect_timeout", 5.0, _to_positive_float, help="seconds to connect"),
    Key("read_timeout", 30.0, _to_positive_float, help="seconds to wait for an answer"),
    Key("retries", 4, _to_count, help="retries on connection errors and 429/502/503/504"),
    Key("concurrency", 4, lambda v: max(1, int(v)), help="parallel requests while publishing"),
    Key("folder", "Airflow", str, help="Grafana folder (path, e.g. Airflow/Prod) dashboards go to"),
    Key("dashboards_dir", "dashboards", str, help="where dashboard modules live"),
    Key("datasources_dir", "datasources", str, help="Grafana provisioning files for the datasources"),
    Key("backends", list(BACKENDS), _to_list, help="backends to compile and publish"),
    Key("publish_datasources", True, _to_bool, help="push the datasources dashboards use before them"),
    Key("prometheus_datasource_uid", "prometheus", str, help="datasource uid of the prometheus backend"),
    Key("flux_datasource_uid", "influxdb-flux", str, help="datasource uid of the flux backend"),
    Key("influxql_datasource_uid", "influxdb-influxql", str, help="datasource uid of the influxql backend"),
    *(Key(f"{b}_datasource_regex", None, _to_grafana_regex,
          help=f"names the {b} data source picker offers (Grafana regex, default: the backend's naming convention)")
      for b in BACKENDS),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}
PATH_KEYS = ("dashboards_dir", "datasources_dir", "ca_cert")


@dataclass(frozen=True)
class Setting:
    """A value and where it came from ("default", "pyproject.toml", "env GRAFANA_URL", "--option")."""

    name: str
    value: Any = field(repr=False)
    source: str
    secret: bool = False

    @property
    def display(self) -> str:
        if self.value is None:
            return "(not set)"
        if self.secret:
            return "****** (set)"
        if isinstance(self.value, list):
            return ",".join(self.value)
        return str(self.value)

    def __repr__(self) -> str:
        return f"Setting(name={self.name!r}, value={self.display!r}, source={self.source!r})"


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above `start` (the working directory by default)."""
    here = Path(start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise UserError("reading pyproject.toml on Python 3.10 needs the 'tomli' package") from None
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed TOML: {exc}") from None
    section = document.get("tool", {}).get(SECTION, {})
    if not isinstance(section, dict):
        raise UserError(f"{path}: [tool.{SECTION}] must be a table")
    return section


def effective_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                       start: Path | None = None) -> dict[str, Setting]:
    """Every known setting (plus unknown [tool.airflow-dash] keys other tools read) with its source.
    `cli` maps setting names to option values; None means "option not given"."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    pyproject = find_pyproject(start)
    table = _read_pyproject(pyproject) if pyproject else {}
    base_dir = pyproject.parent if pyproject else Path(start or Path.cwd()).resolve()

    result: dict[str, Setting] = {}
    for key in KEYS:
        value, source = key.default, "default"
        if key.name in table:
            if key.secret:
                raise UserError(f"{pyproject}: {key.name} must not be stored in pyproject.toml (it would end up "
                                f"in git); set {key.env[0]} instead")
            value, source = table[key.name], "pyproject.toml"
        for variable in (*key.env, f"AIRFLOW_DASH_{key.name.upper()}"):
            if env.get(variable) not in (None, ""):
                value, source = env[variable], f"env {variable}"
                break
        if key.name in cli:
            value, source = cli[key.name], f"--{key.name.replace('_', '-')}"
        if value is not None:
            try:
                value = key.parse(value)
            except (TypeError, ValueError) as exc:
                raise UserError(f"setting {key.name} from {source}: {exc}") from None
        if key.name in PATH_KEYS and value is not None and source in ("default", "pyproject.toml"):
            value = str((base_dir / value).resolve()) if not Path(value).is_absolute() else value
        result[key.name] = Setting(key.name, value, source, key.secret)

    for name in ("backends",):
        unknown = sorted(set(result[name].value) - set(BACKENDS))
        if unknown:
            raise UserError(f"unknown backend(s) {', '.join(unknown)} in {result[name].source}; "
                            f"known: {', '.join(BACKENDS)}")
    for name, value in table.items():  # keys other parts of airflow-dash read (lint, preview, ...)
        if name not in result:
            result[name] = Setting(name, value, "pyproject.toml")
    result["project_root"] = Setting("project_root", str(base_dir), str(pyproject) if pyproject else "working directory")
    return result


@dataclass(frozen=True)
class Settings:
    """The values `publish`, `diff` and `pull` need, secrets hidden from repr."""

    grafana_url: str
    grafana_token: str | None = field(repr=False)
    grafana_user: str | None
    grafana_password: str | None = field(repr=False)
    grafana_org_id: int | None
    ca_cert: str | None
    insecure: bool
    connect_timeout: float
    read_timeout: float
    retries: int
    concurrency: int
    folder: str
    dashboards_dir: str
    datasources_dir: str
    backends: list[str]
    publish_datasources: bool
    prometheus_datasource_uid: str
    flux_datasource_uid: str
    influxql_datasource_uid: str
    prometheus_datasource_regex: str | None
    flux_datasource_regex: str | None
    influxql_datasource_regex: str | None
    project_root: str

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_cert or True

    def datasource_uid(self, backend: str) -> str:
        return getattr(self, f"{backend}_datasource_uid")

    def datasource_regex(self, backend: str) -> str | None:
        return getattr(self, f"{backend}_datasource_regex")

    def client(self):
        """A GrafanaClient for these settings."""
        from airflow_dash.grafana.client import GrafanaClient

        if self.ca_cert and not self.insecure and not Path(self.ca_cert).is_file():
            raise UserError(f"CA certificate file {self.ca_cert} does not exist")
        return GrafanaClient(self.grafana_url, token=self.grafana_token, user=self.grafana_user,
                             password=self.grafana_password, org_id=self.grafana_org_id, verify=self.verify,
                             timeout=(self.connect_timeout, self.read_timeout), retries=self.retries)


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                  start: Path | None = None) -> Settings:
    values = effective_settings(cli, env, start)
    names = Settings.__dataclass_fields__.keys()
    return Settings(**{name: values[name].value for name in names})
