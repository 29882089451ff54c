"""The citizen's progress page: status and the public timeline, for a case code and the applicant's phone."""

from __future__ import annotations

import functools
import hmac
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import CaseStatus, PartyRole
from intake_svc.domain.timeline import STATUS_ZH
from intake_svc.handlers.notes import public_notes
from intake_svc.handlers.registration import aad
from intake_svc.schemas import PublicProgress, PublicTimelineItem
from intake_svc.store import cases as store
from shared.crypto import Sealer
from shared.problems import Problem


async def public_progress(session: AsyncSession, deps: IntakeDeps, code: str, phone_last4: str) -> PublicProgress:
    """Progress for the citizen: the same 404 for an unknown code and for a phone that does not match, after the
    same work, so the time of the answer does not tell that a code exists either: one query that returns one row
    whether or not the code exists (NULLs when it does not), and one decryption per applicant phone (a decoy
    phone's for an unknown code) compared in constant time."""
    row = await store.progress_row(session, code)
    if not _applicant_phone_ends_with(row.id, row.parties, deps, phone_last4):
        raise Problem(404, "case_not_found", "没有找到与案件编号和手机号后四位相符的案件")
    entries = await store.timeline(session, row.id, public_only=True)
    return PublicProgress(code=row.code, status=row.status, status_label=STATUS_ZH[CaseStatus(row.status)],
                          received_at=row.created_at, updated_at=row.updated_at,
                          timeline=[PublicTimelineItem(at=e.at, summary=e.summary) for e in entries],
                          notes=await public_notes(session, row.id))


_DECOY_CASE = uuid.UUID(int=0)


@functools.lru_cache(maxsize=4)
def _decoy_phone(pii: Sealer) -> str:
    return pii.seal("13800000000", aad(_DECOY_CASE))


def _applicant_phone_ends_with(case_id: uuid.UUID | None, parties: list[dict[str, Any]] | None, deps: IntakeDeps,
                               last4: str) -> bool:
    sealed = [(p["phone_sealed"], aad(case_id)) for p in parties or [] if case_id is not None
              and p["role"] == PartyRole.APPLICANT and p.get("phone_sealed")]
    decoy = not sealed
    if decoy:  # an unknown code (or no applicant phone): decrypt and compare all the same
        sealed = [(_decoy_phone(deps.pii), aad(_DECOY_CASE))]
    match = False
    for phone, sealed_to in sealed:  # no short cut: every applicant's phone is compared
        match |= hmac.compare_digest(deps.pii.open(phone, sealed_to)[-4:].encode(), last4.encode())
    return match and not decoy
