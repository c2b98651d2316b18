# The README's commands. `make run` serves the site; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-dev db browser redis-server proxy gettext messages compiled-messages wrk bench bench-admin bench-cache bench-cpu bench-slots load backup restore-drill observatory lighthouse clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

install: $(VENV)/.installed node_modules/.package-lock.json
install-dev: $(VENV)/.installed-dev node_modules/.package-lock.json

## Create the development database and load the clinic's content (DEBUG=true unless set, as for run).
db: export DEBUG ?= true
db: install
	$(BIN)/python -m clinic.ensure_db
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_clinic_content
	$(BIN)/python manage.py create_staff_groups
	$(BIN)/python manage.py load_sample_clinicians

## Install Debian's gettext (msgfmt, xgettext) for the translations when it is missing (needs root).
gettext:
	@command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	  else echo "The translations need GNU gettext: sudo apt-get install gettext"; exit 1; fi; }

## Extract the patient's strings into locale/es/LC_MESSAGES/django.po (translate, then compile).
messages: install gettext
	DEBUG=true $(BIN)/python -m clinic.messages

## Compile the catalogues (.po) into the .mo files Django reads.
compiled-messages: install gettext
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

## Serve the site on http://127.0.0.1:8000 with the mail worker beside it.
run: export DEBUG ?= true
run: db compiled-messages
	@echo
	@echo "The site runs on http://$(HOST):$(PORT)/ (Ctrl-C stops it and the mail worker)."
	@echo "Make a staff login with: $(BIN)/python manage.py createsuperuser"
	@echo
	@trap 'kill 0' EXIT; \
	$(BIN)/python manage.py mail_worker & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## Install Debian's Chromium for the browser tests when it is missing (needs root).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

## Install Debian's redis-server for the fault tests when it is missing (needs root); they start their own.
redis-server:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
	  else echo "The fault tests need Debian's redis-server: sudo apt-get install redis-server"; exit 1; fi; }

## Install Debian's nginx and its cache-purge module (the shared cache of deploy/nginx.conf) when missing.
proxy:
	@test -e /usr/lib/nginx/modules/ngx_http_cache_purge_module.so || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-cache-purge; \
	  else echo "The shared-cache tests need nginx: sudo apt-get install nginx libnginx-mod-http-cache-purge"; exit 1; fi; }

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Lint, check migrations, and run the whole suite (browser, fault and shared-cache tests included) on PostgreSQL,
## in parallel: TEST_WORKERS processes, each with a test database of its own (<name>_gw0, _gw1, ...).
## A quick run while working: .venv/bin/pytest -m "not slow" (no property, concurrency or production-server tests).
# Most tests wait on PostgreSQL, Chromium or a server rather than on a core. Measured on 2 cores (the
# machine shared, load 5-16): a 244-test sample took 87 s in one process, 60-148 s with 2 workers,
# 63-86 s with 3, 61-83 s with 4; the whole suite 22 min in one process, 8 min with 3, 13 min with 4.
# --dist loadgroup: the tests of one @pytest.mark.xdist_group("name") run on one worker, one at a time.
TEST_WORKERS ?= 3
test: install-dev browser redis-server proxy compiled-messages lint
	$(BIN)/python -m clinic.ensure_db
	DJANGO_SETTINGS_MODULE=clinic.test_settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest --create-db -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## Lighthouse (mobile) scores and transfer sizes of the main pages, against the production server.
lighthouse: install-dev
	$(BIN)/python bench/lighthouse.py

## Mozilla HTTP Observatory rules, offline, against the production-configured server (needs root: ports 80 and 443).
observatory: install-dev
	$(BIN)/python bench/observatory.py

## Install Debian's wrk for the load benchmark when it is missing (needs root).
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else echo "The load benchmark needs Debian's wrk: sudo apt-get install wrk"; exit 1; fi; }

## Requests per second and latency of the main pages and of form submissions, against a baseline page.
load: install-dev wrk
	$(BIN)/python bench/load.py

## The public pages at the origin against /healthz (4 and 32 connections), and through deploy/nginx.conf.
bench-cache: install-dev wrk proxy
	$(BIN)/python bench/shared_cache.py

## The CPU one Send costs the server (Python, PostgreSQL, Redis) under load, against the baseline page's.
bench-cpu: install-dev wrk
	$(BIN)/python bench/cpu_per_request.py

## Every benchmark, one after another (they share the cores); docs/benchmarks.md keeps the latest figures.
bench: install-dev wrk proxy
	$(BIN)/python bench/load.py
	$(BIN)/python bench/cpu_per_request.py
	$(BIN)/python bench/shared_cache.py
	$(BIN)/python bench/consultation_submit.py
	$(BIN)/python bench/lighthouse.py
	$(BIN)/python bench/observatory.py
	$(BIN)/python bench/admin_pages.py
	$(BIN)/python bench/slots.py

## The staff workspace with 50,000 requests: the list, a search and a request's page against the admin's index.
bench-admin: install-dev
	$(BIN)/python bench/admin_pages.py

## Open times for 10 clinicians over 60 days with 2,000 bookings, against the baseline page.
bench-slots: install-dev
	$(BIN)/python bench/slots.py

## Back up the database to backups/clinic-<time>.dump, and prove a backup restores.
backup: install
	mkdir -p backups
	$(BIN)/python -m clinic.backup dump backups/clinic-$$(date -u +%Y%m%dT%H%M%SZ).dump

restore-drill: install
	$(BIN)/python -m clinic.backup drill

clean:
	rm -rf $(VENV) node_modules staticfiles
