"""openclaw-slo-exporter: probes an OpenClaw gateway and exports SLO-grade metrics."""

__version__ = "0.1.0"
