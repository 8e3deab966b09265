# openclaw-slo-exporter: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
DEB_PACKAGES := prometheus prometheus-alertmanager prometheus-blackbox-exporter
PYTEST_ARGS ?=

.PHONY: deps deps-python deps-debian deps-gateway test demo check generate lint clean

deps: deps-debian deps-python deps-gateway  ## install everything tests, demo and bench need

deps-debian:
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null || ! command -v prometheus-blackbox-exporter >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES) >/dev/null; \
	fi

deps-python:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[test]"

deps-gateway:
	bash scripts/install-gateway.sh

test: deps  ## install what the tests need, then run every test (real gateway, Prometheus, promtool)
	$(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: deps  ## a real local gateway plus the exporter against it, on http://127.0.0.1:9879/
	bash scripts/demo.sh

check:  ## validate the example config
	$(PYTHON) -m exporter check --config.file examples/exporter.yml

clean:
	rm -rf .pytest_cache build dist *.egg-info
