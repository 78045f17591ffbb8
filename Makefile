# pedbone — quick start: `make run` and `make test` on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps run test lint typecheck docs docs-check unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[web,dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests need (browser, database server, PDF tools); see the script.
system-deps:
	bash tools/system-deps.sh

# `make run`: the Z-score engine on the bundled example file, then the clinic application on
# http://127.0.0.1:8000/ with fictional demo patients in out/demo.sqlite3 (created on the first
# run, upgraded on later ones; the demo login is kept in out/demo-login.txt). Ctrl+C stops it.
DEMO_DB := out/demo.sqlite3
run: setup
	mkdir -p out
	$(BIN)/pedbone zscore examples/zscore_example.csv -o out/zscore_example_scored.csv --overwrite
	$(BIN)/python -c "import polars as pl; pl.Config.set_tbl_cols(12); pl.Config.set_tbl_rows(25); pl.Config.set_tbl_width_chars(200); pl.Config.set_fmt_str_lengths(60); print(pl.read_csv('out/zscore_example_scored.csv').select('id', 'age_used_years', pl.col('^.*_z$$'), 'zscore_status'))"
	@if [ ! -f $(DEMO_DB) ]; then \
		$(BIN)/pedbone demo --database-url sqlite:///$(DEMO_DB) | tee out/demo-login.txt; \
		$(BIN)/pedbone review demo --database-url sqlite:///$(DEMO_DB) | tee -a out/demo-login.txt; \
	else \
		$(BIN)/pedbone db upgrade --database-url sqlite:///$(DEMO_DB); \
		$(BIN)/pedbone review demo --database-url sqlite:///$(DEMO_DB) | tee -a out/demo-login.txt; \
	fi
	@echo "pedbone: open http://127.0.0.1:8000/ and $$(grep -h 'sign in' out/demo-login.txt 2>/dev/null | sed 's/ *(shown once)//' || echo 'sign in with your account')"
	$(BIN)/pedbone serve --database-url sqlite:///$(DEMO_DB) --port 8000

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

typecheck: setup
	$(BIN)/mypy

# The documentation site (MkDocs; API reference from the docstrings). docs-check fails on a broken
# link between pages, a page missing from the navigation or an unresolved reference.
docs: setup
	$(BIN)/mkdocs build

docs-check: setup
	$(BIN)/mkdocs build --strict --quiet --site-dir $$(mktemp -d)

# tools/test-postgres.sh starts a throwaway PostgreSQL so the store tests run on it too.
unit: setup system-deps
	bash tools/test-postgres.sh $(BIN)/pytest -q -n auto

test: lint typecheck docs-check unit

bench: setup
	$(BIN)/python benchmarks/bench_zscore.py
	$(BIN)/python benchmarks/bench_meta.py

clean:
	rm -rf $(VENV) out site .mypy_cache .ruff_cache .pytest_cache
