# airflow-dash: dashboards for Apache Airflow as code.
# `make setup build` on a fresh Debian/Ubuntu machine, `make test` for the whole suite.

PYTHON ?= python3
BACKENDS ?=
OUT ?= build
CLI = $(PYTHON) -m airflow_dash.cli

.PHONY: help setup setup-ci setup-system setup-python setup-node build list collectors lint preview diff publish \
        test docs bench record-airflow stack-up stack-down clean

help:
	@echo "make setup build   install everything, then compile the bundled dashboards to $(OUT)/"
	@echo "make test          run the whole test suite (starts real Prometheus, node_exporter, InfluxDB)"
	@echo "make publish       build and publish to GRAFANA_URL with GRAFANA_TOKEN"
	@echo "make docs          API reference from the docstrings, to $(OUT)/docs/index.html (guide: docs/library.md)"
	@echo "make lint | preview | collectors | bench | stack-up | stack-down | clean"

setup: setup-system setup-python setup-node setup-components

# What a dashboards repository's CI needs to lint, build, diff and publish (no test servers).
setup-ci: setup-python setup-node

# Real servers the tests start: Prometheus + promtool, node_exporter, InfluxDB 1.x.
setup-system:
	bash scripts/install-system-deps.sh

# Real statsd_exporter, Telegraf and InfluxDB 2 for the tests: built from source at pinned versions, cached per
# version (a second run builds nothing). Needs Go, and cargo for influxd's Flux engine.
setup-components:
	bash scripts/install-components.sh

setup-python:
	$(PYTHON) -m pip install --quiet -e '.[test]'

# The Flux checker is an npm package (wasm); node itself must already be there.
setup-node:
	@command -v node >/dev/null || { echo "node is missing: install Node.js >= 18 (e.g. apt-get install nodejs npm)" >&2; exit 2; }
	npm install --no-audit --no-fund --silent

build:
	$(CLI) build --out $(OUT) $(foreach b,$(BACKENDS),--backend $(b))

list:
	$(CLI) list --verbose

collectors:
	$(CLI) collectors --out $(OUT)/collectors

lint:
	$(CLI) lint

preview:
	$(CLI) preview --out $(OUT)/preview

diff:
	$(CLI) diff --against live

publish: build
	$(CLI) publish $(foreach b,$(BACKENDS),--backend $(b))

# pytest exits 5 when it collected nothing: that must fail loudly, never pass.
test:
	@$(PYTHON) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The API reference, generated from the docstrings (pdoc is a test extra); the package's `__all__` lists names,
# not modules, so the public modules are named here.
DOC_MODULES = airflow_dash.query airflow_dash.catalog airflow_dash.panels airflow_dash.field_config \
	airflow_dash.panel_schema airflow_dash.dashboard airflow_dash.compile airflow_dash.build airflow_dash.backends \
	airflow_dash.escaping airflow_dash.validate airflow_dash.lint airflow_dash.grafana
docs:
	$(PYTHON) -m pdoc --docformat markdown --output-directory $(OUT)/docs airflow_dash $(DOC_MODULES)

bench:
	$(PYTHON) scripts/bench.py --json bench-results.json

# Re-record the StatsD fixtures from real Airflow 2 and 3 (needs PyPI; several minutes).
record-airflow:
	bash scripts/record-airflow-statsd.sh

stack-up: collectors
	docker compose up -d

stack-down:
	docker compose down

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
