"""The prober table: module kind -> prober, for exactly the config's module kinds
(exporter/settings/modules.py MODULES, the leaf the config types live in)."""

from exporter.probes.base import Prober
from exporter.probes.message import PROBER as MESSAGE
from exporter.probes.model import PROBER as MODEL
from exporter.probes.readiness import PROBER as READINESS
from exporter.probes.storage import PROBER as STORAGE
from exporter.probes.websocket import PROBER as WEBSOCKET
from exporter.settings.modules import MODULES

PROBERS: dict[str, Prober] = {p.name: p for p in (READINESS, WEBSOCKET, MODEL, MESSAGE, STORAGE)}

if list(PROBERS) != list(MODULES):  # a module without a prober (or settings) is a programming error
    raise ImportError(f"prober table {list(PROBERS)} does not match the config's modules {list(MODULES)}")
