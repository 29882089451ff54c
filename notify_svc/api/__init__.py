"""Notify's routers, one module per resource."""

from __future__ import annotations

from notify_svc.api import deliveries, inbox, rules, surveys, targets, templates

# the order of the OpenAPI document: the caller's inbox, the admin resources, the public survey, its page
ROUTERS = [inbox.router, deliveries.router, templates.router, rules.router, targets.router, surveys.router,
           surveys.page_router]
