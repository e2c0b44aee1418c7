# SalesNav — `make run` starts the product on its embedded default, `make test` runs the tests.
SHELL := /bin/bash
UV_BOOT := .tools/bin/uv
UV := $(shell command -v uv 2>/dev/null || echo $(UV_BOOT))
VENV := .venv
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV_BOOT):
	python3 -m venv .tools && .tools/bin/pip install -q uv

# Debian packages: CJK font for PDFs/images, espeak-ng (test speech), zbar (QR decoding in tests),
# chromium + driver (browser tests). Installed only when missing.
APT_PACKAGES := fonts-wqy-microhei fonts-noto-color-emoji espeak-ng libzbar0 chromium chromium-driver

system-deps: ## Install the Debian packages the product and its tests need (when missing)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

install: system-deps $(if $(shell command -v uv 2>/dev/null),,$(UV_BOOT)) ## Create .venv and install everything from the lockfile
	$(UV) sync --frozen

run: install ## Start the whole product (SQLite, in-process jobs and clock, WeCom emulator, demo data)
	$(VENV)/bin/salesnav serve

test: install ## Run the test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, SQLite otherwise)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-smoke: install ## Run the smoke part of the suite
	$(VENV)/bin/pytest -m smoke $(PYTEST_ARGS)

# The days the date-sensitive tests are also run on: the first minutes of a month (still the previous day in
# UTC) and the first day of the Spring Festival holiday (春节, a Tuesday off work).
CALENDAR_DAYS ?= 2026-12-01T00:30+08:00 2026-02-17

test-calendar: install ## Run the date-sensitive tests (-m calendar) as if today were each of CALENDAR_DAYS
	@for day in $(CALENDAR_DAYS); do \
	  echo "== date-sensitive tests on $$day =="; \
	  $(VENV)/bin/pytest -m calendar --today $$day $(PYTEST_ARGS) || exit 1; \
	done

lint: install ## ruff, the import contract (layers) and mypy, as configured in pyproject.toml
	$(VENV)/bin/ruff check salesnav tests bench
	$(VENV)/bin/ruff format --check salesnav tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

.PHONY: help system-deps install run test test-smoke test-calendar lint
