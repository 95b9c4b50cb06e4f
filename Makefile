# Two commands from a fresh clone (Python 3.11+, pip and make): `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test unit lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate the embedded SQLite database, then serve the API on 127.0.0.1:8000 (/docs)
run: $(STAMP)
	$(BIN)/lad db upgrade
	$(BIN)/lad serve

## test: the whole suite (PostgreSQL tests skip outside CI when no server answers), on one
## pytest-xdist worker a core (each with its own PostgreSQL database); tests that share a
## module's servers, or start worker processes, stay together (xdist_group, --dist loadgroup).
## TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## unit: the domain on the in-memory adapters only, in under 5 s (hypothesis profile dev; CI runs ci;
## Python may cache bytecode here even where PYTHONDONTWRITEBYTECODE is set: compiling and
## rewriting the test modules afresh is a second of every run)
unit: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest tests/unit -p no:schemathesis

## lint: ruff, mypy --strict and the import-linter contracts
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

## bench: every benchmark in bench/ (needs PostgreSQL on 127.0.0.1:5432); prints ratios
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
