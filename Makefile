VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/payments
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test venv clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

## Run the whole platform on the embedded default (SQLite, file broker, fixed rates).
run: venv
	$(PY) manage.py run_platform

## Run the test suite on PostgreSQL and Redis.
test: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
