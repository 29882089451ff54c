"""Intake's thin routers, one per resource: parse, authorize, open the transaction, call one handler, shape the
response. The 12345 adapter's router is ``intake_svc.hotline.api``."""

from __future__ import annotations

from fastapi import APIRouter

from intake_svc.api import agreements, attachments, case_file, cases, internal, notes, parties, public, search, sessions

ROUTERS: list[APIRouter] = [search.router, cases.router, case_file.router, public.router, internal.router, notes.router,
                            parties.router, attachments.router, sessions.router, agreements.router]
