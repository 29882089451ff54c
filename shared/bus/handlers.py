"""The one signature of a consumer's handler, and how a service's event map binds to the consumer.

Every service's ``consumers.py`` is a map from event class to handler (or handlers, run in order in the same
transaction), and nothing else::

    CONSUMERS: Consumers[RoutingDeps] = {CaseReceived: routing.on_case_received, ...}

A handler is ``async def on_case_received(ctx: EventContext[RoutingDeps], event: CaseReceived) -> None``: the
consumer's session (the entry point owns its transaction: a handler never commits), the event's envelope and the
service's deps. Rows a handler wants written once per batch go through ``shared.bus.pending``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Envelope, Event

D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class EventContext(Generic[D]):
    session: AsyncSession
    env: Envelope
    deps: D


# Handler[D] takes the context and the decoded event; the event's type is the key it is registered under
Handler = Callable[[EventContext[D], Any], Awaitable[None]]
Consumers = Mapping[type[Event], "Handler[D] | Sequence[Handler[D]]"]
# what the consumer calls: (session, event, envelope)
Bound = Callable[[AsyncSession, Event, Envelope], Awaitable[None]]


def bind(consumers: Mapping[type[Event], Any], deps: Any) -> dict[str, Bound]:
    """The consumer's ``ce_type → callable`` map: each event type's handlers, in order, with the deps bound."""
    bound: dict[str, Bound] = {}
    for event_cls, handler in consumers.items():
        chain: tuple[Handler[Any], ...] = tuple(handler) if isinstance(handler, Sequence) else (handler,)

        async def run(session: AsyncSession, event: Event, env: Envelope, _chain: tuple[Handler[Any], ...] = chain
                      ) -> None:
            ctx = EventContext(session, env, deps)
            for h in _chain:
                await h(ctx, event)

        bound[event_cls.ce_type] = run
    return bound


def merge(*maps: Mapping[type[Event], Any]) -> dict[type[Event], tuple[Handler[Any], ...]]:
    """Several event maps in one (e.g. intake's and its 12345 adapter's): for an event type both handle, the
    handlers of the earlier map run first, in the same transaction."""
    out: dict[type[Event], tuple[Handler[Any], ...]] = {}
    for m in maps:
        for event_cls, handler in m.items():
            chain = tuple(handler) if isinstance(handler, Sequence) else (handler,)
            out[event_cls] = (*out.get(event_cls, ()), *chain)
    return out
