# `make bench`: this exporter vs blackbox_exporter on this machine (< 10 min; see docs/benchmarks.md).
# Included by the main Makefile, which sets PYTHON to the project virtualenv's interpreter and
# provides deps-python. Needs Debian's prometheus and prometheus-blackbox-exporter and the
# gateway from scripts/install-gateway.sh (its cache: OPENCLAW_CACHE, default .cache/openclaw).
PYTHON ?= .venv/bin/python

.PHONY: bench bench-quick

bench: deps-python  ## measure CPU per probe, scale, accuracy; print the table and write docs/benchmarks.md
	$(PYTHON) bench/run.py

bench-quick: deps-python  ## a short functional pass of the harness (figures not meaningful), output in /tmp
	$(PYTHON) bench/run.py --quick --out /tmp/benchmarks-quick.md
