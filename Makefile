# music-popularity: `make run` sets everything up and runs the main job; `make test` runs all tests.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-stamp
COMMA := ,

# Absolute paths, so dbt and python_ml agree whatever the working directory.
export MUSIC_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
export MUSIC_RAW_DIR ?= $(CURDIR)/data/raw
export MUSIC_MLFLOW_DIR ?= $(CURDIR)/data/mlflow
export MUSIC_REPORTS_DIR ?= $(CURDIR)/reports
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install install-spark run test lint pytest dbt-build docs docs-serve mlflow-ui dagster app serve bench clean help

help:  ## list every target
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "make %-13s %s\n", $$1, $$2}'

# uv installs what pip would (the same versions: compared with `pip freeze`) in a fraction of
# pip's time (README.md, "The two commands", has the figures). uv reads its own settings (UV_DEFAULT_INDEX, ...), not pip.conf: `make
# install INSTALLER=pip` installs with pip and its configuration instead. pip is also the fallback
# when uv is missing or fails (not when it is interrupted: Ctrl-C stops here).
# Neither byte-compiles every installed module (TensorFlow, Spark, ...: 22 s of a fresh `make
# test`); Python compiles what is imported, once, and keeps it in the virtualenv: the commands
# below may write bytecode even where PYTHONDONTWRITEBYTECODE is set (else every process
# compiles again all it imports: 13 CPU-s for the pipeline's modules).
unexport PYTHONDONTWRITEBYTECODE
INSTALLER ?= uv
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python
PIP_INSTALL = $(BIN)/python -m pip install --quiet --no-compile
# uv installs from its cache first (`--offline`: no index request, no download), and resolves
# online only when that fails (a first install, a new pin, ...): a fresh clone's `make
# install-spark` takes about 5 s instead of 41 s here, where the package proxy serves files
# without the headers uv needs to reuse them (it fetched pyspark's 455 MB source archive and
# built it again each time). The versions are then the newest the cache holds within the pins
# (those of the last online install), not necessarily the newest on the index: `rm -rf .venv &&
# make install UV_CACHE_FIRST=` resolves online (an existing .venv is not installed again
# until pyproject.toml changes).
UV_CACHE_FIRST ?= 1
define install_extras
	@if [ "$(INSTALLER)" = uv ] && [ -x $(BIN)/uv ]; then \
		echo "uv pip install -e '.[$(1)]'"; \
		{ [ -n "$(UV_CACHE_FIRST)" ] && $(UV_INSTALL) --offline -e '.[$(1)]' 2>/dev/null; } || \
		{ rc=$$?; [ $$rc -lt 128 ] || exit $$rc; \
		  [ -z "$(UV_CACHE_FIRST)" ] || echo "(not installable from uv's cache alone: resolving online)"; \
		  $(UV_INSTALL) -e '.[$(1)]'; } || { rc=$$?; [ $$rc -lt 128 ] || exit $$rc; \
			echo "uv could not install (exit $$rc): installing with pip"; \
			$(PIP_INSTALL) --upgrade pip && $(PIP_INSTALL) -e '.[$(1)]'; }; \
	else \
		echo "pip install -e '.[$(1)]'"; \
		$(PIP_INSTALL) --upgrade pip && $(PIP_INSTALL) -e '.[$(1)]'; \
	fi
endef

# The virtualenv, uv in it, and the activate script's additions; then the extras ($(1)).
define install_venv
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@[ "$(INSTALLER)" != uv ] || [ -x $(BIN)/uv ] || $(PIP_INSTALL) --only-binary=:all: uv || true
	$(call install_extras,$(1))
	@# Plain `dbt` from the project root finds profiles/ once the venv is activated.
	@grep -q DBT_PROFILES_DIR $(BIN)/activate || \
		echo 'export DBT_PROFILES_DIR="$(CURDIR)/profiles"' >> $(BIN)/activate
	@# The same warehouse and raw folder as `make` passes (a user's own setting is kept): plain
	@# dbt then renders the profile as `make run` did, and reuses its parse (else "Unable to do
	@# partial parsing because profile has changed": the whole project parsed again).
	@grep -q MUSIC_WAREHOUSE $(BIN)/activate || \
		echo 'export MUSIC_WAREHOUSE="$${MUSIC_WAREHOUSE:-$(CURDIR)/data/warehouse.duckdb}"' >> $(BIN)/activate
	@grep -q MUSIC_RAW_DIR $(BIN)/activate || \
		echo 'export MUSIC_RAW_DIR="$${MUSIC_RAW_DIR:-$(CURDIR)/data/raw}"' >> $(BIN)/activate
	@# Spark's Python workers (dbt --target spark loads the raw files with them) use this venv.
	@grep -q PYSPARK_PYTHON $(BIN)/activate || \
		echo 'export PYSPARK_PYTHON="$(BIN)/python"' >> $(BIN)/activate
endef

$(STAMP): pyproject.toml
	$(call install_venv,dev)
	@touch $(STAMP)

# A virtualenv copied from another clone runs that clone's code (its scripts' #! lines and the
# editable install point there): dbt's plugin ran the other folder's loader, without a word.
# `python -m venv` writes where it made the virtualenv into pyvenv.cfg (`command = ... -m venv
# <path>`); the scripts' #! lines are no test (a long path gets a /bin/sh one).
define check_venv_here
	@made=$$(sed -n 's/^command = .* -m venv //p' $(VENV)/pyvenv.cfg 2>/dev/null); \
	if [ -n "$$made" ] && [ "$$(realpath -m "$$made")" != "$$(realpath -m $(CURDIR)/$(VENV))" ]; then \
		echo "$(VENV) was made for another folder ($$made): its commands would run that" \
			"folder's code. Make it again here: rm -rf $(VENV) && make install" >&2; \
		exit 1; \
	fi
endef

install: $(STAMP)  ## create .venv and install the project (once per pyproject.toml change)
	$(check_venv_here)

# With Spark: one installer call for both (`make test` on a fresh clone: about 4 s less than
# installing dev, then spark).
$(SPARK_STAMP): pyproject.toml
	$(call install_venv,dev$(COMMA)spark)
	@touch $(STAMP) $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)  ## add the optional Spark engine (pyspark, dbt-spark; needs Java 17+)
	$(check_venv_here)

run: install  ## set up and run the main job end to end (built-in data without Kaggle access)
	$(BIN)/python -m python_ml run

lint: install  ## ruff (lint, format) and sqlfluff
	$(BIN)/ruff check python_ml tests app benchmarks pyspark_music_popularity.py
	$(BIN)/ruff format --check python_ml tests app benchmarks pyspark_music_popularity.py
	$(BIN)/sqlfluff lint models tests/singular analyses

# Two processes, a module (or the group of modules sharing the main job's folder) each at a time,
# longest first (tests/python/conftest.py); `PYTEST_WORKERS=1` runs them in one process.
PYTEST_WORKERS ?= 2
pytest: install-spark  ## every pytest test (dbt builds on DuckDB and Spark, contracts, ...)
	$(BIN)/python -m pytest $(if $(filter 1,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --no-loadscope-reorder)

# Lint runs beside the tests (it takes seconds of one core); either failing fails `make test`.
test: install-spark  ## lint + all tests
	@$(MAKE) --no-print-directory -j2 lint pytest

dbt-build: install  ## plain dbt build of the whole project (it loads the raw files when needed)
	$(BIN)/dbt build

# The docs step (dbt docs generate --static, the reports linked beside the site), recorded as
# `run`'s is: a plain `dbt docs generate` left the next `run` to generate them again.
docs: install  ## dbt docs generate (target/index.html; target/static_index.html opens as a file)
	$(BIN)/python -m python_ml docs

# Each server's port: `make app APP_PORT=8601` when the default one is taken.
DOCS_PORT ?= 8080
MLFLOW_PORT ?= 5000
DAGSTER_PORT ?= 3000
# Where the app, the report and Dagster's metadata point for each UI (python_ml/settings.py):
# the ports above, unless set.
export MUSIC_DOCS_UI ?= http://127.0.0.1:$(DOCS_PORT)
export MUSIC_MLFLOW_UI ?= http://127.0.0.1:$(MLFLOW_PORT)
export MUSIC_DAGSTER_UI ?= http://127.0.0.1:$(DAGSTER_PORT)
APP_PORT ?= 8501
SERVE_PORT ?= 8000

# Each server's port is checked before it starts: one line naming a port in use and the
# variable to set (`check_port_for_make` in python_ml/service.py; the servers' own messages
# differed, and Dagster's and MLflow's did not stop make: see there). Arguments: the variable,
# its value, the target.
CHECK_PORT = $(BIN)/python -c 'import sys; from python_ml.service import check_port_for_make as check; sys.exit(check(sys.argv[1:]))'

# The docs are generated after the port is checked (a port in use is said at once).
docs-serve: install  ## serve the dbt docs on 127.0.0.1:8080 (DOCS_PORT=...)
	@$(CHECK_PORT) DOCS_PORT '$(DOCS_PORT)' docs-serve
	@$(MAKE) --no-print-directory docs
	$(BIN)/dbt docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# MLflow's UI over the local store: one worker, bound to this machine.
mlflow-ui: install  ## MLflow UI over data/mlflow on 127.0.0.1:5000 (MLFLOW_PORT=...)
	@$(CHECK_PORT) MLFLOW_PORT '$(MLFLOW_PORT)' mlflow-ui
	@echo "open http://127.0.0.1:$(MLFLOW_PORT)/#/experiments?workflowType=machine_learning (the training view)"
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--workers 1 --backend-store-uri sqlite:///$(MUSIC_MLFLOW_DIR)/mlflow.db

# Dagster's UI over the main job's asset graph; run history and the UI's state in data/dagster.
dagster: install  ## Dagster UI (asset graph, runs, schedule, sensor) on 127.0.0.1:3000 (DAGSTER_PORT=...)
	@$(CHECK_PORT) DAGSTER_PORT '$(DAGSTER_PORT)' dagster
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -m python_ml.orchestration.definitions -h 127.0.0.1 -p $(DAGSTER_PORT)

# The analysts' app over the prediction marts (read-only; `make run` can write meanwhile).
app: install  ## the analysts' app (Streamlit) on 127.0.0.1:8501 (APP_PORT=...)
	@$(CHECK_PORT) APP_PORT '$(APP_PORT)' app
	$(BIN)/streamlit run app/streamlit_app.py --server.address 127.0.0.1 --server.port $(APP_PORT) \
		--server.headless true --browser.gatherUsageStats false

# The champion over HTTP (FastAPI): POST /predict, GET /model, /health; OpenAPI at /docs.
serve: install  ## HTTP scoring service on 127.0.0.1:8000, OpenAPI at /docs (SERVE_PORT=...)
	@$(CHECK_PORT) SERVE_PORT '$(SERVE_PORT)' serve
	$(BIN)/python -m python_ml serve --host 127.0.0.1 --port $(SERVE_PORT)

# 1x and 10x the real size: every stage's wall time and peak memory into BENCHMARKS.md.
bench: install  ## 1x and 10x benchmarks into BENCHMARKS.md (about 75 minutes)
	$(BIN)/python -m benchmarks.bench
	$(BIN)/python -m benchmarks.bench_stale

clean:  ## remove dbt target/ and logs/
	rm -rf target logs
