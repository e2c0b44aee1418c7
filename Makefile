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

run: install client-h5 ## Start the whole product (SQLite, in-process jobs and clock, WeCom emulator, demo data)
	$(VENV)/bin/salesnav serve

# --- The rep's client (miniprogram/, Taro 4): one codebase, a weapp build and an H5 build served under /m/ ---
CLIENT := miniprogram
CLIENT_SRC := $(shell find $(CLIENT)/src $(CLIENT)/config -type f -not -name schema.d.ts -not -name openapi.json 2>/dev/null) \
	$(CLIENT)/babel.config.js $(CLIENT)/tsconfig.json
API_SRC := $(wildcard salesnav/miniprogram_api/*.py) salesnav/miniprogram_api/schemas.py
# WeChat's limit on a mini-program's main package, in bytes
WEAPP_MAIN_LIMIT := 2097152

node-deps: ## Install Node.js and npm from Debian's packages when the machine has none
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing Debian packages: nodejs npm"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }

$(CLIENT)/node_modules/.package-lock.json: $(CLIENT)/package-lock.json $(CLIENT)/package.json | node-deps
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The API's types for the client come from the app's own OpenAPI document: a contract change breaks this build.
$(CLIENT)/src/api/schema.d.ts: $(API_SRC) $(CLIENT)/node_modules/.package-lock.json | install
	$(VENV)/bin/salesnav openapi --out $(CLIENT)/src/api/openapi.json
	cd $(CLIENT) && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts --silent
	@touch $@

$(CLIENT)/dist/h5/index.html: $(CLIENT_SRC) $(CLIENT)/src/api/schema.d.ts $(CLIENT)/node_modules/.package-lock.json
	cd $(CLIENT) && npx tsc --noEmit -p tsconfig.json
	cd $(CLIENT) && rm -rf dist/h5 && NODE_ENV=production npx taro build --type h5

client-h5: $(CLIENT)/dist/h5/index.html ## Build the H5 client when it is missing or older than its sources

client: client-h5 ## Build the client (H5 under /m/ and the weapp bundle)
	cd $(CLIENT) && rm -rf dist/weapp && NODE_ENV=production npx taro build --type weapp
	@$(MAKE) --no-print-directory client-size

client-size: ## Print the weapp main package size (sub-packages excluded) and check it against WeChat's 2 MB
	@size=$$(cd $(CLIENT)/dist/weapp && find . -type f -not -path './work/*' -printf '%s\n' | awk '{s+=$$1} END {print s}'); \
	echo "weapp main package: $$size bytes ($$((size / 1024)) KiB; limit $(WEAPP_MAIN_LIMIT))"; \
	test "$$size" -le $(WEAPP_MAIN_LIMIT) || { echo "weapp main package is over WeChat's 2 MB limit"; exit 1; }

client-ci: install ## CI: npm ci, API types, type-check, lint, build weapp + h5, main package size check
	$(MAKE) --no-print-directory node-deps
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	$(VENV)/bin/salesnav openapi --out $(CLIENT)/src/api/openapi.json
	cd $(CLIENT) && npx openapi-typescript src/api/openapi.json -o src/api/schema.d.ts --silent
	git diff --exit-code -- $(CLIENT)/src/api/schema.d.ts || { echo "schema.d.ts is stale: run make client and commit it"; exit 1; }
	cd $(CLIENT) && npx tsc --noEmit -p tsconfig.json
	cd $(CLIENT) && npx eslint --max-warnings=0 --ext .ts,.tsx src config
	cd $(CLIENT) && rm -rf dist/h5 && NODE_ENV=production npx taro build --type h5
	cd $(CLIENT) && rm -rf dist/weapp && NODE_ENV=production npx taro build --type weapp
	@$(MAKE) --no-print-directory client-size

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

.PHONY: help system-deps install run test test-smoke test-calendar lint node-deps client client-h5 client-size client-ci
