# Handshake: the single entry point. Every target is idempotent and safe to re-run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed
CHROMIUM ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

# A Python >= 3.12: python3.13, python3.12, then python3 (pyenv honours .python-version).
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then command -v $$p; break; fi; done)

# $(call apt_install,PACKAGE,WHY): install a Debian package (as root, or with sudo).
define apt_install
	echo "==> Installing $(1) (Debian package) $(2)"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null
endef

.PHONY: help install run setup serve test unit e2e lint fmt migrations-check bench chromium wrk clean
.PHONY: nginx prod-env run-prod stop-prod run-two

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Error: Handshake needs Python 3.12 or newer (python3.13, python3.12 or pyenv's 3.12). Install one and retry." >&2; exit 1; fi
	@echo "==> Creating $(VENV) with $(PYTHON)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "==> Installing pinned dependencies"
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install pinned dependencies

setup: install ## migrate, import the material and questions, load demo data
	@echo "==> Migrating the database"
	@$(MANAGE) migrate --noinput
	@echo "==> Importing course material"
	@for f in courses/material/*.txt; do $(MANAGE) import_material "$$f" || exit 1; done
	@if [ -d quizzes/banks ]; then echo "==> Importing question banks"; $(MANAGE) import_questions; fi
	@echo "==> Loading demo data"
	@$(MANAGE) seed_demo

run: setup ## set everything up, then serve on http://$(HOST):$(PORT)
	@$(MAKE) --no-print-directory serve

serve: install ## serve with Daphne (HTTP + WebSockets, static files via whitenoise)
	@echo "==> Serving on http://$(HOST):$(PORT) (Ctrl-C to stop)"
	@$(VENV)/bin/daphne -e tcp:port=$(PORT):backlog=1024:interface=$(HOST) --proxy-headers config.asgi:application

run-two: setup ## two Daphne processes on PORT and PORT+1 sharing DATABASE_URL (PostgreSQL) and REDIS_URL (README "Faults")
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ]; then echo "Error: make run-two needs DATABASE_URL (PostgreSQL) and REDIS_URL (README: Faults and guided experiments)." >&2; exit 2; fi
	@P2=$$(( $(PORT) + 1 )); echo "==> Daphne A on http://$(HOST):$(PORT), Daphne B on http://$(HOST):$$P2 (Ctrl-C stops both)"; \
	$(VENV)/bin/daphne -e tcp:port=$(PORT):backlog=1024:interface=$(HOST) config.asgi:application & A=$$!; \
	$(VENV)/bin/daphne -e tcp:port=$$P2:backlog=1024:interface=$(HOST) config.asgi:application & B=$$!; \
	trap 'kill $$A $$B 2>/dev/null' INT TERM EXIT; wait $$A $$B

chromium: ## install Debian's chromium for browser tests if it is missing
	@if [ -z "$(CHROMIUM)" ]; then \
		$(call apt_install,chromium,for browser tests); \
	fi

test: install chromium nginx wrk ## the whole suite: unit and integration, then browser journeys
	@$(MAKE) --no-print-directory unit-all
	@$(MAKE) --no-print-directory e2e

UNIT_MARKERS ?= not e2e

unit-all: install
	@echo "==> Unit and integration tests"
	@$(PYTEST) -m "$(UNIT_MARKERS)" -q

unit: install ## fast loop: everything but browser and slow tests
	@$(PYTEST) -m "not e2e and not slow" -q

e2e: install chromium ## browser journeys (Playwright + Debian chromium on a live Daphne)
	@echo "==> Browser tests"
	@DJANGO_ALLOW_ASYNC_UNSAFE=true $(PYTEST) -m e2e -q -p no:randomly

lint: install ## ruff, Django's checks, and no missing migrations
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) check
	@$(MAKE) --no-print-directory migrations-check

migrations-check: install
	@DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) makemigrations --check --dry-run

fmt: install ## format and autofix
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

nginx: ## install Debian's nginx (the production stack test needs it) if it is missing
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
		$(call apt_install,nginx,for the production stack); \
	fi

prod-env:
	@missing=""; for v in DJANGO_SECRET_KEY DATABASE_URL REDIS_URL; do [ -n "$${!v}" ] || missing="$$missing $$v"; done; \
	if [ -n "$$missing" ]; then echo "Error: make run-prod needs$$missing in the environment (README: Deployment)." >&2; exit 2; fi

run-prod: prod-env install nginx ## production on this machine: needs DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL (README "Deployment")
	@$(PY) deploy/run_prod.py

stop-prod: ## stop a `make run-prod` started elsewhere (same HANDSHAKE_RUN_DIR)
	@$(PY) deploy/stop_prod.py

wrk: ## install Debian's wrk (HTTP load for make bench and its smoke test) if it is missing
	@if ! command -v wrk >/dev/null 2>&1; then \
		$(call apt_install,wrk,for the benchmarks); \
	fi

bench: install wrk ## run the benchmark suite (under 10 min) and write BENCHMARKS.md + bench/results.json
	@$(PY) -m bench.run

clean: ## remove the venv, databases and collected static files
	rm -rf $(VENV) db.sqlite3 .test-db-*.sqlite3* staticfiles
