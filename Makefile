# One task runner whose verbs CI and people use. `make serve` and `make test` work from a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make serve` port: PORT=…, else CARE_SANDBOX_PORT=…, else 8080 (0 picks a free port)
PORT ?= $(or $(CARE_SANDBOX_PORT),8080)

.PHONY: serve test test-prism lint bench venv clean lock golden image dist wheel-check revision deps-check

# --- Installs come from uv.lock (uv: https://docs.astral.sh/uv/) -----------------------------------
# uv on PATH is used as it is; otherwise it is bootstrapped once from PyPI with pip into .tools/uv
# (the uv wheel carries the binary). `uv sync --frozen` installs exactly the lock into .venv and fails
# if pyproject.toml and uv.lock disagree — run `make lock` after changing dependencies.
UV_BOOT := .tools/uv/bin/uv
UV ?= $(shell command -v uv 2>/dev/null || echo $(UV_BOOT))
# use $(PY); never fetch an interpreter
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

$(UV_BOOT):
	@$(PY) -m pip install --quiet --disable-pip-version-check --target .tools/uv uv

$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) sync --quiet --frozen --extra dev --python $(PY)
	@touch $(STAMP) $(RUNTIME_STAMP)

# `make serve` needs only the runtime dependencies: a fresh clone syncs those (fewer downloads, a faster
# first start); --inexact keeps dev tools a previous `make test` installed.
RUNTIME_STAMP := $(VENV)/.installed-runtime
$(RUNTIME_STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) sync --quiet --frozen --inexact --python $(PY)
	@touch $(RUNTIME_STAMP)

lock: | $(UV)  ## re-resolve uv.lock from pyproject.toml (after adding or changing a dependency)
	@$(UV) lock --python $(PY)

venv: $(STAMP)

serve: $(RUNTIME_STAMP)  ## start the sandbox on SQLite with demo data; prints the URL and a test API key
	@$(BIN)/care-sandbox serve --port $(PORT)

test: $(STAMP)  ## lint, format check, type-check, then the whole test suite (conformance kit against the sandbox included)
	@$(BIN)/ruff check mock_server synthetic_data conformance tests bench
	@$(BIN)/ruff format --check --quiet mock_server synthetic_data conformance tests bench
	@$(BIN)/mypy
	@$(BIN)/python -c "import yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open('openapi.yaml')))"
	@$(BIN)/pytest -n 2 --timeout 600 -q -m "not prism"

test-prism: $(STAMP)  ## the conformance kit judged against Stoplight Prism 5.16 (slow; .ci/run runs it after `make test`)
	@$(BIN)/pytest -n 2 --timeout 1500 -q -p no:cacheprovider -m prism tests/conformance/test_kit_prism.py

lint: $(STAMP)
	@$(BIN)/ruff check mock_server synthetic_data conformance tests bench
	@$(BIN)/ruff format --check mock_server synthetic_data conformance tests bench
	@$(BIN)/mypy

bench: $(STAMP)  ## every benchmark, each printing ratios against its anchor measured in the same run
	@$(BIN)/python bench/run_all.py

golden: $(STAMP)  ## accept a deliberate change of care-synth's output: rewrite the golden digests
	@CARE_SYNTH_UPDATE_GOLDEN=1 $(BIN)/pytest -p no:xdist -q tests/synthetic_data/test_golden.py

revision: $(STAMP)  ## a new Alembic revision from schema.py changes: make revision m="add x to y"
	@$(BIN)/python -m mock_server.storage.migrations.new_revision "$(m)"

deps-check: $(STAMP)  ## every import of the three packages is a declared dependency
	@$(BIN)/deptry .

dist: $(STAMP)  ## wheel and sdist into dist/, checked with twine check --strict
	@rm -rf dist && $(BIN)/python -m build --outdir dist . >/dev/null && $(BIN)/twine check --strict dist/*

wheel-check: $(STAMP)  ## the wheel as users get it: clean venv, unrelated directory, serve + kit + generator
	@bash .ci/wheel_check

# --- The image (docker/Dockerfile): podman or docker, whichever is present --------------------------
# Without a registry (as on the project's machines), set BASE_IMAGE to a local Debian-made base:
# `eval "$(bash .ci/image_setup)"` builds one with debootstrap (once) and names it in
# CARE_SANDBOX_BASE_IMAGE (see README "Containers").
ENGINE ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
IMAGE ?= localhost/care-sandbox:dev
BASE_IMAGE ?= python:3.12-slim

image:  ## build the image (BASE_IMAGE=… to choose the base)
	@test -n "$(ENGINE)" || { echo "make image needs podman or docker" >&2; exit 1; }
	@# podman's default OCI format has no HEALTHCHECK; the docker format keeps it
	@$(ENGINE) build $(if $(findstring podman,$(ENGINE)),--format docker) \
	  --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) -f docker/Dockerfile .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache dist build .tools
