"""The 12345 adapter's raw SQL (named statements) and its loads: orders, the case an order is handled as, the orders
of a case."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.hotline.domain import CallbackStatus
from intake_svc.hotline.tables import HotlineCallback, HotlineOrder
from intake_svc.tables import SCHEMA, Case
from shared.auth import Principal
from shared.problems import Problem

_DELIVERED = CallbackStatus.DELIVERED.value
_PENDING = CallbackStatus.PENDING.value

# nonces older than the cutoff can no longer be replayed (their timestamp is refused)
PURGE_NONCES = text(f"DELETE FROM {SCHEMA}.hotline_nonces WHERE seen_at < :c")

# callbacks owed, by status (the sender's gauge)
OWED = text(f"SELECT status, count(*) FROM {SCHEMA}.hotline_callbacks WHERE status <> '{_DELIVERED}' "
            "GROUP BY status")

# the first undelivered callback of every order, when it is due
DUE_HEADS = text(f"""
    SELECT id FROM (
        SELECT DISTINCT ON (client_id, order_no) id, status, next_attempt_at
        FROM {SCHEMA}.hotline_callbacks WHERE status <> '{_DELIVERED}'
        ORDER BY client_id, order_no, seq
    ) heads
    WHERE status = '{_PENDING}' AND next_attempt_at <= :now
    ORDER BY next_attempt_at LIMIT :limit
""")

# an earlier callback of the same order still owed (in order per order: this one waits)
EARLIER_OWED = text(f"SELECT 1 FROM {SCHEMA}.hotline_callbacks WHERE client_id = :c AND order_no = :o AND seq < :s "
                    f"AND status <> '{_DELIVERED}' LIMIT 1")


async def get_order(session: AsyncSession, client_id: str, order_no: str, *, for_update: bool = False) -> HotlineOrder:
    stmt = select(HotlineOrder).where(HotlineOrder.client_id == client_id, HotlineOrder.order_no == order_no)
    if for_update:  # read again under the lock, even when this session loaded the row before
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = (await session.execute(stmt)).scalar_one_or_none()
    if order is None:
        raise Problem(404, "order_not_found", f"no work order {order_no}")
    return order


async def order_in_scope(session: AsyncSession, order_no: str, user: Principal, client_id: str | None,
                         *, for_update: bool = False) -> HotlineOrder:
    """The order whose case the user may see (``client_id`` needed only when two platforms used the number);
    ``for_update``: the case handled for it locked first, then the order (the one lock order)."""
    stmt = select(HotlineOrder).where(HotlineOrder.order_no == order_no)
    if client_id:
        stmt = stmt.where(HotlineOrder.client_id == client_id)
    orders = list((await session.execute(stmt)).scalars())
    if len(orders) > 1:
        raise Problem(409, "order_ambiguous", f"several platforms sent an order {order_no}; pass client_id",
                      clients=sorted(o.client_id for o in orders))
    if not orders:
        raise Problem(404, "order_not_found", f"no work order {order_no} in your scope")
    order = orders[0]
    case = await session.get(Case, order.case_id) if order.case_id else None
    if case is None or not user.can_see(case.visible_units):
        raise Problem(404, "order_not_found", f"no work order {order_no} in your scope")
    if for_update:
        order, _ = await lock_order_and_case(session, order.client_id, order.order_no)
    return order


async def effective_case(session: AsyncSession, order: HotlineOrder) -> Case:
    """The case that is handled for this order, locked: its own, or the one it was linked to as a duplicate."""
    case_id = order.primary_case_id or order.case_id
    case = (await session.execute(select(Case).where(Case.id == case_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()
    if case is None:
        raise Problem(404, "order_not_found", f"work order {order.order_no} has no case")
    return case


async def lock_order_and_case(session: AsyncSession, client_id: str, order_no: str) -> tuple[HotlineOrder, Case]:
    """The order and the case handled for it, both locked in the one lock order of the code base: the case row
    first, then the order (intake's consumer locks the case of an event, then its orders: ``orders_of_case``).
    Which case an order is handled as is fixed when it is received, so it is read before the locks."""
    order = await get_order(session, client_id, order_no)
    case = await effective_case(session, order)
    return await get_order(session, client_id, order_no, for_update=True), case


async def orders_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[HotlineOrder, str | None]]:
    """The orders that became this case or were linked to it as duplicates, locked (the caller holds the case's
    lock: case first, then orders), with their case codes."""
    rows = (await session.execute(
        select(HotlineOrder, Case.code).join(Case, Case.id == HotlineOrder.case_id)  # type: ignore[arg-type]
        .where(or_(HotlineOrder.case_id == case_id, HotlineOrder.primary_case_id == case_id))
        .order_by(HotlineOrder.created_at).with_for_update(of=HotlineOrder)
    )).all()
    return [(order, code) for order, code in rows]


async def undelivered(session: AsyncSession, status: CallbackStatus, after_id: int | None,
                      limit: int) -> list[HotlineCallback]:
    """Callbacks in ``status``, oldest first, after the cursor's id."""
    stmt = select(HotlineCallback).where(HotlineCallback.status == status)
    if after_id is not None:
        stmt = stmt.where(HotlineCallback.id > after_id)  # type: ignore[operator]
    return list((await session.execute(stmt.order_by(HotlineCallback.id).limit(limit))).scalars())  # type: ignore[arg-type]
