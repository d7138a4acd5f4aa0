# Two commands: `make lab` opens the course, `make test` checks it.
# Each sets up .venv first when needed (python3 >= 3.10 and make are all it takes).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := .ci/constraints.txt
# JupyterLab refuses to run as root unless told; containers and CI often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=
# JupyterLab serves the repository (so the README is one click away) and opens on the course index.
# The news prompt is a JupyterLab 4 setting, not a server option: .jupyter/lab/settings/overrides.json
# turns it (and the update check) off; news_url=None also stops the server from fetching news.
LAB_FLAGS = --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks/00_index.ipynb \
	--LabApp.app_settings_dir="$(CURDIR)/.jupyter/lab/settings" --LabApp.news_url=None \
	--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(ALLOW_ROOT) --ServerApp.ip=127.0.0.1
# What `make test` runs (pytest paths); narrow it to one notebook or one test file, e.g.
#   make test TESTS=notebooks/07_seeing_inside.ipynb     make test TESTS=tests/test_costs.py
# PYTEST_ARGS adds options to the same run (e.g. PYTEST_ARGS="-x -k receptive").
TESTS ?= tests notebooks
PYTEST_ARGS ?=
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600

.PHONY: help setup setup-lab lab test unit notebooks execute-notebooks browser-test benchmarks constraints clean

help:
	@echo "make lab                 set up .venv (first time) and open the course in JupyterLab"
	@echo "make test                set up .venv (first time) and run unit tests + every notebook (nbval)"
	@echo "make unit                the fast unit tests (no notebooks, none marked slow)"
	@echo "   TESTS=...             run only these paths, e.g. make test TESTS=notebooks/07_seeing_inside.ipynb"
	@echo "make execute-notebooks   rebuild notebooks/*.ipynb from notebooks/.src and re-execute them"
	@echo "make browser-test        every lesson in JupyterLab in headless Chromium (needs apt's chromium)"
	@echo "make benchmarks          run the speed/accuracy budgets in benchmarks/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else "Python >= 3.10 is needed; found " + sys.version.split()[0] + ". Run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

# One stamp per extra; pip re-runs when pyproject or the constraints change (a `git pull`).
# --no-build-isolation: course_utils is built with the setuptools already in .venv, so a re-run
# needs no network unless pyproject/constraints ask for a package or version .venv does not have.
PIP := $(BIN)/python -m pip install --disable-pip-version-check
OFFLINE_HINT := echo "Set-up could not install everything: the network (PyPI) is needed the first time, and again only when pyproject.toml or $(CONSTRAINTS) asks for a package or version that .venv does not have yet (see the lines above). Connect once and rerun." >&2; exit 1
define install_extra
	$(PIP) -c $(CONSTRAINTS) 'setuptools>=70.1' || { $(OFFLINE_HINT); }
	$(PIP) --no-build-isolation -c $(CONSTRAINTS) -e '.[$(1)]' || { $(OFFLINE_HINT); }
	touch $@
endef

$(VENV)/.lab-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(call install_extra,lab)

$(VENV)/.test-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(call install_extra,test)

setup-lab: $(VENV)/.lab-installed
setup: $(VENV)/.test-installed

lab: setup-lab
	@echo "Starting JupyterLab on the course index, notebooks/00_index.ipynb (no internet needed). Open the URL printed below."
	@# A notebook is trusted once its outputs were made here: JupyterLab then draws the saved widgets
	@# (untrusted outputs fall back to text such as `VBox(children=...)`).
	@$(BIN)/jupyter trust notebooks/*.ipynb > /dev/null
	$(BIN)/jupyter lab $(LAB_FLAGS) $(LAB_ARGS)

# The tests check the course as it runs on the 2-core CPU, the same on every machine:
# COURSE_OFFLINE=1: nothing is downloaded (course_utils.network), so lesson 08's opt-in online cells
# show their offline output, as stored; CUDA_VISIBLE_DEVICES= hides a GPU, so the notebooks compute
# what their stored outputs show (a GPU's float rounding differs). benchmarks/bench_cuda.py checks
# the CUDA paths (device choice, AMP, the checkpoints on the GPU) on a machine that has one.
TEST_ENV := COURSE_OFFLINE=1 CUDA_VISIBLE_DEVICES=

test: setup
	$(TEST_ENV) $(BIN)/python -m pytest $(TESTS) $(NBVAL_FLAGS) $(PYTEST_ARGS)

# The fast unit tests: no notebooks, none marked slow (`make test` runs those too).
# TESTS=tests/test_costs.py narrows them.
unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest $(if $(filter command line environment,$(origin TESTS)),$(TESTS),tests) -m "not slow" $(PYTEST_ARGS)

execute-notebooks: setup
	$(TEST_ENV) $(BIN)/python notebooks/.src/build.py --execute $(NOTEBOOKS)

# The lessons as a learner meets them, in JupyterLab in headless Chromium (tests/test_browser.py):
# needs the system's chromium (Debian: apt-get install chromium); never downloads a browser.
browser-test: setup
	$(TEST_ENV) BROWSER_TEST_REQUIRED=1 $(BIN)/python -m pytest tests/test_browser.py -v -s --durations=0 $(PYTEST_ARGS)

benchmarks: setup
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

constraints: setup
	{ head -2 $(CONSTRAINTS); $(BIN)/python -m pip freeze --exclude-editable | grep -v '^course'; } > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .pytest_cache
