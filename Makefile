# airflow-dash: dashboards for Apache Airflow as code.
# `make setup build` on a fresh Debian/Ubuntu machine, `make test` for the whole suite.
# Everything runs in the project virtualenv $(VENV) that `make setup` creates (PEP 668 never applies).

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON = $(VENV)/bin/python
BACKENDS ?=
OUT ?= build
CLI = $(VENV_PYTHON) -m airflow_dash.cli

.PHONY: help setup setup-ci setup-system setup-python setup-node setup-components venv-check build list collectors lint preview diff publish \
        test test-isolated docs bench record-airflow stack-up stack-down clean dist

help:
	@echo "make setup build   install everything (into $(VENV)), then compile the bundled dashboards to $(OUT)/"
	@echo "make test          run the whole test suite (starts real Prometheus, node_exporter, InfluxDB)"
	@echo "make publish       build and publish to GRAFANA_URL with GRAFANA_TOKEN"
	@echo "make docs          API reference from the docstrings, to $(OUT)/docs/index.html (guide: docs/library.md)"
	@echo "make lint | preview | collectors | dist | bench | stack-up | stack-down | clean"

setup: setup-system setup-python setup-node setup-components

# Lint, build, diff and publish only (no test servers).
setup-ci: setup-python setup-node

# Real servers the tests start: Prometheus + promtool, node_exporter, InfluxDB 1.x; python3-venv where missing.
setup-system:
	bash scripts/install-system-deps.sh

# Real statsd_exporter, Telegraf and InfluxDB 2 for the tests: built from source at pinned versions, cached per
# version (a second run builds nothing). Needs Go, and cargo for influxd's Flux engine.
setup-components:
	bash scripts/install-components.sh

# The project virtualenv: created once, then the package (editable) with its test extras.
$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

setup-python: $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'

# The Flux checker is an npm package (wasm); node itself must already be there.
setup-node:
	@command -v node >/dev/null || { echo "node is missing: install Node.js >= 18 (e.g. apt-get install nodejs npm)" >&2; exit 2; }
	npm install --no-audit --no-fund --silent

# Every target below runs the virtualenv's Python: without it, say what to do.
venv-check:
	@test -x $(VENV_PYTHON) || { echo "$(VENV) is missing: run \`make setup\` first" >&2; exit 2; }

build: venv-check
	$(CLI) build --out $(OUT) $(foreach b,$(BACKENDS),--backend $(b))

list: venv-check
	$(CLI) list --verbose

collectors: venv-check
	$(CLI) collectors --out $(OUT)/collectors

lint: venv-check
	$(CLI) lint

preview: venv-check
	$(CLI) preview --out $(OUT)/preview

diff: venv-check
	$(CLI) diff --against live

publish: build
	$(CLI) publish $(foreach b,$(BACKENDS),--backend $(b)) $(PUBLISH_OPTIONS)

# pytest exits 5 when it collected nothing: that must fail loudly, never pass.
test: venv-check
	@$(VENV_PYTHON) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The API reference, generated from the docstrings (pdoc is a test extra); the package's `__all__` lists names,
# not modules, so the public modules are named here.
DOC_MODULES = airflow_dash.query airflow_dash.catalog airflow_dash.panels airflow_dash.field_config \
	airflow_dash.panel_schema airflow_dash.dashboard airflow_dash.compile airflow_dash.build airflow_dash.backends \
	airflow_dash.escaping airflow_dash.validate airflow_dash.lint airflow_dash.grafana airflow_dash.importing \
	airflow_dash.canonical_query
docs: venv-check
	$(VENV_PYTHON) -m pdoc --docformat markdown --output-directory $(OUT)/docs airflow_dash $(DOC_MODULES)

# The tests that read files around the checkout, from a copy with nothing beside it (no ../shared).
test-isolated: venv-check
	bash scripts/test-isolated.sh

# Release artefacts: wheel + sdist in dist/, checked by twine.
dist: venv-check
	rm -rf dist
	$(VENV_PYTHON) -m build --outdir dist .
	$(VENV_PYTHON) -m twine check --strict dist/*

bench: venv-check
	$(VENV_PYTHON) scripts/bench.py --json bench-results.json

# Re-record the StatsD fixtures from real Airflow 2 and 3 (needs PyPI; several minutes).
record-airflow:
	bash scripts/record-airflow-statsd.sh

stack-up: collectors
	docker compose up -d

stack-down:
	docker compose down

clean:
	rm -rf $(OUT) dist .pytest_cache .hypothesis
