# The workshop's two promises: `make lab` starts the workshop, `make test` passes the tests,
# both on a fresh machine. Every target installs what it needs first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
# Rebuilt only when the pinned requirements or the package metadata change, so a second
# `make setup` returns at once. --compile-bytecode: the first local cloud starts in ~0.6 s
# instead of ~2 s (Python would otherwise compile moto, boto3 and werkzeug on that first start);
# it costs setup ~10 s once.
STAMP := $(VENV)/.installed

.PHONY: setup lab test test-tools lint bench lock generate clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || \
		$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)

## Start the local cloud and JupyterLab on 127.0.0.1 (prints the URL to open).
lab: setup
	$(PY) scripts/lab.py

## Install newman and Chromium when missing (the browser and Postman tests need them).
test-tools:
	bash scripts/install_test_tools.sh

## The whole suite: unit, local cloud, scripts, browser and Postman, and nbval over every
## solution notebook. tests/realism/ runs the notebooks and scripts once more in realism mode
## (WORKSHOP_REALISM=aws, scaled down), where roles propagate, functions are Pending and
## API Gateway throttles, as on AWS.
test: setup test-tools lint
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg solutions/notebooks

## Lint: the rules the code's `# noqa` comments name (pyproject.toml, [tool.ruff]), and every
## import a direct dependency listed in requirements.in (deptry, [tool.deptry]).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/deptry .

## Latency and throughput of the local gateway, measured against raw DynamoDB calls.
bench: setup
	$(PY) scripts/bench.py

## Regenerate the learner notebooks and starter files from the solutions.
generate: setup
	$(PY) scripts/generate_learner_files.py

## Re-pin every dependency from requirements.in.
lock: setup
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt

clean:
	-$(PY) scripts/local_cloud.py down 2>/dev/null
	rm -rf $(VENV) .workshop .pytest_cache
