"""Attachments on an S3-compatible object store: moto's standalone server (``moto[server]``, a real HTTP server
speaking the S3 protocol, started here on a free port) behind an intake replica configured with
``INTAKE_STORAGE_BACKEND=s3``; the upload is checked in the bucket with a client of its own (botocore)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiobotocore.session import get_session
from asgi_lifespan import LifespanManager
from moto.server import ThreadedMotoServer

from intake_svc.adapters.storage import BlobNotFound, S3Storage, new_key
from intake_svc.app import create_app
from services.embedded import free_port
from services.registry import SERVICES
from shared.auth import Role
from tests.intake.test_records import ELF, PNG
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, auth, case_body

OPERATOR = auth(Role.OPERATOR, "S1", "op-s3")
OTHER_GRID = auth(Role.GRID_WORKER, "G02", "U-G02-1")
S3 = {"s3_bucket": "fq-test-files", "s3_region": "us-east-1", "s3_access_key_id": "testing",
      "s3_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
async def s3_intake(stack: Stack, s3_endpoint: str) -> AsyncIterator[httpx.AsyncClient]:
    svc = next(s for s in SERVICES if s.name == "intake")
    from tests.support import settings_for

    app = create_app(settings_for(svc, stack.database_url, stack.bootstrap, run_relay=False, run_consumer=False,
                                  storage_backend="s3", s3_endpoint_url=s3_endpoint, attachment_max_bytes=4096,
                                  **S3))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


async def _objects(endpoint: str) -> dict[str, bytes]:
    async with get_session().create_client("s3", endpoint_url=endpoint, region_name=S3["s3_region"],
                                           aws_access_key_id="testing", aws_secret_access_key="testing") as s3:
        listed = await s3.list_objects_v2(Bucket=S3["s3_bucket"])
        found: dict[str, bytes] = {}
        for item in listed.get("Contents", []):
            answer = await s3.get_object(Bucket=S3["s3_bucket"], Key=item["Key"])
            async with answer["Body"] as body:
                found[item["Key"]] = await body.read()
        return found


async def test_the_s3_backend_stores_reads_and_deletes(s3_endpoint: str) -> None:
    import uuid

    storage = S3Storage(bucket="fq-adapter-test", endpoint_url=s3_endpoint, access_key_id="testing",
                        secret_access_key="testing", create_bucket=True)
    await storage.start()
    try:
        key = new_key(uuid.uuid4())
        await storage.put(key, PNG, "image/png")
        assert await storage.get(key) == PNG
        await storage.delete(key)
        with pytest.raises(BlobNotFound):
            await storage.get(key)
        with pytest.raises(ValueError):
            await storage.put("../etc/passwd", b"x", "text/plain")
    finally:
        await storage.close()


async def test_an_upload_lands_in_the_bucket_and_round_trips(stack: Stack, s3_intake: httpx.AsyncClient,
                                                             s3_endpoint: str) -> None:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    small = PNG[:2000]
    r = await s3_intake.post(f"/api/v1/cases/{case['id']}/attachments", headers=OPERATOR,
                             files={"file": ("合同.png", small, "image/png")})
    assert r.status_code == 201, r.text
    stored = {k: v for k, v in (await _objects(s3_endpoint)).items() if k.startswith(case["id"])}
    assert list(stored.values()) == [small]
    assert r.json()["sha256"] == hashlib.sha256(small).hexdigest()
    got = await s3_intake.get(f"/api/v1/cases/{case['id']}/attachments/{r.json()['id']}/content", headers=OPERATOR)
    assert got.status_code == 200 and got.content == small
    assert_problem(await s3_intake.get(f"/api/v1/cases/{case['id']}/attachments/{r.json()['id']}/content",
                                       headers=OTHER_GRID), 404, "case_not_found")


async def test_refused_uploads_leave_nothing_in_the_bucket(stack: Stack, s3_intake: httpx.AsyncClient,
                                                           s3_endpoint: str) -> None:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    files: list[tuple[dict[str, Any], int, str]] = [
        ({"file": ("a.png", (PNG * 2)[:4097], "image/png")}, 413, "file_too_large"),
        ({"file": ("a.png", ELF, "image/png")}, 422, "validation_failed")]
    for f, status, code in files:
        body = assert_problem(await s3_intake.post(f"/api/v1/cases/{case['id']}/attachments", headers=OPERATOR,
                                                   files=f), status, code)
        assert body["errors"][0]["field"] == "file"
    assert not [k for k in await _objects(s3_endpoint) if k.startswith(case["id"])]
