"""Grafana dashboards for the OpenClaw gateway, built with grafanalib.

One module per dashboard (``slo_overview``, ``gateway_probes``, ``model_endpoints``,
``kubernetes``, ``gateway_internals``), each with a ``build()`` returning a typed
``grafanalib.core.Dashboard``; ``style`` holds the house panels; ``build`` renders the
committed JSON and ConfigMap; ``cli`` adds ``dashboards generate [--out DIR] [--check]``.
"""
