"""Contact data read from the services that own it (routing: staff; intake: applicants), never stored here."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import httpx

from notify_svc.adapters.channels import http_error
from notify_svc.settings import NotifySettings
from shared.auth import Role, mint_token


@dataclass(frozen=True)
class Contact:
    name: str | None
    phone: str | None


@dataclass(frozen=True)
class SessionNotice:
    """A session party's contact and the session's place (for the 调解通知), read from intake at send time."""

    contact: Contact
    place: str


class Contacts:
    """Reads contact data from the services that own it (routing: staff; intake: applicants)."""

    def __init__(self, settings: NotifySettings, routing: httpx.AsyncClient | None = None,
                 intake: httpx.AsyncClient | None = None) -> None:
        timeout = settings.contact_timeout_seconds
        self.routing = routing or httpx.AsyncClient(base_url=settings.routing_url, timeout=timeout)
        self.intake = intake or httpx.AsyncClient(base_url=settings.intake_url, timeout=timeout)
        self._settings = settings
        self._token: tuple[str, float] | None = None

    def _headers(self) -> dict[str, str]:
        if self._settings.service_token:
            return {"Authorization": f"Bearer {self._settings.service_token}"}
        if self._token is None or self._token[1] < time.time() + 60:
            ttl = 3600
            token = mint_token(self._settings, sub="svc-notify", roles=[Role.SERVICE], unit_id=None,
                               ttl_seconds=ttl)
            self._token = (token, time.time() + ttl)
        return {"Authorization": f"Bearer {self._token[0]}"}

    async def member(self, member_id: str) -> Contact:
        try:
            r = await self.routing.get(f"/api/v1/internal/members/{member_id}/contact", headers=self._headers())
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise http_error("routing member contact", exc) from exc
        body = r.json()
        return Contact(body.get("name"), body.get("phone"))

    async def applicant(self, case_id: uuid.UUID, purpose: str) -> Contact:
        try:
            r = await self.intake.post(f"/api/v1/internal/cases/{case_id}/applicant-contact",
                                       json={"purpose": purpose}, headers=self._headers())
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise http_error("intake applicant contact", exc) from exc
        body = r.json()
        return Contact(body.get("name"), body.get("phone"))

    async def session_party(self, case_id: uuid.UUID, session_id: str, party_id: str, purpose: str) -> SessionNotice:
        try:
            r = await self.intake.post(f"/api/v1/internal/cases/{case_id}/sessions/{session_id}/notice",
                                       json={"party_id": party_id, "purpose": purpose}, headers=self._headers())
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise http_error("intake session notice", exc) from exc
        body = r.json()
        return SessionNotice(Contact(None, body.get("phone")), body["place"])

    async def aclose(self) -> None:
        await self.routing.aclose()
        await self.intake.aclose()
