"""Where attachments' bytes live: one small interface, two backends.

- ``LocalStorage``: a directory (``INTAKE_STORAGE_DIR``, ``./var/intake-files`` by default): the embedded stack's.
- ``S3Storage``: any S3-compatible object store (AWS S3, MinIO, Ceph RGW, 阿里云 OSS / 腾讯云 COS in their S3 mode)
  through ``aiobotocore``; bucket, endpoint and credentials from settings. One client for the app's lifetime.

Keys are opaque (``<case id>/<uuid>``), never a file name: nothing a user typed reaches a path or an object name.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from aiobotocore.session import get_session
from botocore.exceptions import ClientError

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}$")


class BlobNotFound(LookupError):
    pass


class BlobStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


def new_key(case_id: uuid.UUID) -> str:
    return f"{case_id}/{uuid.uuid4()}"


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("not a storage key this service made")
    return key


class LocalStorage:
    """Files under ``root``, written to a temporary name then renamed (a reader never sees half a file)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Storage:
    """Objects in one bucket of an S3-compatible store. ``start`` opens the client (and creates the bucket when
    ``create_bucket`` is set: development and tests; production buckets are made by whoever runs the store)."""

    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 create_bucket: bool = False) -> None:
        self.bucket = bucket
        self._options: dict[str, Any] = {"region_name": region, "endpoint_url": endpoint_url,
                                         "aws_access_key_id": access_key_id,
                                         "aws_secret_access_key": secret_access_key}
        self._create_bucket = create_bucket
        self._exit = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        self._client = await self._exit.enter_async_context(get_session().create_client("s3", **self._options))
        if self._create_bucket:
            try:
                await self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                await self._client.create_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        await self._exit.aclose()
        self._client = None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._client.put_object(Bucket=self.bucket, Key=_checked(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        try:
            answer = await self._client.get_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobNotFound(key) from exc
            raise
        async with answer["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=_checked(key))


@asynccontextmanager
async def opened(storage: BlobStorage) -> AsyncIterator[BlobStorage]:
    """The storage ready for the app's lifetime (an S3 client is opened and closed; a directory needs nothing)."""
    if isinstance(storage, S3Storage):
        await storage.start()
        try:
            yield storage
        finally:
            await storage.close()
    else:
        yield storage
