"""Grafana dashboards for the OpenClaw gateway, built with grafanalib.

One module per dashboard (``slo_overview``, ``gateway_probes``, ``model_endpoints``,
``kubernetes``, ``gateway_internals``), each with a ``build()`` returning a typed
``grafanalib.core.Dashboard`` from the monitoring config (slo/monitoring.py: the alert
thresholds colour the panels); ``style`` holds the house panels; ``build`` renders the JSON
and ConfigMap that ``openclaw-exporter generate`` (mixin/pipeline.py) writes.
"""
