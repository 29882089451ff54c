"""A bounded soak under faults: `make chaos` (5 minutes) or `python -m bench.chaos --seconds 75`.

It starts its own stack (`python -m services up`, two replicas of every service, embedded PostgreSQL and broker, a
var dir and ports of its own, loopback only), plays a 12345 platform (an in-process `services.hotline_sim`
receiving and recording every callback; orders and 回访/重办 sent by this process, signed), and for ``--seconds``
drives walk-in cases (POST /cases with an Idempotency-Key, retried on 5xx and connection errors), 12345 orders and
workflow actions (accept, escalate, extend + approve, resolve, 回访 satisfied and unsatisfied, 重办, merges) while
it kills -9 and SIGSTOPs random replicas, restarts the broker (amnesia) and stops PostgreSQL for 15–30 s. Every
request it sends and every answer is written to its ledger. Then it drains (outboxes empty, consumer lag 0,
callbacks delivered; with a deadline) and checks the invariants against the ledger, reading the services' APIs and
their schemas (read-only). It prints one row per invariant (checked, lost, doubled, wrong, stuck) and exits 1 on
any violation. Everything it starts it stops; nothing outlives ``--seconds`` + the drain deadline + start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.embedded import free_port
from services.hotline_sim import Config as SimConfig
from services.hotline_sim import Simulator, sign_headers
from services.registry import ROOT
from shared.auth import Role, mint_token
from shared.settings import ServiceSettings

SERVICE_NAMES = ("intake", "routing", "notify", "analytics", "intake-events")
LIVE = ("assigned", "accepted", "suspended")
CLIENT_ID, SECRET, CALLBACK_SECRET = "chaos-12345", "chaos-hotline-secret", "chaos-hotline-callback-secret"
SURNAMES = "耿蔺阙綦寇禚郇麹"
GIVEN = "翀彧晗珺瑾璇琮琰翊骐骥"
RETRY = (500, 502, 503, 504)


def say(msg: str) -> None:
    print(msg, flush=True)


# --- the ledger --------------------------------------------------------------------------------------------------


@dataclass
class Action:
    case_id: str
    name: str  # accept | escalate | extend | approve | resolve | feedback | merge | platform_feedback | redo
    outcome: str  # ok | ambiguous (failed, then refused as already done) | refused | lost (never answered)
    status: int | None = None
    detail: str = ""


@dataclass
class CaseRec:
    key: str  # Idempotency-Key or order number
    kind: str  # walk_in | hotline
    case_id: str | None = None
    duplicate_of: str | None = None
    merged_into: str | None = None
    answers: set[str] = field(default_factory=set)
    plan: str = ""
    final: str = "open"  # what the ledger expects at the end: open | resolved | closed | merged | reopened
    maybe: str | None = None  # the end state if the last action, answered ambiguously, took effect


@dataclass
class Ledger:
    run: str
    cases: dict[str, CaseRec] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    unanswered: list[str] = field(default_factory=list)
    pii: set[str] = field(default_factory=set)
    faults: Counter[str] = field(default_factory=Counter)
    fault_log: list[str] = field(default_factory=list)

    def count(self, case_id: str, name: str, outcomes: tuple[str, ...]) -> int:
        return sum(1 for a in self.actions if a.case_id == case_id and a.name == name and a.outcome in outcomes)


# --- the stack ---------------------------------------------------------------------------------------------------


def _ports_free(ports: list[int]) -> bool:
    for p in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def _pick_ports(step: int) -> dict[str, int]:
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 50000, 20)
        ports = {"INTAKE": base + 1, "ROUTING": base + 2, "NOTIFY": base + 3, "ANALYTICS": base + 4,
                 "EVENTS": base + 11, "PG": base + 12, "BROKER": base + 13}
        wanted = [*ports.values(), *(p + step for k, p in ports.items() if k not in ("PG", "BROKER"))]
        if _ports_free(wanted):
            return ports
    raise RuntimeError("no free port range found")


class Stack:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.step = 100
        self.ports = _pick_ports(self.step)
        self.sim_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = var_dir / "logs" / "stack-runner.log"
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") and not k.startswith(("FQ_STACK_", "INTAKE_",
                                                                                            "ROUTING_", "NOTIFY_",
                                                                                            "ANALYTICS_"))}
        env.update({f"{n}_PORT": str(self.ports[n]) for n in ("INTAKE", "ROUTING", "NOTIFY", "ANALYTICS")})
        env.update(FQ_STACK_VAR_DIR=str(var_dir), FQ_STACK_PG_PORT=str(self.ports["PG"]),
                   FQ_STACK_BROKER_PORT=str(self.ports["BROKER"]),
                   FQ_STACK_INTAKE_EVENTS_PORT=str(self.ports["EVENTS"]),
                   FQ_STACK_REPLICAS="2", FQ_STACK_REPLICA_PORT_STEP=str(self.step),
                   FQ_STACK_RESTART_BACKOFF_SECONDS="0.5", FQ_STACK_RESTART_BACKOFF_MAX_SECONDS="4",
                   NOTIFY_ROUTING_URL=f"http://127.0.0.1:{self.ports['ROUTING']}",
                   NOTIFY_INTAKE_URL=f"http://127.0.0.1:{self.ports['INTAKE']}",
                   INTAKE_HOTLINE_CLIENTS=json.dumps({CLIENT_ID: {
                       "secret": SECRET, "callback_secret": CALLBACK_SECRET,
                       "callback_url": f"http://127.0.0.1:{self.sim_port}/callbacks", "mapping": "qinglan",
                       "unit_id": "S1"}}))
        self.env = env

    def url(self, name: str, replica: int = 1) -> str:
        port = self.ports["EVENTS" if name == "intake-events" else name.upper()]
        return f"http://127.0.0.1:{port + (replica - 1) * self.step}"

    def urls(self, name: str) -> list[str]:
        return [self.url(name, 1), self.url(name, 2)]

    def start(self, timeout: float = 300) -> None:
        (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "services", "up"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready. Ctrl-C stops everything." in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"the stack did not start; see {self.log}")
            time.sleep(0.5)
        raise RuntimeError(f"the stack was not ready after {timeout:.0f} s; see {self.log}")

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.var_dir / "stack.json").read_text()))

    def pids(self) -> dict[str, int]:
        return {n: int(p) for n, p in self.state()["pids"].items() if p}

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['PG']}/fengqiao"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['BROKER']}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# --- HTTP with retries -------------------------------------------------------------------------------------------


class Client:
    def __init__(self, ledger: Ledger, request_deadline: float) -> None:
        self.ledger = ledger
        self.deadline = request_deadline
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=3.0))
        self.sem = asyncio.Semaphore(24)

    async def send(self, label: str, method: str, urls: list[str], path: str, *, headers: dict[str, str] | None = None,
                   body: bytes | None = None, sign: bool = False,
                   retry_on: tuple[int, ...] = RETRY) -> tuple[httpx.Response | None, bool]:
        """(the last answer, or None when none came before the deadline; whether an earlier attempt failed)."""
        self.ledger.requests[label] += 1
        failed = False
        end = time.monotonic() + self.deadline
        pause = 0.2
        while True:
            url = random.choice(urls)
            h = dict(headers or {})
            if body is not None:
                h["Content-Type"] = "application/json"
            if sign:
                h.update(sign_headers(CLIENT_ID, SECRET, method, path, body or b""))
            try:
                async with self.sem:
                    r = await self.http.request(method, url + path, headers=h, content=body)
                if r.status_code not in retry_on:
                    return r, failed
            except httpx.TransportError:
                pass
            failed = True
            if time.monotonic() + pause > end:
                return None, failed
            await asyncio.sleep(pause)
            pause = min(pause * 1.7, 3.0)


# --- the load ----------------------------------------------------------------------------------------------------


def _auth(settings: ServiceSettings, role: Role, unit: str | None, sub: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(settings, sub=sub, roles=[role], unit_id=unit,
                                                    ttl_seconds=6 * 3600)}


class Load:
    def __init__(self, stack: Stack, ledger: Ledger, client: Client, seed: int) -> None:
        self.stack, self.ledger, self.client = stack, ledger, client
        self.rng = random.Random(seed)
        settings = ServiceSettings()
        self.operator = _auth(settings, Role.OPERATOR, "S1", "chaos-operator")
        self.street = _auth(settings, Role.STREET_ADMIN, "S1", "U-S1-1")
        self.admin = _auth(settings, Role.ADMIN, None, "chaos-admin")
        self.open_primaries: list[CaseRec] = []
        self.lives: list[asyncio.Task[None]] = []
        self.seq = 0

    def _person(self) -> tuple[str, str, str]:
        self.seq += 1
        name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(2)) + \
            "甲乙丙丁戊己庚辛壬癸"[self.seq % 10]
        phone = f"13{self.rng.randrange(10**9):09d}"
        address = f"鹭鸣街道混沌路{self.ledger.run}-{self.seq}号"
        self.ledger.pii.update({name, phone, address})
        return name, phone, address

    # walk-ins ---------------------------------------------------------------------------------------------------

    async def walk_in(self, i: int) -> None:
        key = f"chaos-{self.ledger.run}-w{i}"
        name, phone, address = self._person()
        grid = f"G{self.rng.randrange(1, 13):02d}"
        body = {"channel": "walk_in", "request_type": "dispute", "category": "neighbor.water", "title": "楼上漏水",
                "description": f"楼上卫生间漏水到我家天花板，协商无果，请求调解。编号{key}",
                "location": {"grid_id": grid, "address": address},
                "parties": [{"role": "applicant", "name": name, "phone": phone}]}
        rec = CaseRec(key=key, kind="walk_in")
        self.ledger.cases[key] = rec
        r, _ = await self.client.send("POST /cases", "POST", self.stack.urls("intake"), "/api/v1/cases",
                                      headers={**self.operator, "Idempotency-Key": key},
                                      body=json.dumps(body, ensure_ascii=False).encode(), retry_on=(*RETRY, 409))
        if r is None or r.status_code not in (200, 201):
            self.ledger.unanswered.append(key)
            return
        doc = r.json()
        rec.case_id, rec.duplicate_of = doc["id"], doc.get("duplicate_of")
        rec.answers.add(doc["id"])
        if rec.duplicate_of:
            rec.final = "merged"
            return
        self.lives.append(asyncio.create_task(self.life(rec)))

    # 12345 orders ---------------------------------------------------------------------------------------------------

    async def order(self, i: int) -> None:
        order_no = f"CH{self.ledger.run}-{i:05d}"
        name, phone, address = self._person()
        doc = {"order_no": order_no, "received_at": datetime.now(UTC).isoformat(), "request_type": "求助",
               "category_hint": "噪声扰民", "title": "夜间施工噪音扰民",
               "content": f"市民来电反映夜间施工噪音影响休息，请求协调处理。工单{order_no}",
               "caller": {"name": name, "phone": phone, "callback_ok": True}, "address": address,
               "deadline_days": 10, "urgency": "normal"}
        rec = CaseRec(key=order_no, kind="hotline")
        self.ledger.cases[order_no] = rec
        r, _ = await self.client.send("12345 push order", "POST", self.stack.urls("intake"), "/api/v1/hotline/orders",
                                      body=json.dumps(doc, ensure_ascii=False).encode(), sign=True)
        if r is None or r.status_code not in (200, 201):
            self.ledger.unanswered.append(order_no)
            return
        answer = r.json()
        rec.case_id, rec.duplicate_of = answer["case_id"], answer.get("duplicate_of")
        rec.answers.add(answer["case_id"])
        if rec.duplicate_of:
            rec.final = "merged"
            return
        self.lives.append(asyncio.create_task(self.life(rec)))

    async def platform(self, rec: CaseRec, kind: str, body: dict[str, Any]) -> httpx.Response | None:
        msg = {"message_id": f"M{uuid.uuid4().hex[:16]}", **body}
        r, _ = await self.client.send(f"12345 {kind}", "POST", self.stack.urls("intake"),
                                           f"/api/v1/hotline/orders/{rec.key}/{kind}",
                                           body=json.dumps(msg, ensure_ascii=False).encode(), sign=True)
        name = "platform_feedback" if kind == "feedback" else kind
        self.ledger.actions.append(Action(rec.case_id or "", name, "lost" if r is None else
                                          "ok" if r.status_code == 200 else "refused",
                                          None if r is None else r.status_code,
                                          "" if r is None else r.text[:300]))
        return r

    # a case's life ---------------------------------------------------------------------------------------------

    async def current(self, rec: CaseRec, status: tuple[str, ...], not_id: str | None = None,
                      timeout: float = 150) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _ = await self.client.send("GET routing", "GET", self.stack.urls("routing"),
                                          f"/api/v1/cases/{rec.case_id}/routing", headers=self.street,
                                          retry_on=(*RETRY, 404))
            if r is not None and r.status_code == 200:
                cur = r.json()["current"]
                if cur and cur["status"] in status and cur["id"] != not_id:
                    return dict(cur)
            await asyncio.sleep(1.0)
        return None

    async def etag(self, assignment_id: str, headers: dict[str, str]) -> str | None:
        """The assignment's ETag as ``headers``' caller reads it now (None when no answer came)."""
        r, _ = await self.client.send("GET assignment", "GET", self.stack.urls("routing"),
                                      f"/api/v1/assignments/{assignment_id}", headers=headers)
        return r.headers.get("ETag") if r is not None and r.status_code == 200 else None

    async def act(self, rec: CaseRec, name: str, a: dict[str, Any], body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> bool:
        path = {"approve": "approve-extension"}.get(name, name)
        who = headers or self.street
        r: httpx.Response | None = None
        failed = False
        for _ in range(4):  # If-Match is the ETag just read; a 412 on a clean attempt (the scheduler or a
            # consumer moved the assignment on since) reads it again and retries
            etag = await self.etag(a["id"], who)
            if etag is None:
                break
            r, failed = await self.client.send(f"POST assignment {name}", "POST", self.stack.urls("routing"),
                                               f"/api/v1/assignments/{a['id']}/{path}",
                                               headers={**who, "If-Match": etag},
                                               body=json.dumps(body or {}, ensure_ascii=False).encode())
            if r is None or r.status_code != 412 or failed:
                break
        if r is None:
            outcome = "lost"
        elif r.status_code == 200:
            outcome = "ok"
        elif failed and r.status_code in (409, 412):
            outcome = "ambiguous"  # an attempt that failed may have applied it: the check allows 0 or 1 more
        else:
            outcome = "refused"
        self.ledger.actions.append(Action(rec.case_id or "", name, outcome, None if r is None else r.status_code,
                                          "" if r is None else r.text[:300]))
        if r is not None and r.status_code == 200:
            a.update(r.json())
        if outcome in ("ambiguous", "lost") and name == "resolve":
            rec.maybe = "resolved"
        return outcome == "ok"

    async def feedback(self, rec: CaseRec, result: str) -> bool:
        """Staff 回访 (walk-ins); 409 case_not_resolved while intake has not seen the resolution yet: wait."""
        end = time.monotonic() + 120
        while True:
            r, failed = await self.client.send("POST feedback", "POST", self.stack.urls("intake"),
                                               f"/api/v1/cases/{rec.case_id}/feedback", headers=self.operator,
                                               body=json.dumps({"result": result}).encode())
            if r is not None and r.status_code == 409 and not failed and time.monotonic() < end:
                await asyncio.sleep(1.0)
                continue
            outcome = "lost" if r is None else "ok" if r.status_code == 201 else "ambiguous" if failed else "refused"
            self.ledger.actions.append(Action(rec.case_id or "", f"feedback_{result}", outcome,
                                              None if r is None else r.status_code, "" if r is None else r.text[:300]))
            if outcome in ("ambiguous", "lost"):
                rec.maybe = "closed" if result == "satisfied" else "reopened"
            return outcome == "ok"

    async def life(self, rec: CaseRec) -> None:
        plans = ["resolve_satisfied", "reopen_loop", "escalate", "extend", "merge", "open", "open_accepted"] \
            if rec.kind == "walk_in" else ["h_simple", "h_redo_loop", "h_open"]
        rec.plan = self.rng.choice(plans)
        try:
            await self._life(rec)
        except Exception as exc:  # a bug of the harness must show, not hang the run
            self.ledger.actions.append(Action(rec.case_id or "", "harness_error", "lost", None, repr(exc)[:300]))

    async def _resolve(self, rec: CaseRec, a: dict[str, Any]) -> bool:
        return await self.act(rec, "resolve", a, {"outcome": "resolved", "note": "已协调处理"})

    async def _life(self, rec: CaseRec) -> None:
        a = await self.current(rec, LIVE)
        if a is None:
            return  # the invariants find the case without an assignment
        plan = rec.plan
        if plan == "open":
            self.open_primaries.append(rec)
            return
        if plan == "merge":
            primaries = [p for p in self.open_primaries if p.case_id and p.final == "open"]
            if not primaries:
                self.open_primaries.append(rec)
                return
            primary = self.rng.choice(primaries)
            r, failed = await self.client.send("POST merge", "POST", self.stack.urls("intake"),
                                               f"/api/v1/cases/{rec.case_id}/merge", headers=self.operator,
                                               body=json.dumps({"primary_case_id": primary.case_id,
                                                                "reason": "同一事项"}).encode())
            outcome = "lost" if r is None else "ok" if r.status_code == 200 else "ambiguous" if failed else "refused"
            self.ledger.actions.append(Action(rec.case_id or "", "merge", outcome,
                                              None if r is None else r.status_code, "" if r is None else r.text[:300]))
            if outcome in ("ok", "ambiguous"):
                rec.final, rec.merged_into = "merged", primary.case_id
            return
        if plan == "escalate":
            if not await self.act(rec, "escalate", a, {"reason": "需要上级协调"}):
                return
            a = await self.current(rec, ("assigned",), not_id=a["id"])
            if a is None:
                return
        if not await self.act(rec, "accept", a):
            return
        if plan in ("open_accepted", "h_open"):
            return
        if plan == "extend":
            due = (datetime.now(UTC) + timedelta(days=20)).isoformat()
            if await self.act(rec, "extend", a, {"reason": "需要等待鉴定结果", "due_at": due}):
                await self.act(rec, "approve", a, {"note": "同意"})
        if not await self._resolve(rec, a):
            return
        rec.final = "resolved"
        if plan in ("escalate", "extend"):
            return
        if rec.kind == "walk_in":
            if plan == "reopen_loop":
                if not await self.feedback(rec, "unsatisfied"):
                    return
                rec.final = "reopened"
                a2 = await self.current(rec, ("assigned",), not_id=a["id"])
                if a2 is None or not await self.act(rec, "accept", a2) or not await self._resolve(rec, a2):
                    return
                rec.final = "resolved"
            if await self.feedback(rec, "satisfied"):
                rec.final = "closed"
            return
        # 12345: the platform's 回访 after our 办结 callback (sent by intake when it sees the resolution)
        await self.wait_callback(rec, "resolved", 1)
        if plan == "h_redo_loop":
            await self.platform(rec, "feedback", {"result": "不满意", "content": "问题没有解决"})
            r = await self.platform(rec, "redo", {"content": "请重新办理"})
            if r is None or r.status_code != 200:
                return
            rec.final = "reopened"
            a2 = await self.current(rec, ("assigned",), not_id=a["id"])
            if a2 is None or not await self.act(rec, "accept", a2) or not await self._resolve(rec, a2):
                return
            rec.final = "resolved"
            await self.wait_callback(rec, "resolved", 2)
        r = await self.platform(rec, "feedback", {"result": "满意", "content": "满意"})
        if r is not None and r.status_code == 200:
            rec.final = "closed"

    async def wait_callback(self, rec: CaseRec, action: str, count: int, timeout: float = 150) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _ = await self.client.send("GET 12345 reconciliation", "GET", self.stack.urls("intake"),
                                          f"/api/v1/hotline/orders/{rec.key}", headers=self.street,
                                          retry_on=(*RETRY, 404))
            if r is not None and r.status_code == 200:
                done = [c for c in r.json()["callbacks"] if c["action"] == action and c["status"] == "delivered"]
                if len(done) >= count:
                    return True
            await asyncio.sleep(1.0)
        return False

    async def run(self, seconds: float, walk_in_rate: float, order_rate: float) -> None:
        start = time.monotonic()
        i = j = 0
        tasks: list[asyncio.Task[None]] = []
        while (now := time.monotonic() - start) < seconds:
            while i < now * walk_in_rate:
                tasks.append(asyncio.create_task(self.walk_in(i)))
                i += 1
            while j < now * order_rate:
                tasks.append(asyncio.create_task(self.order(j)))
                j += 1
            await asyncio.sleep(0.1)
        await asyncio.gather(*tasks)

    async def settle(self, timeout: float) -> None:
        """Let every case's life finish (each of its waits is bounded); what is still running is cancelled."""
        if not self.lives:
            return
        _, pending = await asyncio.wait(self.lives, timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            say(f"  {len(pending)} case lives still running after {timeout:.0f} s: cancelled")


# --- faults ------------------------------------------------------------------------------------------------------


class Faults:
    KINDS = ("kill -9 replica", "SIGSTOP replica", "broker restart", "PostgreSQL stop")

    def __init__(self, stack: Stack, ledger: Ledger, seed: int) -> None:
        self.stack, self.ledger = stack, ledger
        self.rng = random.Random(seed + 1)
        self.stopped: set[int] = set()
        self.pg_stopped: set[int] = set()

    def _replica(self) -> tuple[str, int]:
        pids = self.stack.pids()
        names = [n for n in pids if n.rsplit("-", 1)[0] in SERVICE_NAMES or n in SERVICE_NAMES]
        name = self.rng.choice(sorted(names))
        return name, pids[name]

    def note(self, kind: str, text: str) -> None:
        self.ledger.faults[kind] += 1
        line = f"{time.strftime('%H:%M:%S')} {kind}: {text}"
        self.ledger.fault_log.append(line)
        say(f"  fault {line}")

    async def kill9(self) -> None:
        name, pid = self._replica()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.note("kill -9 replica", f"{name} (pid {pid})")

    async def sigstop(self) -> None:
        name, pid = self._replica()
        hold = self.rng.uniform(5, 12)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
            self.stopped.add(pid)
        self.note("SIGSTOP replica", f"{name} (pid {pid}) for {hold:.0f} s")
        try:
            await asyncio.sleep(hold)
        finally:
            self.cont(pid)

    def cont(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        self.stopped.discard(pid)

    async def broker(self) -> None:
        pid = self.stack.pids()["broker"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.note("broker restart", f"broker (pid {pid}) killed; the runner starts an empty one")

    async def postgres(self, hold: float) -> None:
        """PostgreSQL shut down (fast) and kept down ``hold`` seconds: the stack runner, which would start it again
        at once, is paused (SIGSTOP) meanwhile and resumed after; its next look starts PostgreSQL again."""
        runner = self.stack.proc.pid if self.stack.proc is not None else None
        pid = await self._postgres_up()
        if runner is not None:
            os.kill(runner, signal.SIGSTOP)
            self.stopped.add(runner)
        try:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            self.pg_stopped.add(pid)
            self.note("PostgreSQL stop", f"postgres (pid {pid}) stopped for {hold:.0f} s")
            await asyncio.sleep(hold)
        finally:
            if runner is not None:
                self.cont(runner)

    async def _postgres_up(self, timeout: float = 90) -> int:
        """The pid of a PostgreSQL that accepts connections (after an earlier stop, once the runner restarted it)."""
        end = time.monotonic() + timeout
        while True:
            pid = self.stack.pids()["postgres"]
            try:
                conn = await asyncpg.connect(self.stack.database_url, timeout=3)
                await conn.close()
                if pid not in self.pg_stopped:
                    return pid
            except (OSError, asyncpg.PostgresError, TimeoutError):
                pass
            if time.monotonic() > end:
                return pid
            await asyncio.sleep(0.5)

    async def run(self, seconds: float, stop: asyncio.Event) -> None:
        """At least one of each kind, spread over the run; PostgreSQL stopped 15–30 s."""
        count = max(4, int(seconds // 20))
        kinds = list(self.KINDS) + [self.rng.choice(self.KINDS) for _ in range(count - 4)]
        self.rng.shuffle(kinds)
        if "PostgreSQL stop" in kinds[:1]:  # let the first cases in before the database goes
            kinds.append(kinds.pop(0))
        gap = (seconds * 0.8) / len(kinds)
        await asyncio.sleep(min(8.0, gap))
        for kind in kinds:
            if stop.is_set() and all(self.ledger.faults[k] for k in self.KINDS):
                return  # the load is over, and every kind was injected at least once
            t = time.monotonic()
            if kind == "kill -9 replica":
                await self.kill9()
            elif kind == "SIGSTOP replica":
                await self.sigstop()
            elif kind == "broker restart":
                await self.broker()
            else:
                await self.postgres(self.rng.uniform(15, 30 if seconds >= 200 else 18))
            await asyncio.sleep(1.0 if stop.is_set() else max(1.0, gap - (time.monotonic() - t)))


# --- drain and invariants ----------------------------------------------------------------------------------------


SCHEMAS = ("intake", "routing", "notify", "analytics")


async def _metric_sum(http: httpx.AsyncClient, urls: list[str], names: tuple[str, ...]) -> float | None:
    total = 0.0
    for url in urls:
        try:
            r = await http.get(f"{url}/metrics", timeout=5)
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        for line in r.text.splitlines():
            if line.startswith(names):
                total += float(line.rsplit(" ", 1)[1])
    return total


async def drain(stack: Stack, timeout: float) -> tuple[bool, str]:
    """Until every process is ready, every outbox published, every callback delivered and consumer lag 0."""
    urls = [u for n in SERVICE_NAMES for u in stack.urls(n)]
    end = time.monotonic() + timeout
    quiet = 0
    why = ""
    async with httpx.AsyncClient() as http:
        while time.monotonic() < end:
            await asyncio.sleep(1.0)
            unready = []
            for u in urls:
                try:
                    answer = await http.get(f"{u}/readyz", timeout=5)
                    if answer.status_code != 200:
                        unready.append(f"{u} {answer.status_code} {answer.text[:200]}")
                except httpx.HTTPError as exc:
                    unready.append(f"{u} {type(exc).__name__}")
            if unready:
                quiet, why = 0, f"not ready: {unready}"
                continue
            try:
                conn = await asyncpg.connect(stack.database_url, timeout=5)
            except (OSError, asyncpg.PostgresError) as exc:
                quiet, why = 0, f"database: {exc!r}"
                continue
            try:
                backlog = sum([await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox WHERE published_at IS NULL')
                               for s in SCHEMAS])
                callbacks = await conn.fetchval("SELECT count(*) FROM intake.hotline_callbacks "
                                                "WHERE status <> 'delivered'")
            finally:
                await conn.close()
            lag = await _metric_sum(http, urls, ("fq_consumer_lag{",))
            if backlog or callbacks or lag is None or lag > 0:
                quiet, why = 0, f"outbox backlog {backlog}, callbacks not delivered {callbacks}, consumer lag {lag}"
                continue
            quiet += 1
            if quiet >= 5:  # five looks in a row, a second apart
                return True, ""
    return False, why


@dataclass
class Row:
    name: str
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.wrong or self.stuck)


async def check(stack: Stack, ledger: Ledger, sim: Simulator, load: Load) -> list[Row]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return await _check(conn, stack, ledger, sim, load)
    finally:
        await conn.close()


async def _check(conn: asyncpg.Connection, stack: Stack, ledger: Ledger, sim: Simulator, load: Load) -> list[Row]:
    rows: list[Row] = []
    await conn.execute("SET default_transaction_read_only = on")
    recs = list(ledger.cases.values())

    # 1. every accepted request has its effect exactly once: one case per Idempotency-Key / order number
    r = Row("cases exist once (walk-in + 12345)")
    by_key: dict[str, list[str]] = defaultdict(list)
    for row in await conn.fetch("SELECT id::text, substring(description from '编号(chaos-[^ ]+)$') AS k "
                                "FROM intake.cases WHERE description LIKE $1", f"%编号chaos-{ledger.run}-%"):
        by_key[row["k"]].append(row["id"])
    for row in await conn.fetch("SELECT o.order_no, o.case_id::text AS id FROM intake.hotline_orders o "
                                "WHERE o.order_no LIKE $1", f"CH{ledger.run}-%"):
        by_key[row["order_no"]].append(row["id"])
    for rec in recs:
        found = by_key.get(rec.key, [])
        r.checked += 1
        if len(found) > 1:
            r.doubled.append(f"{rec.key}: {found}")
        elif rec.case_id is None:
            if found:  # never answered, but created: fine (the client gave up); the case is one of the cohort
                rec.case_id = found[0]
        elif not found:
            r.lost.append(f"{rec.key}: answered {rec.case_id}, no such case")
        elif rec.answers != {found[0]}:
            r.wrong.append(f"{rec.key}: answered {sorted(rec.answers)}, stored {found[0]}")
    rows.append(r)
    ids = [rec.case_id for rec in recs if rec.case_id]
    cases = {str(c["id"]): dict(c) for c in await conn.fetch(
        "SELECT id, status, duplicate_of::text AS duplicate_of FROM intake.cases WHERE id = ANY($1::uuid[])", ids)}
    assignments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in await conn.fetch("SELECT id::text, case_id::text, unit_id, status, cause, accepted_at, resolved_at "
                              "FROM routing.assignments WHERE case_id = ANY($1::uuid[]) ORDER BY created_at", ids):
        assignments[a["case_id"]].append(dict(a))
    logs: dict[str, Counter[str]] = defaultdict(Counter)
    for row in await conn.fetch("SELECT case_id::text, action FROM routing.assignment_log "
                                "WHERE case_id = ANY($1::uuid[]) AND actor = 'U-S1-1'", ids):  # ours only
        logs[row["case_id"]][row["action"]] += 1

    # 2. each workflow action applied once: the ledger's answered actions against routing's history and intake
    r = Row("workflow actions applied once")
    log_name = {"accept": "accept", "escalate": "escalate", "extend": "request_extension",
                "approve": "approve_extension", "resolve": "resolve"}
    sample = next(iter(logs.values()), Counter())
    for rec in recs:
        if not rec.case_id:
            continue
        for name, logged in log_name.items():
            ok = ledger.count(rec.case_id, name, ("ok",))
            maybe = ledger.count(rec.case_id, name, ("ambiguous", "lost"))
            if not ok and not maybe:
                continue
            r.checked += 1
            have = logs[rec.case_id].get(logged, 0)
            if have < ok:
                r.lost.append(f"case {rec.case_id}: {name} answered 200 x{ok}, in routing's log x{have}")
            elif have > ok + maybe:
                r.doubled.append(f"case {rec.case_id}: {name} sent x{ok + maybe}, in routing's log x{have}")
    feedback: dict[str, Counter[str]] = defaultdict(Counter)
    for row in await conn.fetch("SELECT case_id::text, result, source FROM intake.feedback "
                                "WHERE case_id = ANY($1::uuid[])", ids):
        feedback[row["case_id"]][f"{row['source']}:{row['result']}"] += 1
    for rec in recs:
        if not rec.case_id:
            continue
        for result in ("satisfied", "unsatisfied"):
            ok = ledger.count(rec.case_id, f"feedback_{result}", ("ok",))
            maybe = ledger.count(rec.case_id, f"feedback_{result}", ("ambiguous", "lost"))
            if not ok and not maybe:
                continue
            r.checked += 1
            have = sum(n for k, n in feedback[rec.case_id].items() if k.endswith(f":{result}") and
                       not k.startswith("hotline"))
            if have < ok:
                r.lost.append(f"case {rec.case_id}: 回访 {result} answered 201 x{ok}, stored x{have}")
            elif have > ok + maybe:
                r.doubled.append(f"case {rec.case_id}: 回访 {result} sent x{ok + maybe}, stored x{have}")
        for rec_merge in [a for a in ledger.actions if a.case_id == rec.case_id and a.name == "merge"
                          and a.outcome == "ok"]:
            r.checked += 1
            c = cases.get(rec.case_id)
            if c is None or c["status"] != "merged" or c["duplicate_of"] != rec.merged_into:
                r.wrong.append(f"case {rec.case_id}: merge answered 200 into {rec.merged_into}, stored {c}")
            del rec_merge
    if not any(logs.values()) and any(a.outcome == "ok" for a in ledger.actions):
        r.wrong.append(f"routing's assignment_log holds no action (names seen: {dict(sample)})")
    rows.append(r)

    # 3. every open case has exactly one current assignment; resolved ones none live; merged ones none live
    r = Row("open case: exactly 1 live assignment")
    m = Row("merged case: no live assignment")
    for rec in recs:
        c = cases.get(rec.case_id or "")
        if c is None:
            continue
        live = [a for a in assignments[rec.case_id or ""] if a["status"] in LIVE]
        if c["status"] == "merged":
            m.checked += 1
            if live:
                m.stuck.append(f"case {rec.case_id} merged into {c['duplicate_of']}: live {live[0]['status']} "
                               f"assignment {live[0]['id']} at {live[0]['unit_id']}")
            continue
        if c["status"] in ("resolved", "closed"):
            continue
        r.checked += 1
        if not live:
            r.lost.append(f"case {rec.case_id} ({c['status']}): no live assignment "
                          f"({[a['status'] for a in assignments[rec.case_id or '']]})")
        elif len(live) > 1:
            r.doubled.append(f"case {rec.case_id}: {len(live)} live assignments {[a['id'] for a in live]}")
    rows.extend([r, m])

    # 4. the ledger's expectation of each case's end state against intake's
    r = Row("case state as the ledger expects")
    expect = {"open": ("assigned", "in_progress"), "resolved": ("resolved",), "closed": ("closed",),
              "merged": ("merged",), "reopened": ("assigned", "in_progress")}
    for rec in recs:
        c = cases.get(rec.case_id or "")
        if c is None or (rec.plan == "" and rec.final != "merged"):
            continue
        r.checked += 1
        if c["status"] not in expect[rec.final] + (expect[rec.maybe] if rec.maybe else ()):
            last = [a for a in ledger.actions if a.case_id == rec.case_id][-1:]
            r.wrong.append(f"case {rec.case_id} ({rec.kind}, {rec.plan}): expected {rec.final}, is {c['status']}; "
                           f"last action {last[0].name if last else '-'}")
    rows.append(r)

    # 5. inbox: one 'assigned' item per member of the unit per assignment to it
    r = Row("inbox items exactly once")
    members: dict[str, list[str]] = defaultdict(list)
    for row in await conn.fetch("SELECT id, unit_id FROM routing.members WHERE active"):
        members[row["unit_id"]].append(row["id"])
    inbox: Counter[tuple[str, str]] = Counter()
    for row in await conn.fetch("SELECT user_id, case_id::text FROM notify.inbox_items "
                                "WHERE kind = 'assigned' AND case_id = ANY($1::uuid[])", ids):
        inbox[(row["case_id"], row["user_id"])] += 1
    for case_id, rows_a in assignments.items():
        per_unit = Counter(a["unit_id"] for a in rows_a)
        for unit, n in per_unit.items():
            for member in members[unit]:
                r.checked += 1
                have = inbox[(case_id, member)]
                if have < n:
                    r.lost.append(f"case {case_id}: {member} of {unit} has {have} 'assigned' items, assignments {n}")
                elif have > n:
                    r.doubled.append(f"case {case_id}: {member} of {unit} has {have} 'assigned' items, "
                                     f"assignments {n}")
    rows.append(r)

    # 6. reminders: each point of each assignment's accept clock once; none pending on an assignment not live
    r = Row("reminders exactly once, none stuck")
    points: dict[str, Counter[float]] = defaultdict(Counter)
    pending: dict[str, int] = Counter()
    for row in await conn.fetch("SELECT assignment_id::text, clock, fraction, status FROM notify.reminders "
                                "WHERE case_id = ANY($1::uuid[])", ids):
        if row["clock"] == "accept":
            points[row["assignment_id"]][row["fraction"]] += 1
        if row["status"] in ("pending", "paused"):
            pending[row["assignment_id"]] += 1
    for case_id, rows_a in assignments.items():
        c = cases.get(case_id, {})
        for a in rows_a:
            r.checked += 1
            pts = points[a["id"]]
            if not pts:
                r.lost.append(f"assignment {a['id']} (case {case_id}): no accept-clock reminders")
            elif any(n > 1 for n in pts.values()):
                r.doubled.append(f"assignment {a['id']}: reminder points {dict(pts)}")
            if (a["status"] not in LIVE or c.get("status") == "merged") and pending[a["id"]]:
                r.stuck.append(f"assignment {a['id']} ({a['status']}, case {c.get('status')}): "
                               f"{pending[a['id']]} reminders still pending")
    rows.append(r)

    # 7. 12345 callbacks: each owed callback delivered, applied by the platform exactly once, as many as actions
    r = Row("12345 callbacks exactly once")
    applied: Counter[str] = Counter()
    with sim.state.lock:
        for d in sim.state.applied.values():
            applied[d["idempotency_key"]] += 1
        received = {d["idempotency_key"] for d in sim.state.deliveries}
    cb: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await conn.fetch("SELECT order_no, case_id::text, action, status, idempotency_key::text AS k "
                                "FROM intake.hotline_callbacks WHERE order_no LIKE $1", f"CH{ledger.run}-%"):
        cb[row["order_no"]].append(dict(row))
    for rec in recs:
        if rec.kind != "hotline" or not rec.case_id:
            continue
        rows_cb = cb[rec.key]
        for c_ in rows_cb:
            r.checked += 1
            if c_["status"] != "delivered":
                r.stuck.append(f"order {rec.key}: callback {c_['action']} {c_['status']}")
            elif c_["k"] not in received:
                r.lost.append(f"order {rec.key}: callback {c_['action']} delivered per intake, never received")
            elif applied[c_["k"]] != 1:
                r.doubled.append(f"order {rec.key}: callback {c_['action']} applied x{applied[c_['k']]}")
        acts = Counter(c_["action"] for c_ in rows_cb)
        for name, action in (("accept", "accepted"), ("resolve", "resolved")):
            ok = ledger.count(rec.case_id, name, ("ok",))
            maybe = ledger.count(rec.case_id, name, ("ambiguous", "lost"))
            if acts[action] < ok:
                r.lost.append(f"order {rec.key}: {name} answered 200 x{ok}, {action} callbacks x{acts[action]}")
            elif acts[action] > ok + maybe:
                r.doubled.append(f"order {rec.key}: {name} sent x{ok + maybe}, {action} callbacks x{acts[action]}")
    rows.append(r)

    # 8. the platform's 回访 after our 办结: accepted (the 重办 loop of issue 15)
    r = Row("12345 回访/重办 after 办结 accepted")
    for a in ledger.actions:
        if a.name in ("platform_feedback", "redo"):
            r.checked += 1
            if a.outcome == "lost":
                r.lost.append(f"case {a.case_id}: {a.name} never answered")
            elif a.outcome != "ok":
                r.wrong.append(f"case {a.case_id}: {a.name} answered {a.status} {a.detail[:160]}")
    rows.append(r)

    # 9. KPIs against the ledger's ground truth
    r = Row("KPIs = ledger (received, resolved+closed, satisfied)")
    cohort = [rec for rec in recs if rec.case_id and rec.final != "merged"
              and cases.get(rec.case_id, {}).get("status") != "merged"]
    # (at least, at most): a case whose last action was answered ambiguously may count either way
    truth = {"received": (len(cohort), len(cohort)),
             "satisfied": (sum(1 for rec in cohort if rec.final == "closed"),
                           sum(1 for rec in cohort if "closed" in (rec.final, rec.maybe))),
             "resolved": (sum(1 for rec in cohort if rec.final in ("resolved", "closed")),
                          sum(1 for rec in cohort if {rec.final, rec.maybe} & {"resolved", "closed"}))}
    async with httpx.AsyncClient() as http:
        k = (await http.get(f"{stack.url('analytics')}/api/v1/kpis", headers=load.admin, timeout=30)).json()
    got = {"received": k.get("received"), "satisfied": k.get("counts", {}).get("satisfied"),
           "resolved": k.get("counts", {}).get("resolved")}
    for name, (low, high) in truth.items():
        r.checked += 1
        if not isinstance(got[name], int) or not low <= got[name] <= high:
            r.wrong.append(f"{name}: kpis {got[name]}, ledger {low}" + (f"–{high}" if high != low else ""))
    rows.append(r)

    # 10. outboxes drained
    r = Row("outboxes drained")
    for s in SCHEMAS:
        r.checked += 1
        n = await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox WHERE published_at IS NULL')
        if n:
            r.stuck.append(f"{s}: {n} unpublished rows")
    rows.append(r)

    # 11. DLQs: `python -m services dlq list` per topic, and no dead letter in any log (a broker restart forgets them)
    r = Row("DLQs empty")
    from shared.events import TOPICS

    for topic in TOPICS:
        r.checked += 1
        out = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "services", "dlq", "list", "--topic", topic], cwd=ROOT,
            env={**stack.env, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap}, capture_output=True, text=True,
            timeout=120)
        letters = re.search(r"(\d+) dead letters in", out.stdout)
        if out.returncode != 0 or not letters:
            r.wrong.append(f"dlq list {topic}: rc {out.returncode} {out.stderr[-300:]}")
        elif int(letters.group(1)):
            r.stuck.append(f"{topic}.dlq: {letters.group(1)} letters: {out.stdout[:300]}")
    for path in sorted((stack.var_dir / "logs").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if "event_dead_lettered" in line:
                r.stuck.append(f"{path.name}: {line[:300]}")
    rows.append(r)

    # 12. no personal data in any log file or on any topic
    r = Row("no PII in logs or topics")
    needles = sorted(ledger.pii)
    for path in sorted(p for p in stack.var_dir.rglob("*") if p.is_file() and p.suffix in (".log", ".json", ".txt")
                       and "pgdata" not in p.parts):
        r.checked += 1
        text = path.read_text(errors="replace")
        hits = [n for n in needles if n in text]
        if hits:
            r.wrong.append(f"{path.relative_to(stack.var_dir)}: {len(hits)} values, e.g. {hits[0][:2]}…")
    for topic, hits in (await _topic_pii(stack.bootstrap, needles)).items():
        r.checked += 1
        if hits:
            r.wrong.append(f"topic {topic}: {len(hits)} values, e.g. {hits[0][:2]}…")
    rows.append(r)
    return rows


async def _topic_pii(bootstrap: str, needles: list[str]) -> dict[str, list[str]]:
    """Every record of every topic (from the earliest offset, value and headers) searched for the values sent."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: dict[str, list[str]] = {}
    try:
        topics = sorted(t for t in await consumer.topics() if not t.startswith("__"))
        for topic in topics:
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not parts:
                continue
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            blob: list[str] = []
            deadline = time.monotonic() + 60
            while await _behind(consumer, ends) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
                for records in batch.values():
                    for rec in records:
                        blob.append((rec.value or b"").decode(errors="replace"))
                        blob.extend(v.decode(errors="replace") for _, v in rec.headers or ())
            text = "\n".join(blob)
            out[topic] = [n for n in needles if n in text]
    finally:
        await consumer.stop()
    return out


async def _behind(consumer: Any, ends: dict[Any, int]) -> bool:
    return any([await consumer.position(p) < end for p, end in ends.items()])


def table(ledger: Ledger, rows: list[Row]) -> str:
    lines = ["faults injected: " + ", ".join(f"{k} x{ledger.faults[k]}" for k in Faults.KINDS),
             "requests: " + ", ".join(f"{k} {n}" for k, n in sorted(ledger.requests.items())),
             f"never answered before their deadline: {len(ledger.unanswered)}",
             "actions answered: " + ", ".join(f"{k} {n}" for k, n in sorted(
                 Counter(f"{a.name}:{a.outcome}" for a in ledger.actions).items())), ""]
    head = ["invariant", "checked", "lost", "doubled", "wrong", "stuck", ""]
    body = [[row.name, str(row.checked), str(len(row.lost)), str(len(row.doubled)), str(len(row.wrong)),
             str(len(row.stuck)), "ok" if row.ok else "VIOLATED"] for row in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    fmt = [("  ".join(c.ljust(w) if i in (0, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(x, widths,
                                                                                                 strict=True))))
           for x in [head, *body]]
    lines += [fmt[0], "-" * len(fmt[0]), *fmt[1:]]
    for row in rows:
        for label, items in (("lost", row.lost), ("doubled", row.doubled), ("wrong", row.wrong),
                             ("stuck", row.stuck)):
            for item in items[:5]:
                lines.append(f"  {row.name} / {label}: {item}")
            if len(items) > 5:
                lines.append(f"  {row.name} / {label}: … {len(items) - 5} more")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:6]
    var_dir = args.var_dir
    ledger = Ledger(run_id)
    stack = Stack(var_dir)
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    say(f"chaos run {run_id} (seed {seed}): {args.seconds:.0f} s of load and faults; stack in {var_dir}")
    os.environ.update({"FQ_ENV": stack.env.get("FQ_ENV", "dev")})
    sim = Simulator(SimConfig(intake_url=stack.url("intake"), client_id=CLIENT_ID, secret=SECRET,
                              callback_secret=CALLBACK_SECRET), "127.0.0.1", stack.sim_port, free_port())
    sim.open_platform()
    faults: Faults | None = None
    try:
        t0 = time.monotonic()
        await asyncio.to_thread(stack.start)
        say(f"stack ready in {time.monotonic() - t0:.0f} s: {len(stack.pids())} processes")
        client = Client(ledger, request_deadline=120)
        load = Load(stack, ledger, client, seed)
        faults = Faults(stack, ledger, seed)
        stop = asyncio.Event()
        fault_task = asyncio.create_task(faults.run(args.seconds, stop))
        await load.run(args.seconds, args.rate, args.order_rate)
        stop.set()
        await fault_task
        say(f"load over after {args.seconds:.0f} s; letting the cases' lives finish ...")
        await load.settle(args.settle)
        await client.http.aclose()
        say("draining ...")
        t = time.monotonic()
        drained, why = await drain(stack, args.drain)
        say(f"drained in {time.monotonic() - t:.0f} s" if drained else f"NOT drained after {args.drain:.0f} s: {why}")
        rows = await check(stack, ledger, sim, load)
        if not drained:
            rows.append(Row("drained before the deadline", 1, stuck=[why]))
    finally:
        if faults is not None:
            for pid in list(faults.stopped):
                faults.cont(pid)
        await asyncio.to_thread(stack.stop)
        sim.close_platform()
        sim.control.server_close()
    text = table(ledger, rows)
    say("\n" + text)
    (var_dir / "chaos-report.txt").write_text(text + "\n\nfaults:\n" + "\n".join(ledger.fault_log) + "\n")
    (var_dir / "chaos-ledger.json").write_text(json.dumps({
        "cases": [vars(c) | {"answers": sorted(c.answers)} for c in ledger.cases.values()],
        "actions": [vars(a) for a in ledger.actions]}, ensure_ascii=False, indent=1))
    say(f"\nreport and ledger in {var_dir}")
    return 0 if all(row.ok for row in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300, help="load and faults (default 300)")
    parser.add_argument("--rate", type=float, default=1.0, help="walk-in cases per second")
    parser.add_argument("--order-rate", type=float, default=0.3, help="12345 orders per second")
    parser.add_argument("--settle", type=float, default=240, help="seconds the cases' lives may take after the load")
    parser.add_argument("--drain", type=float, default=240, help="drain deadline in seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--var-dir", default=None, help="the stack's var dir (default var/chaos-<time>)")
    args = parser.parse_args(argv)
    args.var_dir = Path(args.var_dir or ROOT / "var" / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
