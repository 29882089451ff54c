"""调解 sessions (调解记录): schedule one (time, place, mediators, the parties and forces present), record its minutes
and result, 改期 to a new time; each on the staff timeline. Scheduling and 改期 publish ``fq.case.session_scheduled.v1``
(ids and the time only: the place, names and phones stay here; notify reads what the SMS needs through the internal
API, access-logged). The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import TimelineKind
from intake_svc.domain.sessions import RESULT_ZH, SessionResult, SessionStatus, status_after, unknown_ids
from intake_svc.domain.textscan import mask_text
from intake_svc.domain.timeline import local_time
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.parties import party_position
from intake_svc.handlers.registration import aad
from intake_svc.schemas_sessions import NoticeRequest, SessionCreate, SessionNotice, SessionPublic, SessionUpdate
from intake_svc.store import cases as case_store
from intake_svc.store import sessions as store
from intake_svc.tables import Case, PiiAccess
from intake_svc.tables_sessions import MediationSession
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.dictionaries import FORCE
from shared.events import SessionScheduled
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)


def to_public(s: MediationSession) -> SessionPublic:
    result = SessionResult(s.result) if s.result else None
    return SessionPublic(id=s.id, case_id=s.case_id, scheduled_at=s.scheduled_at, place=s.place_masked,
                         mediators=list(s.mediators), parties_present=[uuid.UUID(p) for p in s.parties_present],
                         forces_present=list(s.forces_present), forces_labels=[FORCE[f] for f in s.forces_present],
                         status=SessionStatus(s.status), result=result,
                         result_label=RESULT_ZH[result] if result else None, minutes=s.minutes_masked,
                         previous_times=list(s.previous_times), created_by=s.created_by, created_at=s.created_at,
                         updated_at=s.updated_at, version=s.version)


def _check_parties(case: Case, party_ids: list[uuid.UUID]) -> list[str]:
    """The ids as stored; 422 naming ``parties_present.<i>`` for an id that is no party of the case."""
    given = [str(p) for p in party_ids]
    bad = unknown_ids(given, {str(p.get("id")) for p in case.parties})
    if bad:
        raise field_problem(f"parties_present.{bad[0]}", f"{given[bad[0]]} is not a party of this case",
                            "unknown_party")
    return given


async def _announce(session: AsyncSession, deps: IntakeDeps, case: Case, s: MediationSession, user: Principal, *,
                    notify: bool, rescheduled: bool) -> None:
    await add_event(session, SessionScheduled(
        case_id=case.id, at=deps.clock.now(), session_id=s.id, case_code=case.code, scheduled_at=s.scheduled_at,
        party_ids=[uuid.UUID(p) for p in s.parties_present], notify_parties=notify, rescheduled=rescheduled,
        scheduled_by=user.sub), source=deps.source)


async def schedule(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: SessionCreate,
                   user: Principal) -> MediationSession:
    case = await get_case_in_scope(session, case_id, user)
    parties = _check_parties(case, body.parties_present)
    now = deps.clock.now()
    s = MediationSession(case_id=case.id, scheduled_at=body.scheduled_at.astimezone(UTC),
                         place_sealed=deps.pii.seal(body.place, aad(case.id)), place_masked=mask_text(body.place),
                         mediators=list(body.mediators), parties_present=parties,
                         forces_present=list(body.forces_present), status=SessionStatus.SCHEDULED.value,
                         previous_times=[], created_by=user.sub, unit_id=user.unit_id, created_at=now,
                         updated_at=now, version=1)
    session.add(s)
    await session.flush()
    case_store.add_timeline(session, case.id, now, TimelineKind.SESSION_SCHEDULED,
                            f"安排调解（{local_time(body.scheduled_at)}）", actor=user.sub, public=False,
                            data={"session_id": str(s.id), "scheduled_at": s.scheduled_at.isoformat(),
                                  "parties_present": parties, "forces_present": list(body.forces_present),
                                  "notify_parties": body.notify_parties})
    await _announce(session, deps, case, s, user, notify=body.notify_parties, rescheduled=False)
    return s


async def _in_scope(session: AsyncSession, case_id: uuid.UUID, session_id: uuid.UUID, user: Principal, *,
                    for_update: bool = False) -> tuple[Case, MediationSession]:
    case = await get_case_in_scope(session, case_id, user)
    found = await store.load_session(session, case_id, session_id, for_update=for_update)
    if found is None:
        raise Problem(404, "session_not_found", f"no session {session_id} on this case")
    return case, found


async def get_session(session: AsyncSession, case_id: uuid.UUID, session_id: uuid.UUID,
                      user: Principal) -> MediationSession:
    return (await _in_scope(session, case_id, session_id, user))[1]


async def list_sessions(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[MediationSession]:
    await get_case_in_scope(session, case_id, user)
    return await store.sessions(session, case_id)


async def update(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, session_id: uuid.UUID,
                 body: SessionUpdate, user: Principal, if_match: int) -> MediationSession:
    """Minutes, result, 改期 (``rescheduled_to`` with result rescheduled), or who was there."""
    case, s = await _in_scope(session, case_id, session_id, user, for_update=True)
    check_version(s.version, if_match, "session")
    rescheduling = body.result == SessionResult.RESCHEDULED
    if rescheduling and body.rescheduled_to is None:
        raise field_problem("rescheduled_to", "改期 needs the new time", "required")
    if body.rescheduled_to is not None and not rescheduling:
        raise field_problem("rescheduled_to", "a new time goes with result rescheduled only", "not_allowed")
    if body.notify_parties and not rescheduling:
        raise field_problem("notify_parties", "the parties are told of a new time: with result rescheduled only",
                            "not_allowed")
    now = deps.clock.now()
    fields = sorted(body.model_fields_set - {"notify_parties"})
    if body.parties_present is not None:
        s.parties_present = _check_parties(case, body.parties_present)
    if body.forces_present is not None:
        s.forces_present = list(body.forces_present)
    if body.mediators is not None:
        s.mediators = list(body.mediators)
    if body.place is not None:
        s.place_sealed, s.place_masked = deps.pii.seal(body.place, aad(case.id)), mask_text(body.place)
    if body.minutes is not None:
        s.minutes_sealed, s.minutes_masked = deps.pii.seal(body.minutes, aad(case.id)), mask_text(body.minutes)
    if body.result is not None:
        s.result = body.result.value
        s.status = status_after(body.result).value
    if rescheduling:
        assert body.rescheduled_to is not None
        s.previous_times = [*s.previous_times, s.scheduled_at]
        s.scheduled_at = body.rescheduled_to.astimezone(UTC)
    s.updated_at, s.version = now, s.version + 1
    if rescheduling:
        case_store.add_timeline(session, case.id, now, TimelineKind.SESSION_RESCHEDULED,
                                f"调解改期至 {local_time(s.scheduled_at)}", actor=user.sub, public=False,
                                data={"session_id": str(s.id), "scheduled_at": s.scheduled_at.isoformat(),
                                      "notify_parties": body.notify_parties})
        await _announce(session, deps, case, s, user, notify=body.notify_parties, rescheduled=True)
    else:
        summary = f"调解结果：{RESULT_ZH[body.result]}" if body.result else "更新调解记录"
        case_store.add_timeline(session, case.id, now, TimelineKind.SESSION_RECORDED, summary, actor=user.sub,
                                public=False, data={"session_id": str(s.id), "fields": fields,
                                                    "result": s.result, "version": s.version})
    return s


async def notice(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, session_id: uuid.UUID,
                 body: NoticeRequest, user: Principal) -> SessionNotice:
    """What notify needs for one party's 调解通知 — the party's phone and the session's place — opened for
    ``body.purpose`` and written to the case's access log (a service reads here, like the applicant's contact)."""
    case = await case_store.load_case(session, case_id)
    found = await store.load_session(session, case_id, session_id) if case is not None else None
    if case is None or found is None:
        raise Problem(404, "session_not_found", f"no session {session_id} on case {case_id}")
    at = party_position(case, body.party_id)
    if at is None or str(body.party_id) not in found.parties_present:
        raise Problem(404, "party_not_found", f"{body.party_id} is not a party of this session")
    sealed_to = aad(case.id)
    phone_sealed = case.parties[at].get("phone_sealed")
    phone = deps.pii.open(phone_sealed, sealed_to) if phone_sealed else None
    fields = ["place", *(["phone"] if phone else [])]
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=body.purpose, fields=fields, at=deps.clock.now()))
    log.info("session_notice_read", case_id=str(case.id), session_id=str(found.id), by=user.sub)
    return SessionNotice(case_id=case.id, session_id=found.id, party_id=body.party_id, phone=phone,
                         scheduled_at=found.scheduled_at, place=deps.pii.open(found.place_sealed, sealed_to),
                         status=SessionStatus(found.status))
