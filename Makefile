# Fengqiao — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PY) -m uv")
RUN := $(UV) run --frozen

.PHONY: run test lint fmt bench migrate docs status token clean help

help:
	@echo "make run      start the whole stack on embedded PostgreSQL + broker (Ctrl-C stops it)"
	@echo "make test     run the test suite against real embedded PostgreSQL and broker"
	@echo "make lint     ruff + mypy + event docs check"
	@echo "make bench    load-test the running stack (starts one if none runs) and print a table"
	@echo "make migrate  run every service's migrations"
	@echo "make docs     regenerate event JSON schemas and the AsyncAPI document"

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv || $(PY) -m pip install --quiet --user uv \
		|| $(PY) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

run: .venv/.synced
	$(RUN) python -m services up

test: .venv/.synced
	$(RUN) pytest

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) mypy shared routing_svc/domain intake_svc/domain.py services
	$(RUN) python -m shared.events.export --check

fmt: .venv/.synced
	$(RUN) ruff check --fix .

bench: .venv/.synced
	$(RUN) python -m bench

migrate: .venv/.synced
	$(RUN) python -m services migrate

docs: .venv/.synced
	$(RUN) python -m shared.events.export

status: .venv/.synced
	$(RUN) python -m services status

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
