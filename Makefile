# Two set-up commands: `make run` and `make test`. Everything else is one command each.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 4200
DOCS_PORT ?= 8080
DATA_DOCS_PORT ?= 8081
MLFLOW_PORT ?= 5000
API_PORT ?= 8000

.PHONY: run test lint serve api docs data-docs mlflow bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/.installed  ## install, then run the main job on the embedded defaults
	$(BIN)/pulsecast run

test: $(BIN)/.installed-dev  ## install with dev extras, lint, run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

serve: $(BIN)/.installed  ## Prefect server + UI on 127.0.0.1:$(PORT), work pool, deployments and a worker
	$(BIN)/pulsecast serve --port $(PORT)

api: $(BIN)/.installed  ## HTTP API over the published snapshots on 127.0.0.1:$(API_PORT) (keys: pulsecast keys create)
	$(BIN)/pulsecast api --port $(API_PORT)

docs: $(BIN)/.installed  ## dbt docs site on 127.0.0.1:$(DOCS_PORT)
	$(BIN)/pulsecast docs --port $(DOCS_PORT)

data-docs: $(BIN)/.installed  ## Great Expectations Data Docs (the daily checkpoint's results) on 127.0.0.1:$(DATA_DOCS_PORT)
	$(BIN)/pulsecast data-docs --port $(DATA_DOCS_PORT)

mlflow: $(BIN)/.installed  ## MLflow UI on 127.0.0.1:$(MLFLOW_PORT)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/data/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

bench: $(BIN)/.installed
	$(BIN)/python bench/ingest.py

clean:  ## remove generated data (the warehouse, landing, archive, MLflow store)
	rm -rf data dbt_project/target dbt_project/logs
