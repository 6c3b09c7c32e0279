"""Settings: the one object every command reads (`load_settings()`), from layers of increasing precedence:

    defaults < `[tool.airflow-dash]` in pyproject.toml < environment < the chosen context < command-line options

`effective_settings()` returns every value with where it came from; `airflow-dash config` prints exactly that
(secrets masked). Every key is declared once in KEYS: an unknown key or a malformed value is a one-line
UserError naming it (with a suggestion for a near miss). Secrets (the Grafana token and password) are accepted
from the environment only: a token in pyproject.toml would end up in git, so it is refused. Relative directories
are resolved against the directory of the pyproject.toml that was found (searching upwards from the working
directory).

Named contexts (`[tool.airflow-dash.contexts.<name>]`, chosen by `--context`, AIRFLOW_DASH_CONTEXT or the
`context` setting) are one more layer: a Grafana instance with its URL, org, folder and any other setting, and
where its credentials come from (`grafana_token_env`, `grafana_password_env`: the names of environment
variables). A chosen context beats the environment, and its credentials come only from the variables it names:
a GRAFANA_TOKEN meant for one instance is never sent to another.

Environment: GRAFANA_URL, GRAFANA_TOKEN, GRAFANA_USER, GRAFANA_PASSWORD, GRAFANA_ORG_ID, GRAFANA_CA_CERT and,
for every key, AIRFLOW_DASH_<KEY> (e.g. AIRFLOW_DASH_FOLDER, AIRFLOW_DASH_BACKENDS=prometheus,flux).
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, TypedDict
from urllib.parse import urlsplit, urlunsplit

from airflow_dash.errors import UserError

if TYPE_CHECKING:  # imported where used: settings load before any command's modules
    from airflow_dash.discovery import DashboardSource
    from airflow_dash.grafana.client import GrafanaClient

BACKENDS = ("prometheus", "flux", "influxql")
SECTION = "airflow-dash"


def _to_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _to_path(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)  # a str for Path objects (bytes paths are refused just below)
    text = _to_str(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _to_grafana_regex(value: Any) -> str:
    from airflow_dash.backends import grafana_regex

    text = _to_str(value)
    grafana_regex(text)  # ValueError: reported like any other bad setting
    return text


def _to_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        if not all(isinstance(item, str) for item in value):
            raise ValueError(f"expected a list of strings, got {value!r}")
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    raise ValueError(f"expected a list of strings, got {value!r}")


def _to_backends(value: Any) -> list[str]:
    backends = _to_list(value)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}{_did_you_mean(unknown[0], BACKENDS)}; "
                         f"known: {', '.join(BACKENDS)}")
    if not backends:
        raise ValueError("needs at least one backend")
    return backends


def _to_bundled(value: Any) -> bool | tuple[str, ...]:
    """true (all bundled dashboards), false (none) or a list of bundled dashboard keys."""
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in
                                   ("1", "true", "yes", "on", "0", "false", "no", "off", "all", "none")):
        text = str(value).strip().lower()
        return text in ("1", "true", "yes", "on", "all")
    return tuple(_to_list(value))


def _int(value: Any) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"expected a whole number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None


def _to_optional_int(value: Any) -> int | None:
    return None if value in (None, "") else _int(value)


def _to_choice(value: Any, choices: tuple[str, ...]) -> str:
    text = _to_str(value).strip().lower()
    if text not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
    return text


def _to_positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be > 0, got {value!r}")
    return number


def _to_count(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"must be >= 0, got {value!r}")
    return number


def _to_concurrency(value: Any) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(f"must be >= 1, got {value!r}")
    return number


def _to_folder(value: Any) -> str:
    """One folder path, "Airflow" or "Airflow/Prod". A list is refused rather than guessed at (one nested path?
    several folders?); an empty path or an empty component ("///", "a//b", "/a") names no folder."""
    if isinstance(value, (list, tuple)):
        hint = "/".join(str(part) for part in value) or "Airflow"
        raise ValueError(f"expected a string, one folder path, got the list {value!r} "
                         f"(for a nested folder write {hint!r})")
    parts = [part.strip() for part in _to_str(value).split("/")]
    if not any(parts):
        raise ValueError(f"names no folder, got {value!r} (e.g. Airflow or Airflow/Prod)")
    if not all(parts):
        raise ValueError(f"has an empty folder name in the path {value!r} (e.g. Airflow or Airflow/Prod)")
    return "/".join(parts)


def http_url(value: Any) -> str:
    """`value` as an http(s):// base URL without a trailing slash; ValueError if it is none."""
    text = _to_str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s):// URL, got {text!r}")
    return text.rstrip("/")


@dataclass(frozen=True)
class Key:
    """One setting: its default, parser, environment variables and whether it is secret."""

    name: str
    default: Any
    parse: Callable[[Any], Any] = _to_str
    env: tuple[str, ...] = ()
    secret: bool = False
    help: str = ""
    path: bool = False  # a file or directory, resolved against the project root

    @property
    def variables(self) -> tuple[str, ...]:
        return (*self.env, f"AIRFLOW_DASH_{self.name.upper()}")


KEYS: tuple[Key, ...] = (
    Key("context", None, _to_str, help="named context to use ([tool.airflow-dash.contexts.NAME])"),
    Key("grafana_url", None, http_url, ("GRAFANA_URL",),
        help="Grafana base URL (no default: commands that talk to Grafana need it)"),
    Key("grafana_token", None, _to_str, ("GRAFANA_TOKEN",), secret=True, help="service-account token (env only)"),
    Key("grafana_user", None, _to_str, ("GRAFANA_USER",), help="basic-auth user (when no token)"),
    Key("grafana_password", None, _to_str, ("GRAFANA_PASSWORD",), secret=True, help="basic-auth password (env only)"),
    Key("grafana_org_id", None, _to_optional_int, ("GRAFANA_ORG_ID",), help="X-Grafana-Org-Id for basic auth"),
    Key("grafana_api", "auto", lambda v: _to_choice(v, ("auto", "legacy", "resources")),
        help="dashboard/folder API: auto (from /api/health and /apis), legacy (/api) or resources (/apis)"),
    Key("ca_cert", None, _to_path, ("GRAFANA_CA_CERT",), help="CA bundle to verify Grafana's TLS certificate",
        path=True),
    Key("insecure", False, _to_bool, help="skip TLS verification (only when asked)"),
    Key("connect_timeout", 5.0, _to_positive_float, help="seconds to connect"),
    Key("read_timeout", 30.0, _to_positive_float, help="seconds to wait for an answer"),
    Key("retries", 4, _to_count, help="retries on connection errors and 429/502/503/504"),
    Key("concurrency", 4, _to_concurrency, help="parallel requests while publishing"),
    Key("folder", "Airflow", _to_folder,
        help="Grafana folder (path, e.g. Airflow/Prod) dashboards go to"),
    Key("dashboards_dir", "dashboards", _to_path, help="where your dashboard modules live", path=True),
    Key("bundled", True, _to_bundled, help="bundled dashboards to include: true, false or a list of keys"),
    Key("datasources_dir", "datasources", _to_path, help="Grafana provisioning files for the datasources", path=True),
    Key("backends", list(BACKENDS), _to_backends, help="backends to compile and publish"),
    Key("publish_datasources", True, _to_bool,
        help="push the datasources dashboards use before them (false: Grafana's are managed elsewhere)"),
    Key("prometheus_datasource_uid", "prometheus", _to_str, help="datasource uid of the prometheus backend"),
    Key("flux_datasource_uid", "influxdb-flux", _to_str, help="datasource uid of the flux backend"),
    Key("influxql_datasource_uid", "influxdb-influxql", _to_str, help="datasource uid of the influxql backend"),
    Key("node_modules", None, _to_path, help="node_modules holding @influxdata/flux-lsp-browser (Flux checker)",
        path=True),
    *(Key(f"{b}_datasource_regex", None, _to_grafana_regex,
          help=f"names the {b} data source picker offers (Grafana regex, default: the backend's naming convention)")
      for b in BACKENDS),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}
CONTEXTS_TABLE = "contexts"
# In a context: where its secrets come from (names of environment variables, never the secrets themselves).
CREDENTIAL_SOURCES = {"grafana_token_env": "grafana_token", "grafana_password_env": "grafana_password"}
PATH_KEYS = tuple(key.name for key in KEYS if key.path)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def mask_url(url: str) -> str:
    """The URL without a password in its user-info part (http://admin:***@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


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
        if isinstance(self.value, (list, tuple)):
            return ",".join(self.value)
        if isinstance(self.value, bool):
            return str(self.value).lower()
        if isinstance(self.value, str) and "://" in self.value:
            return mask_url(self.value)
        return str(self.value)

    @property
    def shown_value(self) -> Any:
        """What `config --output json` shows: the value, or its masked display for secrets and URLs."""
        if self.secret or self.value is None or isinstance(self.value, str):
            return self.display
        return list(self.value) if isinstance(self.value, tuple) else self.value

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
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10: the tomli dependency
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    section = document.get("tool", {}).get(SECTION, {})
    if not isinstance(section, dict):
        raise UserError(f"{path}: [tool.{SECTION}] must be a table")
    for name in section:
        if name not in KEYS_BY_NAME and name != CONTEXTS_TABLE:
            raise UserError(f"{path}: unknown setting {name!r} in [tool.{SECTION}]{_did_you_mean(name, KEYS_BY_NAME)}; "
                            "`airflow-dash config` lists the settings")
    return section


def _contexts(table: Mapping[str, Any], pyproject: Path | None) -> dict[str, dict[str, Any]]:
    """The `[tool.airflow-dash.contexts.<name>]` tables, checked: known keys, no secrets, no nesting."""
    contexts = table.get(CONTEXTS_TABLE, {})
    where = f"{pyproject}: [tool.{SECTION}.{CONTEXTS_TABLE}"
    if not isinstance(contexts, dict):
        raise UserError(f"{where}] must be a table of contexts ([tool.{SECTION}.{CONTEXTS_TABLE}.prod] ...)")
    allowed = [*(k.name for k in KEYS if k.name != "context"), *CREDENTIAL_SOURCES]
    for name, values in contexts.items():
        if not isinstance(values, dict):
            raise UserError(f"{where}.{name}] must be a table (grafana_url = ..., folder = ...)")
        for key, value in values.items():
            if key in CREDENTIAL_SOURCES.values():
                raise UserError(f"{where}.{name}]: {key} must not be stored in pyproject.toml (it would end up in "
                                f"git); name the environment variable that holds it: {key}_env = \"...\"")
            if key not in allowed:
                raise UserError(f"{where}.{name}]: unknown setting {key!r}{_did_you_mean(key, allowed)}")
            if key in CREDENTIAL_SOURCES and not (isinstance(value, str) and value.strip()):
                raise UserError(f"{where}.{name}]: {key} must name an environment variable, got {value!r}")
    return contexts


_selected_context: list[str] = []  # set by `airflow-dash --context NAME` (select_context)


def select_context(name: str | None) -> None:
    """Make `name` the context every later `load_settings()` uses, as `--context NAME` does (None: unset)."""
    _selected_context[:] = [name] if name else []


def _chosen_context(cli: Mapping[str, Any], env: Mapping[str, str], table: Mapping[str, Any]) -> tuple[str | None, str]:
    if cli.get("context"):
        return cli["context"], "--context"
    if _selected_context:
        return _selected_context[0], "--context"
    for variable in KEYS_BY_NAME["context"].variables:
        if env.get(variable):
            return env[variable], f"env {variable}"
    if table.get("context"):
        return table["context"], "pyproject.toml"
    return None, "default"


def _layers(cli: Mapping[str, Any], env: Mapping[str, str], table: Mapping[str, Any],
            context: tuple[str, Mapping[str, Any]] | None = None) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(source label, {name: raw value}) from lowest to highest precedence."""
    # The `context` setting itself is resolved first (_chosen_context): not a layer.
    yield "pyproject.toml", {k: v for k, v in table.items() if k not in (CONTEXTS_TABLE, "context")}
    from_env: dict[str, tuple[str, str]] = {}
    for key in KEYS:
        if key.name == "context" or (context is not None and key.secret):
            continue  # a context's credentials come from the variables it names, nothing else
        for variable in key.variables:
            if env.get(variable) not in (None, ""):
                from_env[key.name] = (env[variable], f"env {variable}")
                break
    yield None, from_env  # values carry their own source: which variable it was
    if context is not None:
        name, values = context
        from_context = {k: (v, f"context {name} (pyproject.toml)") for k, v in values.items() if k in KEYS_BY_NAME}
        for source, secret in CREDENTIAL_SOURCES.items():
            named = values.get(source)
            if named and env.get(named) not in (None, ""):
                from_context[secret] = (env[named], f"env {named} (context {name})")
        yield None, from_context
    yield "cli", {k: v for k, v in cli.items() if k != "context"}


def effective_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                       start: Path | None = None) -> dict[str, Setting]:
    """Every setting with its source, plus `project_root`. `cli` maps setting names to option values; None
    means "option not given"."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    for name in cli:
        if name not in KEYS_BY_NAME:
            raise ValueError(f"not a setting: {name}")  # a programming error in a command, not user input
    pyproject = find_pyproject(start)
    table = _read_pyproject(pyproject) if pyproject else {}
    base_dir = pyproject.parent if pyproject else Path(start or Path.cwd()).resolve()

    contexts = _contexts(table, pyproject)
    context_name, chosen_by = _chosen_context(cli, env, table)
    context: tuple[str, Mapping[str, Any]] | None = None
    if context_name is not None:
        if context_name not in contexts:
            defined = ", ".join(sorted(contexts)) or f"none (add [tool.{SECTION}.{CONTEXTS_TABLE}.{context_name}])"
            raise UserError(f"unknown context {context_name!r} (from {chosen_by}){_did_you_mean(context_name, contexts)}; "
                            f"defined: {defined}")
        context = (context_name, contexts[context_name])

    raw: dict[str, tuple[Any, str]] = {key.name: (key.default, "default") for key in KEYS}
    raw["context"] = (context_name, chosen_by)
    for label, values in _layers(cli, env, table, context):
        for name, value in values.items():
            if label is None:
                raw[name] = value
            elif label == "cli":
                raw[name] = (value, _OPTIONS.get(name, f"--{name.replace('_', '-')}"))
            else:
                raw[name] = (value, label)

    result: dict[str, Setting] = {}
    for key in KEYS:
        value, source = raw[key.name]
        if key.secret and source == "pyproject.toml":
            raise UserError(f"{pyproject}: {key.name} must not be stored in pyproject.toml (it would end up "
                            f"in git); set {key.env[0]} instead")
        if value is not None and not (source == "default" and key.default is value):
            try:
                value = key.parse(value)
            except (TypeError, ValueError) as exc:
                where = f"{pyproject}: " if source == "pyproject.toml" else ""
                raise UserError(f"{where}setting {key.name} from {source}: {exc}") from None
        from_project = source in ("default", "pyproject.toml") or source.startswith("context ")
        if key.path and value is not None and from_project and not Path(value).is_absolute():
            value = str((base_dir / value).resolve())
        result[key.name] = Setting(key.name, value, source, key.secret)
    result["project_root"] = Setting("project_root", str(base_dir), str(pyproject) if pyproject else "working directory")
    return result


class CompileOptions(TypedDict):
    """The keyword arguments `Settings.compile_options` gives `compile_dashboards`."""

    datasource_uids: dict[str, str]
    datasource_regexes: dict[str, str]


@dataclass(frozen=True)
class Settings:
    """What every command uses, secrets hidden from repr; `sources` says where each value came from."""

    context: str | None
    grafana_url: str | None
    grafana_token: str | None = field(repr=False)
    grafana_user: str | None
    grafana_password: str | None = field(repr=False)
    grafana_org_id: int | None
    grafana_api: str
    ca_cert: str | None
    insecure: bool
    connect_timeout: float
    read_timeout: float
    retries: int
    concurrency: int
    folder: str
    dashboards_dir: str
    bundled: bool | tuple[str, ...]
    datasources_dir: str
    backends: list[str]
    publish_datasources: bool
    prometheus_datasource_uid: str
    flux_datasource_uid: str
    influxql_datasource_uid: str
    prometheus_datasource_regex: str | None
    flux_datasource_regex: str | None
    influxql_datasource_regex: str | None
    node_modules: str | None
    project_root: str
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_cert or True

    def datasource_uid(self, backend: str) -> str:
        uid: str = getattr(self, f"{backend}_datasource_uid")
        return uid

    def datasource_regex(self, backend: str) -> str | None:
        regex: str | None = getattr(self, f"{backend}_datasource_regex")
        return regex

    def compile_options(self, backends: Sequence[str] | None = None) -> CompileOptions:
        """The datasource uids and picker regexes dashboards are compiled with, for `compile_dashboards`."""
        chosen = backends or self.backends
        return {"datasource_uids": self.datasource_uids(chosen),
                "datasource_regexes": {b: r for b in chosen if (r := self.datasource_regex(b))}}

    def datasource_uids(self, backends: Sequence[str] | None = None) -> dict[str, str]:
        return {b: self.datasource_uid(b) for b in (backends or self.backends)}

    def chosen_backends(self, option: tuple[str, ...] | list[str] = ()) -> list[str]:
        """`--backend` options when given, else the `backends` setting."""
        return list(option) or list(self.backends)

    def dashboard_source(self) -> DashboardSource:
        """The dashboards commands compile: the bundled ones (per `bundled`) and those of `dashboards_dir`.
        A dashboards_dir that was never set may be absent (then: bundled only); a chosen one must exist."""
        from airflow_dash.discovery import DashboardSource

        directory: Path | None = Path(self.dashboards_dir)
        if self.sources.get("dashboards_dir", "default") == "default" and not Path(self.dashboards_dir).is_dir():
            directory = None
        if directory is None and self.bundled is False:
            raise UserError(f"no dashboards: dashboards directory {self.dashboards_dir} not found and bundled = false")
        return DashboardSource(directory=directory, bundled=self.bundled)

    def client(self) -> GrafanaClient:
        """A GrafanaClient for these settings. No URL is a UserError (never a guessed localhost); with
        `insecure`, one warning of ours on stderr replaces urllib3's warning on every request."""
        from airflow_dash.grafana.client import GrafanaClient

        if not self.grafana_url:
            raise UserError("no Grafana URL: set GRAFANA_URL (or --grafana-url, grafana_url in "
                            f"[tool.{SECTION}], or a context) to the Grafana to talk to")
        if self.insecure:
            _insecure_warning(self.grafana_url)
        if self.ca_cert and not self.insecure and not Path(self.ca_cert).is_file():
            raise UserError(f"CA certificate file {self.ca_cert} does not exist")
        if not self.grafana_token and bool(self.grafana_user) != bool(self.grafana_password):
            # Half of basic auth would be sent as nothing, and Grafana's 401 would blame the credentials.
            missing = ("password (GRAFANA_PASSWORD, or a context's grafana_password_env)" if self.grafana_user
                       else "user (GRAFANA_USER, or a context's grafana_user)")
            raise UserError(f"Grafana basic auth needs a user and a password: the {missing} is not set; or use a "
                            "token (GRAFANA_TOKEN)")
        return GrafanaClient(self.grafana_url, token=self.grafana_token, user=self.grafana_user,
                             password=self.grafana_password, org_id=self.grafana_org_id, verify=self.verify,
                             timeout=(self.connect_timeout, self.read_timeout), retries=self.retries,
                             api=self.grafana_api, pool_size=self.concurrency)


_warned_insecure: set[str] = set()


def _insecure_warning(url: str) -> None:
    """Say once per URL that TLS is not verified, and silence urllib3's InsecureRequestWarning, which it
    would otherwise print for every request (its SecurityWarning filter is "always")."""
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    if url in _warned_insecure:
        return
    _warned_insecure.add(url)
    if urlsplit(url).scheme == "https":
        sys.stderr.write(f"warning: --insecure: the TLS certificate of {mask_url(url)} is not verified; anyone on "
                         "the path can read the token and change what is published (--ca-cert FILE verifies "
                         "a private CA)\n")
        sys.stderr.flush()


# Settings whose command-line option is not named after them (for messages: "from --timeout").
_OPTIONS = {"read_timeout": "--timeout"}


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                  start: Path | None = None) -> Settings:
    values = effective_settings(cli, env, start)
    names = [name for name in Settings.__dataclass_fields__ if name != "sources"]
    return Settings(**{name: values[name].value for name in names},
                    sources={name: setting.source for name, setting in values.items()})
