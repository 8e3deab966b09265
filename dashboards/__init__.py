"""Grafana dashboards built with grafanalib."""
