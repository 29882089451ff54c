"""12345 hotline API: signed endpoints for the platform, reconciliation and replies for staff."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import Deps, IntakeDeps
from intake_svc.hotline import contract, signing, store
from intake_svc.hotline.domain import CallbackStatus, MessageKind
from intake_svc.hotline.handlers import callbacks, messages, orders, reconciliation
from intake_svc.hotline.schemas import (
    CallbackPublic,
    MessageAnswer,
    OrderAccepted,
    OrderReconciliation,
    ReplyText,
    ResultTextPublic,
)
from shared.auth import CurrentUser, Principal, Role, current_principal, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.pagination import Page
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])

MAX_BODY = 256 * 1024
ORDER_NO = Annotated[str, Path(max_length=64, pattern=r"^[0-9A-Za-z\-]{4,64}$")]
SIGNED = {
    "description": "Signed with HMAC-SHA256 (see README): headers X-Hotline-Client, X-Hotline-Timestamp, "
                   "X-Hotline-Nonce, X-Hotline-Signature.",
    "responses": {401: {"description": "unknown client, bad or missing signature, stale timestamp"},
                  409: {"description": "replayed nonce"}, 422: {"description": "malformed body (names the field)"}},
}
STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


def _enabled(deps: IntakeDeps) -> IntakeDeps:
    if not deps.hotline.clients:
        raise Problem(404, "hotline_disabled", "no 12345 hotline client is configured")
    return deps


async def _signed_body(request: Request, session: AsyncSession, deps: IntakeDeps) -> tuple[str, bytes]:
    """The signed request's client and body; its nonce committed on its own, first (a replay is refused whatever
    happens to this request)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Problem(413, "payload_too_large", f"the body is larger than {MAX_BODY} bytes")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    async with pending.transaction(session):
        client_id = await orders.authenticate(session, deps.hotline, request.method, path, dict(request.headers),
                                              body)
    return client_id, body


ORDER_EXAMPLE = {
    "order_no": "12345-2026-318204", "received_at": "2026-11-01T08:41:15+08:00", "request_type": "投诉",
    "category_hint": "噪声扰民", "title": "楼上住户夜间持续发出噪音", "content": "市民来电反映……",
    "caller": {"name": "邵某", "phone": "13700001021", "callback_ok": True},
    "address": "青澜区鹭鸣街道松涛路18号松涛花园2号楼1单元402室", "deadline_days": 13, "urgency": "normal",
}


MESSAGE_EXAMPLES = {
    MessageKind.FEEDBACK: {"message_id": "HF-2026-000871", "result": "满意", "content": "市民表示问题已解决"},
    MessageKind.REDO: {"message_id": "HR-2026-000112", "content": "市民反映噪音仍未消除，请重新办理"},
    MessageKind.URGE: {"message_id": "HU-2026-000305", "content": "市民再次来电催促，请尽快处理"},
}
# the order and message schemas of every mapping (intake_svc/data/hotline_mappings/*.yaml): each client has one
_MAPPINGS = contract.load_all()


def _message_body(kind: MessageKind) -> dict[str, object]:
    return contract.request_body([contract.message_schema(m, kind.value) for m in _MAPPINGS], MESSAGE_EXAMPLES[kind])


@router.post("/orders", response_model=OrderAccepted, status_code=201, **SIGNED,  # type: ignore[arg-type]
             openapi_extra=contract.request_body([contract.order_schema(m) for m in _MAPPINGS], ORDER_EXAMPLE))
async def push_order(request: Request, session: SessionDep, deps: Deps) -> JSONResponse:
    """A 12345 work order (工单), in the client's city format. Becomes a case (channel ``hotline_12345``);
    idempotent on the order number: a re-push answers 200 with the same case."""
    client_id, body = await _signed_body(request, session, _enabled(deps))

    async def work() -> tuple[OrderAccepted, bool]:
        receipt = await orders.receive_order(session, deps, client_id, body)
        return OrderAccepted(order_no=receipt.order.order_no, case_id=receipt.case.id, case_code=receipt.case.code,
                             status=receipt.case.status, duplicate_of=receipt.case.duplicate_of,
                             repeated=not receipt.created), receipt.created

    answer, created = await pending.run(session, work)
    deps.hotline.wake_sender()
    return JSONResponse(jsonable_encoder(answer), status_code=201 if created else 200)


async def _message(request: Request, session: AsyncSession, deps: IntakeDeps, order_no: str,
                   kind: MessageKind) -> MessageAnswer:
    client_id, body = await _signed_body(request, session, _enabled(deps))

    async def work() -> MessageAnswer:
        receipt = await messages.receive_message(session, deps, client_id, order_no, kind, body)
        m = receipt.message
        return MessageAnswer(message_id=m.message_id, order_no=m.order_no, kind=m.kind, case_id=m.case_id,
                             outcome=m.outcome, repeated=receipt.repeated)

    return await pending.run(session, work)


@router.post("/orders/{order_no}/feedback", response_model=MessageAnswer, **SIGNED,
             openapi_extra=_message_body(MessageKind.FEEDBACK))  # type: ignore[arg-type]
async def platform_feedback(order_no: ORDER_NO, request: Request, session: SessionDep, deps: Deps) -> MessageAnswer:
    """回访 result from the platform (``{"message_id", "result": 满意|不满意|未联系上, "content"}``).
    Emits ``fq.case.feedback_received.v1`` with source ``hotline``."""
    return await _message(request, session, deps, order_no, MessageKind.FEEDBACK)


@router.post("/orders/{order_no}/redo", response_model=MessageAnswer, **SIGNED,
             openapi_extra=_message_body(MessageKind.REDO))  # type: ignore[arg-type]
async def platform_redo(order_no: ORDER_NO, request: Request, session: SessionDep, deps: Deps) -> MessageAnswer:
    """重办 order (``{"message_id", "content"}``): emits ``fq.case.reopen_requested.v1``; routing reopens the case."""
    return await _message(request, session, deps, order_no, MessageKind.REDO)


@router.post("/orders/{order_no}/urge", response_model=MessageAnswer, **SIGNED,
             openapi_extra=_message_body(MessageKind.URGE))  # type: ignore[arg-type]
async def platform_urge(order_no: ORDER_NO, request: Request, session: SessionDep, deps: Deps) -> MessageAnswer:
    """催办 (``{"message_id", "content"}``): on the timeline, and ``fq.case.urged.v1`` for notifying the assignee."""
    return await _message(request, session, deps, order_no, MessageKind.URGE)


@router.get("/orders/{order_no}", response_model=OrderReconciliation,
            responses={404: {"description": "unknown order or outside your scope"}})
async def reconcile(order_no: ORDER_NO, request: Request, session: SessionDep, deps: Deps,
                    client_id: Annotated[str | None, Query(max_length=64)] = None) -> OrderReconciliation:
    """Reconciliation (对账): the case, its status, every callback sent with every answer of the platform, and the
    platform's messages. For the platform (signed request: its own orders) or a street admin (bearer token)."""
    if request.headers.get(signing.CLIENT_HEADER):
        signed_client, _ = await _signed_body(request, session, _enabled(deps))
        order = await store.get_order(session, signed_client, order_no)
    else:
        user: Principal = await current_principal(request)
        if not user.has_any(Role.STREET_ADMIN, Role.ADMIN):
            raise Problem(403, "forbidden_role", "this action needs one of the roles: street_admin")
        order = await store.order_in_scope(session, order_no, user, client_id)
    return OrderReconciliation.model_validate(await reconciliation.reconciliation(session, order))


@router.get("/callbacks", response_model=Page[CallbackPublic], dependencies=[require_roles(Role.ADMIN)])
async def list_callbacks(session: SessionDep, status: Literal["pending", "failed"] = "failed",
                         cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Page[CallbackPublic]:
    """Callbacks not delivered, oldest first: ``failed`` ones (parked: an admin retries them) or ``pending`` ones
    (being retried with back-off)."""
    rows = await store.undelivered(session, CallbackStatus(status), int(cursor) if cursor else None, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[CallbackPublic.model_validate(c, from_attributes=True) for c in rows],
                next_cursor=str(rows[-1].id) if more else None)


@router.post("/orders/{order_no}/callbacks/{callback_id}/retry", response_model=CallbackPublic,
             dependencies=[require_roles(Role.ADMIN)])
async def retry_callback(order_no: ORDER_NO, callback_id: int, session: SessionDep, user: CurrentUser, deps: Deps,
                         client_id: Annotated[str | None, Query(max_length=64)] = None) -> CallbackPublic:
    """Send a failed callback again (a fresh round of attempts from now); 409 when it was delivered."""
    _enabled(deps)

    async def work() -> CallbackPublic:
        order = await store.order_in_scope(session, order_no, user, client_id)
        callback = await callbacks.retry_callback(session, deps, order, callback_id)
        return CallbackPublic.model_validate(callback, from_attributes=True)

    answer = await pending.run(session, work)
    deps.hotline.wake_sender()
    return answer


@router.post("/orders/{order_no}/progress", response_model=CallbackPublic, status_code=201, dependencies=[STAFF],
             responses={409: {"description": "order not accepted, or the same Idempotency-Key still in progress"},
                        422: {"description": "invalid body, or Idempotency-Key reused with another body"}})
async def add_progress(order_no: ORDER_NO, body: ReplyText, session: SessionDep, user: CurrentUser, deps: Deps,
                       idem: Idempotent,
                       client_id: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """阶段回复: a progress note from the handling staff, sent to the platform in turn (once per
    ``Idempotency-Key``)."""
    _enabled(deps)

    async def work() -> Answer:
        callback = await callbacks.add_progress(session, deps, order_no, client_id, body.text, user)
        await session.flush()
        return Answer(201, CallbackPublic.model_validate(callback, from_attributes=True))

    answer = await idem.run(session, work)
    deps.hotline.wake_sender()
    return answer


@router.put("/orders/{order_no}/result", response_model=ResultTextPublic, dependencies=[STAFF])
async def set_result_text(order_no: ORDER_NO, body: ReplyText, session: SessionDep, user: CurrentUser, deps: Deps,
                          client_id: Annotated[str | None, Query(max_length=64)] = None) -> ResultTextPublic:
    """The reply (办结回复) sent with the next 办结 callback; without one the outcome's standard wording is sent."""
    _enabled(deps)

    async def work() -> ResultTextPublic:
        order = await callbacks.set_result_text(session, order_no, client_id, body.text, user)
        return ResultTextPublic(order_no=order.order_no, result_text=order.result_text, phase=order.phase)

    return await pending.run(session, work)
