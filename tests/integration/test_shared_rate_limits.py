"""A rate limit holds across two replicas when they count in a shared store (issue 15.3).

Two apps (two replicas) on one embedded chain, each with its own data dir and database,
both counting in one real Redis (``CHAINPROOF_RATE_LIMIT_STORAGE``): the anonymous verify
budget of 5 per minute is 5 in all, whichever replica answers. The control: with the
default in-memory storage the same requests get 5 on each (10 in all).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext
from chainproof.config import Settings

from ..apps import TestClient
from ..redisd import redis_url  # noqa: F401  (the fixture)

BUDGET = 5


def _replica(chain: ChainContext, data: Path, storage: str) -> TestClient:
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'db.sqlite'}",
        chain="embedded",
        rate_limit_verify=f"{BUDGET}/minute",
        rate_limit_storage=storage,
    )
    return TestClient(create_app(settings, chain=chain, run_batcher=False))


def _answers(chain: ChainContext, tmp_path: Path, storage: str) -> list[int]:
    a = _replica(chain, tmp_path / "a", storage)
    b = _replica(chain, tmp_path / "b", storage)
    with a, b:
        codes = []
        for i in range(2 * BUDGET):
            replica = (a, b)[i % 2]
            digest = "0x" + secrets.token_hex(32)
            codes.append(replica.post("/api/v1/verify", json={"digest": digest}).status_code)
        return codes


def test_two_replicas_share_one_budget_in_redis(
    chain: ChainContext,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # A key of its own in the shared store: another test's counts are not this one's.
    codes = _answers(chain, tmp_path, f"{redis_url}/{secrets.randbelow(15) + 1}")
    assert codes.count(200) == BUDGET, codes
    assert codes[BUDGET:] == [429] * BUDGET, codes


def test_in_memory_each_replica_has_its_own_budget(
    chain: ChainContext,
    tmp_path: Path,
) -> None:
    codes = _answers(chain, tmp_path, "memory://")
    assert codes == [200] * (2 * BUDGET), codes
