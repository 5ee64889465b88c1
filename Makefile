# Relecture: `make demo` sets everything up and serves the app; `make test` runs the suite.
# Both work on a fresh machine with Python 3.11, make and (for Debian packages) apt-get.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages: the offline translation engine (pivoting through Spanish) and the
# browser the UI tests drive.
DEB_PACKAGES := apertium apertium-eng-spa apertium-fr-es chromium

.PHONY: demo test venv system-packages bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# Installs only what is missing, so a second run costs a dpkg query.
system-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "warning: apt-get not found; install: $$missing" >&2; exit 0; fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	echo "installing Debian packages: $$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null

# The suite keeps its files (the SQLite test database, the filesystem broker's queue, the
# generated secret key) under var/test, so it never touches a demo's var/ or its queue.
test: venv system-packages
	RELECTURE_VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest

demo: venv system-packages
	$(BIN)/python manage.py setup_demo
	$(BIN)/python manage.py run_study --world full
	@echo "Starting a Celery worker and the web server on http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@$(BIN)/celery -A config worker -Q default,gpu --concurrency 1 --loglevel WARNING --logfile var/worker.log & \
	worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --noreload

bench: venv
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf var
