# SIEM@Home — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
# Load .env (if any) into the environment of recipes that talk to MariaDB.
WITH_ENV := set -a; [ ! -f .env ] || . ./.env; set +a;

.PHONY: help up down upgrade-db doctor demo bench bench-parse bench-queries venv mariadb test lint fmt db-init run-collector run-api dashboards grafana-push clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

up: ## create .env with random passwords if missing, then build and start the stack (Docker)
	@[ -f .env ] || python3 -m siemctl env
	docker compose up -d --build

down: ## stop the stack (data stays in its volumes)
	docker compose down

upgrade-db: ## apply mysql-init/ to the running stack's database (after an upgrade, or a first start that failed)
	docker compose run --rm --no-deps -v "$$PWD:/siem:ro" -e SIEM_DB_HOST=mariadb -e SIEM_INIT_MARKER=/var/lib/mysql/siem-init-complete --entrypoint /siem/scripts/db-init mariadb

doctor: .venv-grafana/bin/python ## after deployment: check API, Grafana, data source, dashboards and a syslog round trip
	@$(WITH_ENV) .venv-grafana/bin/python -m siemctl doctor

demo: ## replay a generated, realistic day of logs into the running collector
	@python3 -m siemctl demo

.venv-grafana/bin/python: siemctl/requirements-grafana.txt
	python3 -m venv .venv-grafana
	.venv-grafana/bin/pip install -q --disable-pip-version-check -r siemctl/requirements-grafana.txt

$(VENV)/.installed: requirements-dev.txt collector/requirements.txt api/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@python3 -m venv $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed ## create .venv with the pinned dependencies

mariadb: ## install MariaDB if missing and start it if none answers
	@scripts/ensure-mariadb

test: venv mariadb lint ## run linters and the whole test suite against real MariaDB
	$(PY) -m pytest

lint: venv ## check style and common bugs (read-only)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@bash -n scripts/db-init scripts/ensure-mariadb mysql-init/*.sh

fmt: venv ## reformat and apply safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

db-init: ## apply mysql-init/ to the MariaDB in SIEM_DB_HOST/SIEM_DB_PORT (reads .env)
	@$(WITH_ENV) scripts/db-init

run-collector: venv ## run the collector natively with the settings in .env
	@$(WITH_ENV) SIEM_DB_PASSWORD="$${SIEM_DB_PASSWORD:-$$SIEM_COLLECTOR_PASSWORD}" $(PY) -m collector

run-api: venv ## run the API natively with the settings in .env (read-only account)
	@$(WITH_ENV) SIEM_DB_USER="$${SIEM_API_DB_USER:-siem_reader}" SIEM_DB_PASSWORD="$$SIEM_READER_PASSWORD" $(PY) -m api

dashboards: venv ## regenerate grafana/dashboards/*.json from siemctl/dashboards.py
	$(PY) -m siemctl dashboards

grafana-push: .venv-grafana/bin/python ## install data source and dashboards into your Grafana: make grafana-push URL=http://host:3000 (GRAFANA_TOKEN in .env)
	@[ -n "$(URL)" ] || { echo "usage: make grafana-push URL=http://grafana-host:3000 [DRY_RUN=1]"; exit 2; }
	@$(WITH_ENV) .venv-grafana/bin/python -m siemctl grafana-push --url "$(URL)" $(if $(DRY_RUN),--dry-run,)

bench: venv mariadb ## ingest benchmark against the original syslog-ng design, same run; results in bench/results/
	@command -v syslog-ng >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syslog-ng-core syslog-ng-mod-sql libdbd-mysql >/dev/null; }
	$(PY) -m bench.ingest

bench-parse: venv ## CPU per message of framing and parsing; AGAINST=<other checkout> times both in one run
	$(PY) -m bench.parse $(if $(AGAINST),--against "$(AGAINST)",)

bench-queries: venv mariadb ## fill 30 days (BENCH_PF_ROWS, default 20M) and time every API endpoint and panel query
	$(PY) -m bench.queries

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .venv-grafana .pytest_cache .ruff_cache .hypothesis
