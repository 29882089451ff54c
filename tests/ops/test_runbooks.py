"""docs/runbooks/: every alert has its page, every page is linked from the index, and each task runbook's steps are
tried here on the embedded stack, with the real commands (`python -m services ...`, pg_dump / pg_restore) run as
subprocesses the way an operator types them."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from intake_svc.app import create_app
from intake_svc.rekey import sealed_columns
from services.embedded import EmbeddedPostgres, free_port
from services.registry import ROOT, SERVICES
from shared import db
from shared.auth import Role
from shared.bus.dlq import pending_dead_letters
from shared.bus.topics import ensure_topics
from shared.crypto import Sealer
from shared.events import Topic
from tests.support import Infra, auth, case_body, eventually, id_number, settings_for, start_stack

RUNBOOKS = ROOT / "docs" / "runbooks"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "fengqiao.rules.yml"
TASKS = ("dlq.md", "broker-amnesia.md", "replay-projection.md", "key-rotation.md", "backup-restore.md",
         "add-replica.md")
OPERATOR = auth(Role.OPERATOR, "S1", "op-runbook")
INTAKE = next(s for s in SERVICES if s.name == "intake")
OLD_KEY, NEW_KEY = (base64.b64encode(bytes([n]) * 32).decode() for n in (7, 9))


async def services_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m services <args>` from the repository root, as an operator runs it (off the event loop)."""
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "services", *args], cwd=ROOT,
                                   capture_output=True, text=True, timeout=180, env={**os.environ, **env},
                                   check=False)


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_has_its_runbook_and_every_page_is_linked_from_the_index() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    linked = set(re.findall(r"\]\((?:\./)?([^)#/]+\.md)\)", index))
    pages = {p.name for p in RUNBOOKS.glob("*.md")} - {"README.md"}
    alerts = _alerts()
    assert len(alerts) >= 12
    for rule in alerts:
        name = rule["alert"]
        assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{name}.md"
        page = RUNBOOKS / f"{name}.md"
        assert page.is_file(), f"no runbook for {name}"
        text = page.read_text()
        assert name in text and "## 如何确认" in text and "## 处置" in text, f"{name}: sections missing"
    assert set(TASKS) <= pages
    assert pages == linked, f"not linked from docs/runbooks/README.md: {pages - linked}; dead: {linked - pages}"
    assert "docs/runbooks" in (ROOT / "README.md").read_text()
    # every task runbook names a test of this file that tries its steps
    for task in TASKS:
        assert "tests/ops/test_runbooks.py" in (RUNBOOKS / task).read_text(), task


# --- helpers ----------------------------------------------------------------------------------------------------

class _Intake:
    """One intake replica in this process (its relay and consumer running), with a client."""

    def __init__(self, url: str, bootstrap: str, keys: str, current: str) -> None:
        self.app: FastAPI = create_app(settings_for(INTAKE, url, bootstrap, pii_keys=keys, pii_current_key=current))
        self.manager = LifespanManager(self.app, startup_timeout=60, shutdown_timeout=60)
        self.client = AsyncClient(transport=ASGITransport(app=self.app), base_url="http://intake")
        self.running = False

    async def __aenter__(self) -> AsyncClient:
        await self.manager.__aenter__()
        self.running = True
        return self.client

    async def __aexit__(self, *_: object) -> None:
        if self.running:
            self.running = False
            await self.client.aclose()
            await self.manager.__aexit__(None, None, None)


def _intake(url: str, bootstrap: str, keys: str = f"k1:{OLD_KEY}", current: str = "k1") -> _Intake:
    return _Intake(url, bootstrap, keys, current)


_PEOPLE = itertools.count(1)


async def _case_with_note(client: AsyncClient) -> tuple[str, str, str]:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    body = case_body(parties=[{"role": "applicant", "kind": "person", "name": "李四", "phone": phone,
                               "id_number": id_number(next(_PEOPLE))}])  # three people, not one
    r = await client.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    r = await client.post(f"/api/v1/cases/{case_id}/notes", headers=OPERATOR,
                          json={"kind": "phone_call", "text": f"已联系申请人 {phone}"})
    assert r.status_code == 201, r.text
    r = await client.patch(f"/api/v1/cases/{case_id}/notes/{r.json()['id']}",
                           headers={**OPERATOR, "If-Match": r.headers["ETag"]}, json={"text": f"再次联系 {phone}"})
    assert r.status_code == 200, r.text
    # a 调解 session at the applicant's home and a 协议书 naming the applicant: sealed columns of their own tables
    parties = (await client.get(f"/api/v1/cases/{case_id}", headers=OPERATOR)).json()["parties"]
    r = await client.post(f"/api/v1/cases/{case_id}/sessions", headers=OPERATOR, json={
        "scheduled_at": "2026-12-08T09:30:00+08:00", "place": f"申请人家中，电话 {phone}", "mediators": ["U-S1-3"],
        "parties_present": [p["id"] for p in parties]})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/cases/{case_id}/agreements", headers=OPERATOR, json={
        "facts": f"李四（{phone}）家中漏水", "terms": "赔偿李四三千元", "performance_way": "by_deadline",
        "performance_due": "2026-12-31", "mediators": ["U-S1-3"], "committee": "鹭鸣街道人民调解委员会"})
    assert r.status_code == 201, r.text
    return case_id, phone, body["location"]["address"]


async def _sealed_values(url: str) -> list[tuple[str, str]]:
    """(case id, sealed value) of every sealed value intake stores."""
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        out: list[tuple[str, str]] = []
        for row in await conn.fetch("SELECT id, location, parties FROM intake.cases"):
            objs = [json.loads(row["location"]), *json.loads(row["parties"])]
            out += [(str(row["id"]), v) for o in objs for k, v in o.items() if k.endswith("_sealed") and v]
        for table, columns in (await sealed_columns(conn)).items():  # notes, sessions, agreements, …
            for column in columns:
                out += [(str(r[0]), r[1]) for r in await conn.fetch(
                    f'SELECT case_id, "{column}" FROM intake."{table}" WHERE "{column}" IS NOT NULL')]
        out += [(str(r[0]), r[1]) for r in await conn.fetch(
            "SELECT n.case_id, v.text_sealed FROM intake.note_versions v JOIN intake.notes n ON n.id = v.note_id")]
        return out
    finally:
        await conn.close()


# --- key rotation -----------------------------------------------------------------------------------------------

async def test_key_rotation_rekey_reseals_old_rows_and_every_read_still_works(infra: Infra) -> None:
    url = await asyncio.to_thread(infra.database, "fq_rb_rekey")
    async with _intake(url, infra.broker.bootstrap) as client:
        cases = [await _case_with_note(client) for _ in range(3)]
    before = await _sealed_values(url)
    assert len(before) >= 3 * 9 and {v.split(".")[0] for _, v in before} == {"k1"}

    # step 2 of the runbook: both keys, the new one current; step 3: rekey (batches of 2: several per table)
    env = {"DATABASE_URL": url, "INTAKE_PII_KEYS": f"k1:{OLD_KEY},k2:{NEW_KEY}", "INTAKE_PII_CURRENT_KEY": "k2"}
    first = await services_cli("rekey", "intake", "--batch-size", "2", **env)
    assert first.returncode == 0, first.stderr
    assert f"re-sealed {len(before)} values under key k2" in first.stdout
    assert "cases 3 rows" in first.stdout and "notes 3 rows" in first.stdout
    assert "mediation_sessions 3 rows" in first.stdout and "agreements 3 rows" in first.stdout
    after = await _sealed_values(url)
    assert len(after) == len(before) and {v.split(".")[0] for _, v in after} == {"k2"}
    new_only = Sealer({"k2": NEW_KEY}, "k2")
    for case_id, value in after:
        new_only.open(value, case_id.encode())  # opens without the old key
    again = await services_cli("rekey", "intake", **env)
    assert again.returncode == 0, again.stderr
    assert "re-sealed 0 values" in again.stdout, "idempotent: nothing left under the old key"

    # step 4: the old key removed; every read still works
    async with _intake(url, infra.broker.bootstrap, f"k2:{NEW_KEY}", "k2") as client:
        for case_id, phone, address in cases:
            purpose = {"purpose": "密钥轮换后核对"}
            r = await client.post(f"/api/v1/cases/{case_id}/parties/reveal", headers=OPERATOR, json=purpose)
            assert r.status_code == 200, r.text
            assert r.json()["parties"][0]["phone"] == phone and r.json()["address"] == address
            r = await client.post(f"/api/v1/cases/{case_id}/texts/reveal", headers=OPERATOR, json=purpose)
            assert r.status_code == 200, r.text
            assert r.json()["notes"][0]["text"] == f"再次联系 {phone}"
            assert (await client.get(f"/api/v1/cases/{case_id}", headers=OPERATOR)).status_code == 200


# --- backup and restore of one schema ---------------------------------------------------------------------------

async def _fingerprint(url: str, schema: str) -> dict[str, tuple[int, str]]:
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)]
        out = {}
        for t in tables:
            row = await conn.fetchrow("SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
                                      f'FROM "{schema}"."{t}" x')
            out[t] = (row[0], row[1])
        return out
    finally:
        await conn.close()


async def test_backup_and_restore_of_one_service_schema_round_trips(infra: Infra, tmp_path: Path) -> None:
    url = await asyncio.to_thread(infra.database, "fq_rb_backup")
    async with _intake(url, infra.broker.bootstrap) as client:
        await _case_with_note(client)
    before = await _fingerprint(url, "intake")
    routing_before = await _fingerprint(url, "routing")
    assert before["cases"][0] == 1 and before["alembic_version"][0] == 1

    bindir = EmbeddedPostgres.bin_dir()
    conn_args = ["-h", "127.0.0.1", "-p", str(infra.pg.port), "-U", "postgres", "-d", "fq_rb_backup"]
    dump = tmp_path / "intake.dump"
    await asyncio.to_thread(subprocess.run, [str(bindir / "pg_dump"), *conn_args, "-n", "intake", "-Fc",
                                             "-f", str(dump)], check=True, capture_output=True, timeout=120)
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    await conn.execute("DROP SCHEMA intake CASCADE")  # the disaster
    await conn.close()
    await asyncio.to_thread(subprocess.run, [str(bindir / "pg_restore"), *conn_args, "--no-owner",
                                             "--exit-on-error", str(dump)], check=True, capture_output=True,
                                             timeout=120)
    assert await _fingerprint(url, "intake") == before
    assert await _fingerprint(url, "routing") == routing_before, "the other schemas are untouched"
    # the restored schema is at the migrations' head: migrate is a no-op, the service starts on it
    assert (await services_cli("migrate", DATABASE_URL=url)).returncode == 0
    assert await _fingerprint(url, "intake") == before


# --- DLQ inspect and redrive ------------------------------------------------------------------------------------

async def test_dlq_list_then_redrive_empties_the_dlq(infra: Infra) -> None:
    bootstrap = infra.broker.bootstrap
    topic = f"fq.runbook-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic, Topic.dlq(topic)], 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    ids = [str(uuid.uuid4()) for _ in range(2)]
    try:
        for ce_id in ids:  # what a consumer writes when it gives up (shared/bus/inbox.py's headers)
            await producer.send_and_wait(Topic.dlq(topic), b'{"x": 1}', key=b"case-1", headers=[
                ("ce_id", ce_id.encode()), ("ce_type", b"cn.fengqiao.test"), ("fq_consumer", b"routing-svc"),
                ("fq_error_type", b"RuntimeError"), ("fq_error", b"boom"), ("fq_attempts", b"5"),
                ("fq_failed_at", b"2025-01-01T00:00:00+00:00"), ("fq_original_topic", topic.encode())])
    finally:
        await producer.stop()
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    listed = await services_cli("dlq", "list", "--topic", topic, **env)
    assert listed.returncode == 0, listed.stderr
    assert f"2 dead letters in {topic}.dlq" in listed.stdout and "RuntimeError: boom" in listed.stdout
    one = await services_cli("dlq", "redrive", "--topic", topic, "--ce-id", ids[0], **env)
    assert "re-drove 1 dead letters" in one.stdout, one.stderr
    assert await pending_dead_letters(bootstrap, [topic]) == {Topic.dlq(topic): 1}
    rest = await services_cli("dlq", "redrive", "--topic", topic, **env)
    assert "re-drove 1 dead letters" in rest.stdout, rest.stderr
    assert await pending_dead_letters(bootstrap, [topic]) == {Topic.dlq(topic): 0}
    assert "0 dead letters" in (await services_cli("dlq", "list", "--topic", topic, **env)).stdout


# --- broker amnesia ---------------------------------------------------------------------------------------------

async def test_broker_amnesia_republish_marks_the_retained_outbox_rows(infra: Infra) -> None:
    url = await asyncio.to_thread(infra.database, "fq_rb_amnesia")
    async with _intake(url, infra.broker.bootstrap) as client:
        await _case_with_note(client)
        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            async def published() -> int | None:
                n = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE published_at IS NOT NULL")
                pending = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE published_at IS NULL")
                return int(n) if n and not pending else None

            sent = await eventually(published, timeout=30, what="the outbox published")
        finally:
            await conn.close()
    r = await services_cli("republish", "--service", "intake", DATABASE_URL=url)
    assert r.returncode == 0, r.stderr
    assert f"{sent} retained intake outbox rows marked for re-publishing" in r.stdout
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE published_at IS NULL") == sent
    finally:
        await conn.close()


# --- replaying a projection -------------------------------------------------------------------------------------

async def test_replay_analytics_from_the_start_rebuilds_its_read_models(infra: Infra) -> None:
    url = await asyncio.to_thread(infra.database, "fq_rb_replay")
    stack = await start_stack(url, infra.broker.bootstrap, names=("intake", "routing", "analytics"))
    try:
        r = await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]

        async def projected() -> bool:
            conn = await asyncpg.connect(db.asyncpg_dsn(url))
            try:
                return bool(await conn.fetchval("SELECT count(*) FROM analytics.case_facts WHERE case_id = $1",
                                                uuid.UUID(case_id)))
            finally:
                await conn.close()

        await eventually(projected, timeout=60, what="the case in analytics")
    finally:
        await stack.close()
    r = await services_cli("replay", "analytics", DATABASE_URL=url, ANALYTICS_PORT=str(free_port()))
    assert r.returncode == 0, r.stderr
    assert not await projected(), "the schema was dropped and migrated empty"
    stack = await start_stack(url, infra.broker.bootstrap, names=("analytics",), import_org=False)
    try:
        await eventually(projected, timeout=90, what="analytics rebuilt from the earliest offsets")
    finally:
        await stack.close()


# --- adding a replica -------------------------------------------------------------------------------------------

async def test_adding_a_replica_keeps_one_relay_leader_and_it_takes_over(infra: Infra) -> None:
    url = await asyncio.to_thread(infra.database, "fq_rb_replica")
    replicas = [_intake(url, infra.broker.bootstrap), _intake(url, infra.broker.bootstrap)]
    try:
        clients = [await r.__aenter__() for r in replicas]
        relays = [r.app.state.runtime.relay for r in replicas]

        async def leaders() -> list[int] | None:
            found = [i for i, relay in enumerate(relays) if relay.is_leader]
            return found if len(found) == 1 else None

        [leader] = await eventually(leaders, timeout=30, what="exactly one relay leader")
        for c in clients:  # the standby is ready too (once its consumer has joined the group)
            await eventually(lambda c=c: _ok(c), timeout=60, what="both replicas ready")
        await replicas[leader].__aexit__()
        assert await eventually(leaders, timeout=30, what="the other replica takes over") == [1 - leader]
        r = await clients[1 - leader].post("/api/v1/cases", json=case_body(), headers=OPERATOR)
        assert r.status_code == 201, r.text
    finally:
        for replica in replicas:
            await replica.__aexit__()


async def _ok(client: AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200
