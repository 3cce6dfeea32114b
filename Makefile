# The two commands in the README: `make run` and `make test`.
# Everything else here is what those two need.

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast test-browser lint lint-deploy check-deploy bench clean

$(BIN)/activate:
	@interpreter=$$(PYTHON="$(PYTHON)" bin/find-python) && \
	  echo "Using $$interpreter" && \
	  "$$interpreter" -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

## Set up (first time) and serve the app at http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver $(HOST):$(PORT)

## Set up (first time) and run the whole test suite
test: $(VENV)/.installed lint lint-deploy check-deploy test-fast test-browser

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Dockerfile, compose.yaml and deploy/Caddyfile, with no Docker engine:
# hadolint, dclint, compose-lint and caddy validate (deploy/lint installs them).
lint-deploy: $(VENV)/.installed
	deploy/lint

# Django's deployment checklist with production settings (a throwaway key).
PRODUCTION_ENV = DEBUG=0 ALLOWED_HOSTS=chat.example.com \
	CSRF_TRUSTED_ORIGINS=https://chat.example.com BEHIND_TLS_PROXY=1
check-deploy: $(VENV)/.installed
	@env $(PRODUCTION_ENV) \
	  SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  $(PY) manage.py check --deploy --fail-level WARNING

test-fast: $(VENV)/.installed
	$(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

# Browser tests run in their own pytest call: Playwright's sync loop breaks
# asyncio tests that run after it in the same process.
test-browser: $(VENV)/.installed
	@bin/ensure-chromium
	$(BIN)/pytest -m browser tests/browser $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) benchmarks/relay.py
	$(PY) benchmarks/page.py
	$(PY) benchmarks/stack_floor.py

clean:
	rm -rf $(VENV) .pytest_cache
