"""`airflow-dash init`: a team's dashboards repository, ready for `make setup build lint` and CI.

    pyproject.toml            depends on airflow-dash; [tool.airflow-dash] with the chosen backends
    dashboards/team_system.py an example extending a bundled dashboard (and linking to another)
    datasources/*.yaml        Grafana provisioning files for the chosen backends (what `publish` pushes)
    Makefile                  setup, build, lint, preview, diff, publish (everything in .venv)
    .github/workflows/dashboards.yml
                              lint + build on every change; on pull requests a diff against the live Grafana,
                              posted as one markdown comment; publish on main
    .gitignore, README.md
    local.mk                  only when this airflow-dash was installed from a checkout or a wheel file, not an
                              index: AIRFLOW_DASH_SOURCE, where `make setup` installs it from (git-ignored)

Nothing is overwritten: an existing file is an error naming it, before anything is written.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from airflow_dash.errors import UserError, writing

BACKENDS = ("prometheus", "flux", "influxql")

# One provisioning file per backend; the environment variables are the same names everywhere (collectors,
# verify): PROMETHEUS_URL; INFLUXDB_* for InfluxDB 2.x (Flux); INFLUXQL_* for InfluxDB 1.x (InfluxQL).
DATASOURCE_FILES = {
    "prometheus": ("prometheus.yaml", """\
# Grafana provisioning file; airflow-dash pushes it through the HTTP API (`airflow-dash publish`), and the same
# file can be mounted into a Grafana container under provisioning/datasources/.
# ${VAR} is replaced by an environment variable (unset = error in airflow-dash); $$ is a literal $.
apiVersion: 1
datasources:
  - name: Prometheus (airflow-dash)
    type: prometheus
    uid: prometheus
    access: proxy
    url: ${PROMETHEUS_URL}
    jsonData:
      httpMethod: POST
      # The scrape interval: Grafana derives $__rate_interval from it.
      timeInterval: 15s
"""),
    "flux": ("influxdb-flux.yaml", """\
# InfluxDB 2.x queried with Flux. Needs INFLUXDB_URL, INFLUXDB_ORG, INFLUXDB_BUCKET and INFLUXDB_TOKEN.
apiVersion: 1
datasources:
  - name: InfluxDB Flux (airflow-dash)
    type: influxdb
    uid: influxdb-flux
    access: proxy
    url: ${INFLUXDB_URL}
    jsonData:
      version: Flux
      organization: ${INFLUXDB_ORG}
      defaultBucket: ${INFLUXDB_BUCKET}
      timeInterval: 10s
    secureJsonData:
      token: ${INFLUXDB_TOKEN}
"""),
    "influxql": ("influxdb-influxql.yaml", """\
# InfluxDB 1.x queried with InfluxQL. Needs INFLUXQL_URL, INFLUXQL_DATABASE, INFLUXQL_USER, INFLUXQL_PASSWORD.
apiVersion: 1
datasources:
  - name: InfluxDB InfluxQL (airflow-dash)
    type: influxdb
    uid: influxdb-influxql
    access: proxy
    url: ${INFLUXQL_URL}
    database: ${INFLUXQL_DATABASE}
    user: ${INFLUXQL_USER}
    jsonData:
      dbName: ${INFLUXQL_DATABASE}
      httpMode: GET
      timeInterval: 10s
    secureJsonData:
      password: ${INFLUXQL_PASSWORD}
"""),
}
DATASOURCE_VARIABLES = {
    "prometheus": ("PROMETHEUS_URL",),
    "flux": ("INFLUXDB_URL", "INFLUXDB_ORG", "INFLUXDB_BUCKET", "INFLUXDB_TOKEN"),
    "influxql": ("INFLUXQL_URL", "INFLUXQL_DATABASE", "INFLUXQL_USER", "INFLUXQL_PASSWORD"),
}

EXAMPLE_DASHBOARD = '''\
"""Our hosts: the bundled `system` dashboard with our title and one more row, linking to the bundled Airflow
overview. Bundled dashboards are importable (`airflow_dash.bundled`); a dashboard here with the key of a
bundled one replaces it everywhere (links included)."""

import dataclasses

from airflow_dash.bundled import system
from airflow_dash.catalog import host
from airflow_dash.dashboard import DashboardLink
from airflow_dash.panels import Row, thresholds, timeseries

pressure = Row(
    "Pressure",
    [
        timeseries(
            "CPU pressure", host.cpu_pressure, min=0, thresholds=thresholds("green", (10, "orange")),
            description="Share of time tasks waited for a CPU. Rising: add cores or move work off this host.",
        ),
        timeseries(
            "Memory pressure", host.memory_pressure, min=0, thresholds=thresholds("green", (5, "orange")),
            description="Share of time tasks stalled on memory. Rising: tasks need more memory than the host has.",
        ),
    ],
)

dashboard = dataclasses.replace(
    system.dashboard,
    key="team-system",
    title="Team hosts",
    description="The hosts running our Airflow, with CPU and memory pressure.",
    rows=(*system.dashboard.rows, pressure),
    links=(*system.dashboard.links, DashboardLink("Airflow overview", "airflow-overview")),
)
'''

MAKEFILE = """\
# Dashboards as code with airflow-dash: `make setup build lint`, `make diff`, `make publish`.
# Everything runs in the virtualenv $(VENV) (created by `make setup`, PEP 668 never applies).
# Settings live in pyproject.toml under [tool.airflow-dash]; `$(AIRFLOW_DASH) config` shows what is in effect.

PYTHON ?= python3
VENV ?= .venv
# Where pip gets airflow-dash: the package index (pyproject.toml's dependency), unless AIRFLOW_DASH_SOURCE names
# a checkout or a wheel. `airflow-dash init` run from such an install writes it to local.mk (not committed).
-include local.mk
AIRFLOW_DASH_SOURCE ?=
AIRFLOW_DASH = $(VENV)/bin/airflow-dash
OUT ?= build
BACKENDS ?=
DIFF_OUTPUT ?= text
BACKEND_OPTIONS = $(foreach b,$(BACKENDS),--backend $(b))

.PHONY: setup build lint preview list diff publish config clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
\ttest -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
\t$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(AIRFLOW_DASH_SOURCE) .
@@FLUX_SETUP@@\ttouch $@

build: setup
\t$(AIRFLOW_DASH) build --out $(OUT) $(BACKEND_OPTIONS)

lint: setup
\t$(AIRFLOW_DASH) lint $(BACKEND_OPTIONS)

preview: setup
\t$(AIRFLOW_DASH) preview --out $(OUT)/preview $(BACKEND_OPTIONS)

list: setup
\t$(AIRFLOW_DASH) list --verbose $(BACKEND_OPTIONS)

config: setup
\t$(AIRFLOW_DASH) config

# Against the live Grafana (GRAFANA_URL, GRAFANA_TOKEN); exit 1 means "different", like diff(1).
diff: setup
\t$(AIRFLOW_DASH) diff --against live --output $(DIFF_OUTPUT) $(BACKEND_OPTIONS)

# Datasources of the selected backends, folders, then dashboards (--no-datasources when Grafana's are
# managed elsewhere: PUBLISH_OPTIONS=--no-datasources).
publish: build
\t$(AIRFLOW_DASH) publish $(BACKEND_OPTIONS) $(PUBLISH_OPTIONS)

clean:
\trm -rf $(OUT)
"""

WORKFLOW = """\
# Dashboards reviewed like code (generated by `airflow-dash init`).
#
# Every change: lint (annotations on the changed files) and build, every query checked offline.
# Pull requests: a diff against the live Grafana, posted as one markdown comment (updated on each push), and
# layout previews as an artifact. Push to main: publish. GRAFANA_URL / GRAFANA_TOKEN come from the repository
# secrets (a read-only token is enough for the diff), the datasource variables from secrets too.
name: dashboards

on:
  pull_request:
  push:
    branches: [main]

permissions:
  contents: read

jobs:
  review:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write # the diff comment
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
@@NODE_STEP@@
      - name: Install
        run: make setup

      - name: Lint
        # Findings become annotations; errors fail the job, warnings do not.
        run: .venv/bin/airflow-dash lint --output github

      - name: Build
        run: make build

      - name: Diff against the live Grafana
        if: github.event_name == 'pull_request'
        env:
          GRAFANA_URL: ${{ secrets.GRAFANA_URL }}
          GRAFANA_TOKEN: ${{ secrets.GRAFANA_TOKEN }}
        # diff exits 1 when something changed (like diff(1)); only 2+ is a failure.
        run: |
          set +e
          make --silent diff DIFF_OUTPUT=markdown > dashboard-diff.md
          status=$?
          set -e
          if [ "$status" -gt 1 ]; then exit "$status"; fi
          [ -s dashboard-diff.md ] || echo "No dashboard changes." > dashboard-diff.md

      - name: Comment the diff on the pull request
        # One comment, updated on every push (pull requests from forks get a read-only token: skipped).
        if: github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository
        uses: marocchino/sticky-pull-request-comment@v2
        with:
          header: airflow-dash-diff
          path: dashboard-diff.md

      - name: Render layout previews
        if: github.event_name == 'pull_request'
        run: make preview

      - name: Upload previews
        if: github.event_name == 'pull_request'
        uses: actions/upload-artifact@v4
        with:
          name: dashboard-previews
          path: build/preview
          if-no-files-found: ignore

  publish:
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    needs: review
    runs-on: ubuntu-latest
    concurrency:
      group: grafana-publish # never two publishes at once
      cancel-in-progress: false
    environment: grafana
    steps:
      - uses: actions/checkout@v4

      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
@@NODE_STEP@@
      - name: Install
        run: make setup

      - name: Publish
        env:
          GRAFANA_URL: ${{ secrets.GRAFANA_URL }}
          GRAFANA_TOKEN: ${{ secrets.GRAFANA_TOKEN }}
@@DATASOURCE_ENV@@        run: make publish
"""

NODE_STEP = """
      - uses: actions/setup-node@v4
        with:
          node-version: "20" # the Flux checker (flux-lsp, wasm) runs in node
"""

GITIGNORE = """\
/.venv/
/build/
/local.mk
__pycache__/
*.egg-info/
"""

LOCAL_MK = """\
# This machine only (git-ignored): `make setup` installs airflow-dash from here, the place `airflow-dash init`
# was installed from, rather than from the package index.
AIRFLOW_DASH_SOURCE = {source}
"""

README = """\
# {name}

Grafana dashboards for our Airflow, as code, with [airflow-dash](https://pypi.org/project/airflow-dash/).

```sh
make setup build lint   # .venv with airflow-dash; compile every dashboard to build/ (queries checked offline)
make diff               # what differs from the live Grafana (GRAFANA_URL, GRAFANA_TOKEN)
make publish            # datasources, folders, dashboards; never overwrites edits made in Grafana
```

- `dashboards/`: our dashboards (Python). `team_system.py` extends the bundled `system` dashboard; the bundled
  ones ({bundled}) are published too, unless `bundled` in pyproject.toml says otherwise.
- `datasources/`: Grafana provisioning files for {backends}; `publish` needs {variables}.
  When Grafana's datasources are managed elsewhere, set `publish_datasources = false` (or `--no-datasources`).
- Settings: `[tool.airflow-dash]` in pyproject.toml (`.venv/bin/airflow-dash config` shows them).
- CI: `.github/workflows/dashboards.yml` lints and builds; on pull requests it posts the diff against Grafana.
"""


@dataclass(frozen=True)
class ScaffoldFile:
    path: str
    text: str


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def project_name(directory: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory.resolve().name).strip("-._").lower()
    return name or "airflow-dashboards"


def scaffold_files(name: str, backends: Sequence[str], version: str, bundled_keys: Sequence[str],
                   source: str | None = None) -> list[ScaffoldFile]:
    """Every file of a new dashboards repository, for `backends` (validated by the caller); `source`: where
    `make setup` installs airflow-dash from instead of the index (`installed_from()`), in local.mk."""
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise UserError(f"init: unknown backend(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(BACKENDS)}")
    backends = [b for b in BACKENDS if b in backends]
    minimum = ".".join(version.split(".")[:2]) if re.match(r"\d+\.\d+", version) else "0.1"
    pyproject = f"""\
# A dashboards repository for airflow-dash (`airflow-dash init`). `make setup build lint`, then `make publish`.
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "Grafana dashboards for our Airflow, as code."
requires-python = ">=3.10"
dependencies = ["airflow-dash>={minimum}"]

# Nothing to package: `pip install .` installs airflow-dash and nothing else.
[tool.setuptools]
packages = []

# Read by every airflow-dash command; environment variables (AIRFLOW_DASH_<KEY>, GRAFANA_*) and options override.
[tool.airflow-dash]
backends = {_toml_list(backends)}
folder = "Airflow"
dashboards_dir = "dashboards"
datasources_dir = "datasources"
# true: every bundled dashboard too; false: ours only; or a list of bundled keys.
bundled = true
# Grafana's datasources managed elsewhere? Then publish only dashboards:
# publish_datasources = false
"""
    flux = "flux" in backends
    makefile = MAKEFILE.replace("@@FLUX_SETUP@@", "\t$(VENV)/bin/airflow-dash setup-flux-checker\n" if flux else "")
    variables = [v for b in backends for v in DATASOURCE_VARIABLES[b]]
    datasource_env = "".join(f"          {v}: ${{{{ secrets.{v} }}}}\n" for v in variables)
    workflow = (WORKFLOW.replace("@@NODE_STEP@@", NODE_STEP if flux else "")
                .replace("@@DATASOURCE_ENV@@", datasource_env))
    readme = README.format(name=name, bundled=", ".join(bundled_keys), backends=", ".join(backends),
                           variables=", ".join(variables))
    files = [
        ScaffoldFile("pyproject.toml", pyproject),
        ScaffoldFile("dashboards/team_system.py", EXAMPLE_DASHBOARD),
        *(ScaffoldFile(f"datasources/{DATASOURCE_FILES[b][0]}", DATASOURCE_FILES[b][1]) for b in backends),
        ScaffoldFile("Makefile", makefile),
        ScaffoldFile(".github/workflows/dashboards.yml", workflow),
        ScaffoldFile(".gitignore", GITIGNORE),
        ScaffoldFile("README.md", readme),
    ]
    if source is not None:
        files.append(ScaffoldFile("local.mk", LOCAL_MK.format(source=shlex.quote(source))))
    return files


def installed_from() -> str | None:
    """The checkout or wheel file this airflow-dash was installed from (PEP 610 direct_url.json), or None when it
    came from a package index (or is not installed): a scaffold made from it must install the same one, since
    an index may not have it."""
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    # Run inside a checkout, its airflow_dash.egg-info (no direct_url.json) may be found before the install.
    texts = [d.read_text("direct_url.json") for d in metadata.distributions(name="airflow-dash")]
    try:
        url = urlsplit(json.loads(next(t for t in texts if t))["url"])
    except (StopIteration, ValueError, KeyError, TypeError):
        return None
    if url.scheme != "file" or url.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(url.path))
    return str(path) if path.exists() else None


def write_scaffold(directory: Path, backends: Sequence[str], version: str, bundled_keys: Sequence[str],
                   source: str | None = None) -> list[Path]:
    """Write the scaffold into `directory` (created if needed); refuses before writing if any file exists."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"init: {directory} exists and is not a directory")
    files = scaffold_files(project_name(directory), backends, version, bundled_keys, source)
    existing = [f.path for f in files if (directory / f.path).exists()]
    if existing:
        raise UserError(f"init: {directory / existing[0]} already exists; nothing was written (init an empty "
                        "directory, or move it away)")
    written = []
    with writing("the scaffold", directory):
        for item in files:
            target = directory / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
            written.append(target)
    return written
