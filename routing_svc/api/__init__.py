"""Routing's thin routers, one per resource: parse, authorize, open the transaction, call one handler, shape the
response."""

from __future__ import annotations

from fastapi import APIRouter

from routing_svc.api import (
    assignments,
    calendar,
    internal,
    lookback,
    me,
    org,
    people,
    responsibles,
    rules,
    tasks,
    work,
)

ROUTERS: list[APIRouter] = [assignments.router, work.router, org.router, rules.router, calendar.router, internal.router,
                            me.router, tasks.router, responsibles.router, lookback.router, people.router]
