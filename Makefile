# music-popularity: `make run` sets everything up and runs the main job; `make test` runs all tests.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Absolute paths, so dbt and python_ml agree whatever the working directory.
export MUSIC_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
export MUSIC_RAW_DIR ?= $(CURDIR)/data/raw
export MUSIC_MLFLOW_DIR ?= $(CURDIR)/data/mlflow
export MUSIC_REPORTS_DIR ?= $(CURDIR)/reports
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install run test lint pytest dbt-build docs docs-serve mlflow-ui bench clean help

help:
	@echo "make run    - set up (virtualenv + install) and run the main job end to end"
	@echo "make test   - lint + all tests (pytest, dbt unit/data tests on small data)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m python_ml run

lint: install
	$(BIN)/ruff check python_ml tests
	$(BIN)/ruff format --check python_ml tests
	$(BIN)/sqlfluff lint models tests/singular analyses

pytest: install
	$(BIN)/python -m pytest

test: lint pytest

dbt-build: install
	$(BIN)/dbt build

docs: install
	$(BIN)/dbt docs generate

docs-serve: docs
	$(BIN)/dbt docs serve --host 127.0.0.1 --port 8080 --no-browser

# MLflow's UI over the local store: one worker, bound to this machine.
mlflow-ui: install
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --host 127.0.0.1 --port 5000 \
		--workers 1 --backend-store-uri sqlite:///$(MUSIC_MLFLOW_DIR)/mlflow.db

# 1x and 10x the real size: every stage's wall time and peak memory into BENCHMARKS.md.
bench: install
	$(BIN)/python -m python_ml.bench

clean:
	rm -rf target logs
