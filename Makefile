# One task runner whose verbs CI and people use. `make serve` and `make test` work from a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make serve` port: PORT=…, else CARE_SANDBOX_PORT=…, else 8080 (0 picks a free port)
PORT ?= $(or $(CARE_SANDBOX_PORT),8080)

.PHONY: serve test lint bench venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

serve: $(STAMP)  ## start the sandbox on SQLite with demo data; prints the URL and a test API key
	@$(BIN)/care-sandbox serve --port $(PORT)

test: $(STAMP)  ## lint, type-check, then the whole test suite (conformance kit against the sandbox included)
	@$(BIN)/ruff check mock_server synthetic_data conformance tests bench
	@$(BIN)/mypy
	@$(BIN)/python -c "import yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open('openapi.yaml')))"
	@$(BIN)/pytest -n 2 --timeout 600 -q

lint: $(STAMP)
	@$(BIN)/ruff check mock_server synthetic_data conformance tests bench
	@$(BIN)/ruff format --check mock_server synthetic_data conformance tests bench
	@$(BIN)/mypy

bench: $(STAMP)  ## every benchmark, each printing ratios against its anchor measured in the same run
	@$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
