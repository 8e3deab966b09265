"""What probers keep between runs, owned by one exporter (or one `probe` command), not the process.

Two exporters in one process (the tests start many) must not share a daily completion budget,
a provider's Retry-After, a message turn count, a storage marker or what a gateway said about a
token; so this object is created by its owner, handed to every run (``ProbeRun.prober_state``)
and closed with it.
"""

from __future__ import annotations

from exporter.probes.gateway_client import AuthMemory, auth_digests_path
from exporter.probes.model_budget import ModelStates
from exporter.probes.model_provider import ProviderClients
from exporter.probes.message import MessageStates
from exporter.probes.storage import StorageStates


class ProberState:
    """The auth memory (gateway_client.py), the model probe's per-target budget and its HTTP
    clients, the message probe's per-target memory and the storage probe's per-path memory."""

    def __init__(self, auth: AuthMemory | None = None, model: ModelStates | None = None) -> None:
        self.auth = auth if auth is not None else AuthMemory()
        self.model = model if model is not None else ModelStates()
        self.provider_clients = ProviderClients()
        self.message = MessageStates()
        self.storage = StorageStates()

    def use_auth_file(self, state_file: str | None) -> None:
        """Persist the auth memory beside `slo.state_file` (or in the default state dir); a new
        path starts from what that file holds. Reads a file: call it off the event loop."""
        if auth_digests_path(state_file) != self.auth.path:
            self.auth = AuthMemory.for_state_file(state_file)

    async def aclose(self) -> None:
        await self.provider_clients.aclose()
