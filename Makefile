# Comptoir: `make run` starts the portal on its embedded default; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint venv messages clean bench

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py run_portal

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy src

# Rebuild the FR/EN/DE catalogues from the code (needs GNU gettext), then compile them.
messages: $(STAMP)
	cd src/comptoir && ../../$(BIN)/python ../../manage.py makemessages --no-obsolete -l fr -l en -l de --ignore "migrations/*"
	msgen src/comptoir/locale/en/LC_MESSAGES/django.po -o src/comptoir/locale/en/LC_MESSAGES/django.po
	cd src/comptoir && ../../$(BIN)/python ../../manage.py compilemessages

# Directory search and import at 1,000,000 operators, then opening the fallback procedure for
# 100,000 operators, on PostgreSQL and SQLite, then the B2G check with 100,000 certificates under
# gunicorn (bench/README.md); BENCH_OPERATORS=20000 BENCH_FALLBACK_OPERATORS=5000
# BENCH_B2G_CERTIFICATES=5000 for a quick check. Figures go to bench/results/.
bench: $(STAMP)
	$(BIN)/python bench/directory_search.py
	$(BIN)/python bench/fallback_open.py
	$(BIN)/python bench/b2g_check.py

clean:
	rm -rf $(VENV) var
