# openclaw-slo-exporter: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
DEB_PACKAGES := prometheus prometheus-alertmanager prometheus-blackbox-exporter chromium
PYTEST_ARGS ?=

.PHONY: deps deps-python deps-debian deps-gateway test e2e demo check generate clean

deps: deps-debian deps-python deps-gateway  ## install everything tests, demo and bench need

deps-debian:
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null || ! command -v prometheus-blackbox-exporter >/dev/null || ! command -v chromium >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES) >/dev/null; \
	fi

deps-python:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[test]"

deps-gateway:
	bash scripts/install-gateway.sh

test: deps  ## install what the tests need, then run every test (real gateway, Prometheus, promtool)
	$(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

e2e: deps  ## only the end-to-end chain: real gateway -> exporter -> Prometheus -> Alertmanager -> pager webhook
	$(PYTHON) -m pytest -q -s -p no:cacheprovider tests/test_e2e.py

demo: deps  ## a real local gateway plus the exporter against it, on http://127.0.0.1:9879/
	bash scripts/demo.sh

check:  ## validate the example config and check generated files are up to date
	$(PYTHON) -m exporter check --config.file examples/exporter.yml
	$(PYTHON) -m exporter slo generate --check
	$(PYTHON) -m exporter dashboards generate --check

generate:  ## rebuild the generated rule files and dashboards from their sources
	$(PYTHON) -m exporter slo generate
	$(PYTHON) -m exporter dashboards generate
	cp alerts/slo-prometheusrule.yml deploy/prometheusrule-slo.yaml
	cp alerts/openclaw-alerts-prometheusrule.yml deploy/prometheusrule-alerts.yaml

clean:
	rm -rf .pytest_cache build dist *.egg-info
include bench/bench.mk
