"""Tell an infrastructure failure (database or broker unreachable, connection lost, contention) from a bug or bad data.

One rule for the whole code base: consumers retry an infrastructure failure without limit instead of counting it
toward the dead-letter attempts, and the HTTP handlers answer it with 503 ``database_unavailable`` and
``Retry-After`` instead of 500. Everything else (a constraint violated, bad input, a handler's own exception, a
statement cancelled by ``statement_timeout``) is the message's or the code's fault and is not retried forever.
"""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc as sa_exc
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

# SQLSTATEs of failures that go away by themselves: a retry of the same transaction may succeed.
_TRANSIENT_SQLSTATES = frozenset({
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
})
_TRANSIENT_SQLSTATE_PREFIXES = (
    "08",   # connection exception: connection does not exist, failure, rejected
    "53",   # insufficient resources: too many connections, out of memory, disk full
    "57P",  # operator intervention: admin/crash shutdown, cannot connect now (starting up), database dropped
    "58",   # system error: I/O error
)


def _sqlstate(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return code if isinstance(code, str) else None


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``.orig``, ``__cause__`` and ``__context__``, each once."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < 20:
        e = todo.pop(0)
        if any(e is seen for seen in out):
            continue
        out.append(e)
        for nxt in (getattr(e, "orig", None), e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return out


def _one_is_infrastructure(e: BaseException) -> bool:
    if isinstance(e, asyncpg.DataError):  # a query argument of the wrong type: the caller's bug
        return False
    code = _sqlstate(e)
    if code is not None and (code in _TRANSIENT_SQLSTATES or code.startswith(_TRANSIENT_SQLSTATE_PREFIXES)):
        return True
    if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, (sa_exc.OperationalError, sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True  # sa_exc.TimeoutError: no pooled connection within pool_timeout
    if isinstance(e, (sa_exc.InterfaceError, asyncpg.InterfaceError)):
        # "connection is closed", "connection was closed in the middle of operation"; not the interface
        # misuses ("another operation is in progress", a wrong number of arguments), which are bugs
        return "connection" in str(e).lower()
    if isinstance(e, asyncpg.PostgresConnectionError):
        return True
    if isinstance(e, OSError):  # refused, reset, unreachable, DNS, TimeoutError (connect or pool timeouts)
        return True
    if isinstance(e, (KafkaConnectionError, KafkaTimeoutError)):
        return True
    return isinstance(e, KafkaError) and bool(getattr(e, "retriable", False))


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the database or the broker is unreachable or busy, not that the
    work itself is wrong: retry it later, do not blame the message or the request."""
    causes = _causes(exc)
    if any(isinstance(e, asyncpg.DataError) for e in causes):
        return False
    return any(_one_is_infrastructure(e) for e in causes)


_CONTENTION_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_contention(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) is a deadlock or a serialization failure: PostgreSQL rolled the
    transaction back to let another one through, and running the same transaction again is expected to succeed."""
    return any(_sqlstate(e) in _CONTENTION_SQLSTATES for e in _causes(exc))


def error_class(exc: BaseException) -> str:
    """A short name of the failure for /readyz and logs (never the message: it may quote data)."""
    for e in _causes(exc):
        if isinstance(e, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, KafkaError)):
            code = _sqlstate(e)
            return f"{type(e).__name__}({code})" if code else type(e).__name__
    return type(exc).__name__


def is_unstorable_value(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says a value could not be stored or compared: asyncpg could not encode a
    query argument (an integer beyond its column's range), or PostgreSQL raised a data exception (SQLSTATE class
    22: NUL in text, a string too long, an invalid text representation) — bad input the edge let through, not a
    failure of ours. Division by zero (22012) stays a bug."""
    for e in _causes(exc):
        if isinstance(e, asyncpg.DataError):
            return True
        code = _sqlstate(e)
        if code is not None and code.startswith("22") and code != "22012":
            return True
    return False
