"""The prober table: module kind -> prober. The config's valid modules derive from it."""

from exporter.probes.base import Prober
from exporter.probes.message import PROBER as MESSAGE
from exporter.probes.model import PROBER as MODEL
from exporter.probes.readiness import PROBER as READINESS
from exporter.probes.storage import PROBER as STORAGE
from exporter.probes.websocket import PROBER as WEBSOCKET

PROBERS: dict[str, Prober] = {p.name: p for p in (READINESS, WEBSOCKET, MODEL, MESSAGE, STORAGE)}
