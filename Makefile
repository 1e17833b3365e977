.PHONY: run test test-quick bench load lint fmt protos

run:  ## install what is missing (system packages when root), then start the whole system on embedded defaults
	@bash scripts/run.sh

test:  ## the whole suite against real MariaDB and Redis (see README)
	@bash scripts/test.sh $(ARGS)

test-quick:  ## ruff and the tests not marked slow, stopping at the first failure (docs/testing.md)
	@TEST_LANE=quick bash scripts/test.sh $(ARGS)

bench:  ## every benchmark's quick form, one at a time; ARGS="grpc_route" for one, ARGS=--full for the committed figures
	@bash scripts/bench.sh $(ARGS)

load:  ## headless Locust against the running system (make run), then reconcile; ARGS="--users 40 --run-time 30s"
	@ESCRUTINIO_DEV=$${ESCRUTINIO_DEV:-1} .venv/bin/python -m scripts.load $(ARGS)

lint:  ## ruff and mypy
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && ESCRUTINIO_DEV=1 .venv/bin/mypy

fmt:
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

protos:  ## regenerate the gRPC contract's Python code (checked in) from proto/
	@.venv/bin/python -m scripts.protos
