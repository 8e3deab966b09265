# openclaw-slo-exporter: the two commands a newcomer needs are `make demo` and `make test`.
# Everything Python runs in the project virtualenv .venv (git-ignored), never in the system's
# or pyenv's python3: Debian's python3 refuses `pip install` (PEP 668), and elsewhere a global
# install would upgrade unrelated packages.
# The interpreter that creates .venv (any python3 >= 3.11); nothing is installed into it.
BOOTSTRAP_PYTHON ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
# Marks a finished install of this package and its test extra into .venv; redone only when
# pyproject.toml changes (a failed install leaves no stamp, so the next run retries).
VENV_STAMP := $(VENV)/.installed-openclaw-slo-exporter
DEB_PACKAGES := prometheus prometheus-alertmanager prometheus-blackbox-exporter chromium iproute2
PYTEST_ARGS ?=

.PHONY: deps deps-python deps-debian deps-gateway test e2e demo check generate clean

deps: deps-debian deps-python deps-gateway  ## install everything tests, demo and bench need

# Debian's python3 needs python3-venv for `python3 -m venv` (without it ensurepip is missing).
deps-debian:
	@missing=""; \
	for tool in promtool prometheus-alertmanager prometheus-blackbox-exporter chromium ip; do \
	  command -v $$tool >/dev/null || missing=yes; \
	done; \
	pkgs="$(DEB_PACKAGES)"; \
	if ! $(BOOTSTRAP_PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then missing=yes; pkgs="$$pkgs python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing Debian packages; as root run: apt-get install --no-install-recommends $$pkgs" >&2; exit 1; \
	  fi; \
	  echo "apt-get install $$pkgs"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null; \
	fi

deps-python: $(VENV_STAMP)  ## this package with its test extra, in .venv

$(PYTHON):
	@$(BOOTSTRAP_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "$(BOOTSTRAP_PYTHON) is older than 3.11: run make BOOTSTRAP_PYTHON=python3.11 (or newer)" >&2; exit 1; }
	@$(BOOTSTRAP_PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	  { echo "$(BOOTSTRAP_PYTHON) cannot create a virtualenv: on Debian run 'apt-get install python3-venv' (make deps-debian does, as root)" >&2; exit 1; }
	$(BOOTSTRAP_PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }  # no half-made venv left to reuse

$(VENV_STAMP): pyproject.toml | $(PYTHON)
	@echo "installing this package and its test extra into $(VENV) (about a minute the first time)"
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[test]"
	@touch $@

deps-gateway:
	bash scripts/install-gateway.sh

test: deps  ## install what the tests need, then run every test (real gateway, Prometheus, promtool)
	$(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

e2e: deps  ## only the end-to-end chain: real gateway -> exporter -> Prometheus -> Alertmanager -> pager webhook
	$(PYTHON) -m pytest -q -s -p no:cacheprovider tests/test_e2e.py

demo: deps  ## a real local gateway plus the exporter against it, on http://127.0.0.1:9879/ (WITH_MESSAGE=1: plus the message probe and a stub provider)
	WITH_MESSAGE=$(WITH_MESSAGE) PYTHON=$(PYTHON) bash scripts/demo.sh

check: deps-python  ## lint and type-check, validate the example config, check generated files are up to date
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m exporter check --config.file examples/exporter.yml
	$(PYTHON) -m exporter generate --check

generate: deps-python  ## rebuild the rules, alerts, dashboards and their deploy/ copies from the monitoring config
	$(PYTHON) -m exporter generate

clean:  ## remove build output (keeps .venv and the gateway cache; rm -rf .venv .cache for those)
	rm -rf .pytest_cache build dist *.egg-info
include bench/bench.mk
