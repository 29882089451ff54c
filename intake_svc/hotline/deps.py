"""What the 12345 adapter's handlers share (a part of ``IntakeDeps``, built once in ``app.create_app``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from intake_svc.hotline.config import HotlineClient
from intake_svc.hotline.mapping import HotlineMapping
from shared.clock import Clock


def _nothing() -> None:
    return None


@dataclass
class HotlineDeps:
    clock: Clock
    clients: dict[str, HotlineClient]
    mappings: dict[str, HotlineMapping]  # by client id
    source: str
    skew_seconds: int = 300
    # the callback sender's wake-up once it is built (a route that owed the platform a callback calls it)
    wake_sender: Callable[[], None] = _nothing

    def client(self, client_id: str) -> HotlineClient:
        return self.clients[client_id]

    def mapping(self, client_id: str) -> HotlineMapping:
        return self.mappings[client_id]


def load_mappings(clients: dict[str, HotlineClient]) -> dict[str, HotlineMapping]:
    loaded: dict[str, HotlineMapping] = {}
    by_client = {}
    for client_id, client in clients.items():
        if client.mapping not in loaded:
            loaded[client.mapping] = HotlineMapping.load(client.mapping)
        by_client[client_id] = loaded[client.mapping]
    return by_client
