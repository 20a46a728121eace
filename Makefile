# Two entry points for a fresh machine (see README):
#   make run   -> installs into .venv, starts the dashboard on 127.0.0.1:8501
#   make test  -> installs into .venv (+ dev tools, chromium), runs the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: run test install install-dev lint demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python -m app.exposure --address $(HOST)
	$(BIN)/streamlit run app/main.py --server.address $(HOST) --server.port $(PORT) \
	  --server.headless true --browser.gatherUsageStats false

demo: install
	$(BIN)/lts run --suite demo --teams 3 --policy dedup --seed 0

test: install-dev
	bash scripts/install_test_deps.sh
	$(BIN)/ruff check lts_core app tests benchmarks
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check lts_core app tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
