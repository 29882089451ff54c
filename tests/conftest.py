from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import Infra, Stack, start_infra, start_stack

warnings.filterwarnings("ignore", module="platformdirs")


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """One real PostgreSQL and one real Kafka-protocol broker for the whole test session."""
    inf = start_infra(tmp_path_factory.mktemp("infra"))
    try:
        yield inf
    finally:
        inf.broker.stop()
        inf.pg.stop()


@pytest.fixture(scope="session")
def database_url(infra: Infra) -> str:
    return infra.database("fq_test")


@pytest.fixture(scope="session")
async def stack(infra: Infra, database_url: str) -> AsyncIterator[Stack]:
    """The four services, in-process, on the shared embedded infrastructure, with the demo org imported."""
    s = await start_stack(database_url, infra.broker.bootstrap)
    try:
        yield s
    finally:
        await s.close()
