"""Where the exporter keeps state files no config names (device tokens, auth digests, message caps)."""

from __future__ import annotations

import os

STATE_DIR_ENV = "OPENCLAW_EXPORTER_STATE_DIR"


def default_state_dir() -> str:
    """Where the exporter keeps state when `slo.state_file` does not say: $OPENCLAW_EXPORTER_STATE_DIR,
    else $XDG_STATE_HOME/openclaw-exporter, else ~/.local/state/openclaw-exporter."""
    if os.environ.get(STATE_DIR_ENV):
        return os.environ[STATE_DIR_ENV]
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "openclaw-exporter")
