# pmulab: two commands do all the setup on a fresh machine.
#   make lab   - create .venv, install pmulab, open JupyterLab on notebooks/
#   make test  - create .venv with the test extra, install Chromium if missing, run every test
# Both are idempotent: the venv is only reinstalled when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888
APP_PORT ?= 8866
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab app test binder-check lint bench chromium clean oracle

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.stamp-lab: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@mkdir -p $(dir $(LAB_SETTINGS))
	@echo '{"@jupyterlab/apputils-extension:notification": {"checkForUpdates": false, "fetchNews": "false"}}' > $(LAB_SETTINGS)
	@touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-lab
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

lab: $(VENV)/.stamp-lab
	@echo "Opening JupyterLab on notebooks/ (the URL with its token follows; Ctrl-C stops it)"
	$(VENV)/bin/jupyter lab --no-browser --allow-root --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=notebooks

app: $(VENV)/.stamp-test
	@echo "Serving the tour as an app on http://127.0.0.1:$(APP_PORT)/ (Ctrl-C stops it)"
	$(VENV)/bin/voila notebooks/00-tour.ipynb --no-browser --port=$(APP_PORT) --Voila.ip=127.0.0.1

binder-check: $(VENV)/.stamp-test
	$(VENV)/bin/repo2docker --no-build --no-run --debug --user-id 1000 --user-name jovyan . >/dev/null

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check pmulab tests
	$(VENV)/bin/lint-imports

test: $(VENV)/.stamp-test chromium lint binder-check
	$(PY) -m pytest tests --nbval-lax --nbval-current-env notebooks

oracle: $(VENV)/.stamp-lab
	$(VENV)/bin/pmulab oracle --record
	$(VENV)/bin/pmulab oracle --record-explore

bench: $(VENV)/.stamp-lab
	$(VENV)/bin/pmulab bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
