"""The generator layer above slo/ and dashboards/: one command writes (or checks) every
generated artefact from the one monitoring config (slo/monitoring.py).

File names follow the monitoring-mixin convention kube-prometheus users know
(`prometheus_rules.yaml`, `prometheus_alerts.yaml`, `dashboards_out/`); see pipeline.py.
"""
