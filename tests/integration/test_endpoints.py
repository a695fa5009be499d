"""Several JSON-RPC endpoints of one chain (issue 18), each behind a fault proxy in front of
the session's Anvil: dead, lagging, on another network, forging a block hash. Anchoring and
verifying go on through the healthy ones; the bad ones are named in ``/readyz`` and the
metrics, never sent a transaction, and taken back once they recover."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from chainproof.api.app import create_app
from chainproof.chain.context import ChainContext, open_chain
from chainproof.chain.endpoints import EndpointPool, pool_of
from chainproof.chain.managed import AnvilNode
from chainproof.config import DEV_OPERATOR_KEY, Settings
from chainproof.digests import hash_bytes
from chainproof.errors import ConfigError
from chainproof.evidence.batcher import Batcher
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import OPERATOR, verify_digest
from chainproof.receipts import verify_receipt
from chainproof.store.db import make_engine, upgrade

from ..consortium import MakeProxy
from ..factories import pinned
from ..rpc_proxy import RpcProxy

pytestmark = pytest.mark.chain

OpenPool = Callable[..., ChainContext]
OPERATOR_ADDRESS = Account.from_key(DEV_OPERATOR_KEY).address


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    upgrade(url)
    return make_engine(url)


@pytest.fixture
def open_pool(tmp_path: Path) -> Iterator[OpenPool]:
    """ChainProof on ``CHAINPROOF_CHAIN=url1,url2,...`` (the proxies' URLs), registry deployed;
    health rounds every 50 ms so the tests need not wait."""
    opened: list[ChainContext] = []

    def open_(proxies: list[RpcProxy], *, paths: list[str] | None = None) -> ChainContext:
        ctx = open_chain(
            chain=",".join(
                p.url + path for p, path in zip(proxies, paths or [""] * len(proxies), strict=True)
            ),
            data_dir=tmp_path / f"data{len(opened)}",
            operator_key=DEV_OPERATOR_KEY,
        )
        opened.append(ctx)
        pool = pool_of(ctx.node)
        assert pool is not None
        pool.check_interval = 0.05
        return ctx

    yield open_
    for ctx in opened:
        ctx.stop()


def _pool(ctx: ChainContext) -> EndpointPool:
    pool = pool_of(ctx.node)
    assert pool is not None
    return pool


def _anchor(ctx: ChainContext, engine: Engine, tag: str, n: int = 5) -> list[bytes]:
    digests = [hash_bytes(f"{tag}-{i}".encode(), "sha256") for i in range(n)]
    with Session(engine) as s:
        submit_digests(session=s, algorithm="sha256", digests=digests, member_id=None)
    Batcher(engine=engine, chain=ctx, batch_size=100, interval_ms=10).drain(timeout=60)
    return digests


def _until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_dead_and_lagging_endpoints_are_set_aside_and_anchoring_goes_on(
    network: AnvilNode, make_proxy: MakeProxy, open_pool: OpenPool, engine: Engine, tmp_path: Path
) -> None:
    network._rpc("anvil_mine", [hex(30)])  # a head a lag can be seen behind
    dead, lagging, good = (make_proxy(network) for _ in range(3))
    dead.drop = True
    lagging.head_lag = 20  # more than the default 3 blocks of tolerance
    # The bad ones come first in the list: the pool must route past them.
    # A hosted endpoint's token sits in its path: it must never be shown.
    ctx = open_pool([dead, lagging, good], paths=["", "", "/secret-token"])
    pool = _pool(ctx)
    assert [ep.healthy for ep in pool.endpoints] == [False, False, True]

    digests = _anchor(ctx, engine, "three")
    with Session(engine) as s:
        for d in digests:
            verdict = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=d)
            assert verdict["verdict"] == "anchored"
    assert good.sent_raw >= 2  # the registry's deployment and the anchor
    assert dead.sent_raw == 0 and lagging.sent_raw == 0

    settings = Settings(
        env="test",
        data_dir=tmp_path / "app",
        database_url=str(engine.url),
        chain=",".join(p.url for p in (dead, lagging, good)),
        metrics_public=True,
    )
    with TestClient(create_app(settings, chain=ctx, run_batcher=False)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        detail = ready.json()["checks"]["endpoints"]["detail"]
        assert f"#0 http://127.0.0.1:{dead.port} set aside: no answer" in detail
        assert f"#1 http://127.0.0.1:{lagging.port} set aside: lagging" in detail
        assert f"#2 http://127.0.0.1:{good.port}/… preferred" in detail
        assert "secret-token" not in ready.text
        metrics = client.get("/metrics").text
        assert (
            f'chainproof_rpc_endpoint_healthy{{endpoint="#0 http://127.0.0.1:{dead.port}"}} 0.0'
            in metrics
        )
        assert (
            f'chainproof_rpc_endpoint_healthy{{endpoint="#2 http://127.0.0.1:{good.port}/…"}} 1.0'
            in metrics
        )
        assert "secret-token" not in metrics

        # Recovery: both are taken back, and the first listed is preferred again.
        dead.heal()
        lagging.heal()
        _until(lambda: all(ep.healthy for ep in pool.endpoints), "endpoints not taken back")
        detail = client.get("/readyz").json()["checks"]["endpoints"]["detail"]
        assert f"#0 http://127.0.0.1:{dead.port} preferred" in detail
    _anchor(ctx, engine, "after-recovery", 2)
    assert dead.sent_raw == 1

    # All down: not ready, and the reason names each.
    for p in (dead, lagging, good):
        p.drop = True
    _until(lambda: not pool.healthy(), "endpoints still healthy")
    assert ctx.status(fresh=True).code == "unreachable"


def test_a_preferred_endpoint_that_dies_mid_run_fails_over(
    network: AnvilNode, make_proxy: MakeProxy, open_pool: OpenPool, engine: Engine
) -> None:
    first, second = make_proxy(network), make_proxy(network)
    ctx = open_pool([first, second])
    _pool(ctx).check_interval = 3600  # no health round: the failing request itself moves on
    before = first.sent_raw, second.sent_raw  # the registry's deployment went to the first
    first.drop = True
    digests = _anchor(ctx, engine, "failover", 3)
    assert (first.sent_raw, second.sent_raw) == (before[0], before[1] + 1)
    assert not _pool(ctx).endpoints[0].healthy
    with Session(engine) as s:
        verdict = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digests[0])
        assert verdict["verdict"] == "anchored"


def test_an_endpoint_on_another_chain_is_refused_and_never_used(
    network: AnvilNode,
    other_anvil: AnvilNode,
    make_proxy: MakeProxy,
    open_pool: OpenPool,
    engine: Engine,
) -> None:
    stranger, a, b = make_proxy(other_anvil), make_proxy(network), make_proxy(network)
    other_nonce = other_anvil.web3().eth.get_transaction_count(OPERATOR_ADDRESS)
    ctx = open_pool([stranger, a, b])  # listed first: it would be preferred if it were healthy
    pool = _pool(ctx)
    assert pool.endpoints[0].reason is not None
    assert pool.endpoints[0].reason.startswith("another chain (genesis")
    digests = _anchor(ctx, engine, "stranger")
    with Session(engine) as s:
        receipt = build_receipt(
            session=s, evidence_id=_public_id(engine, digests[0]), viewer=OPERATOR
        )
    trust = pinned(network.web3(), ctx.contract)
    assert verify_receipt(receipt, network.web3(), trust=trust).valid
    assert stranger.sent_raw == 0
    assert other_anvil.web3().eth.get_transaction_count(OPERATOR_ADDRESS) == other_nonce
    assert not other_anvil.web3().eth.get_code(ctx.contract)  # type: ignore[arg-type]
    assert "#0" in pool.summary() and "another chain" in pool.summary()


def test_k_of_n_verification_reports_a_forged_block_hash(
    network: AnvilNode,
    make_proxy: MakeProxy,
    open_pool: OpenPool,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
) -> None:
    monkeypatch.setenv("CHAINPROOF_VERIFY_QUORUM", "3")
    a, b, forger = (make_proxy(network) for _ in range(3))
    ctx = open_pool([a, b, forger])
    [digest] = _anchor(ctx, engine, "quorum", 1)
    with Session(engine) as s:
        agreed = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digest)
        assert agreed["verdict"] == "anchored"
        assert agreed["endpoints"] == {"required": 3, "agreed": 3, "asked": 3}
        block = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digest, viewer=OPERATOR)[
            "block_number"
        ]
        forger.forged[block] = "0x" + "0f" * 32
        disputed = verify_digest(db=s, chain=ctx, algorithm="sha256", digest=digest)
    assert disputed["verdict"] == "chain_mismatch"
    assert disputed["endpoints"] == {"required": 3, "agreed": 2, "asked": 3}
    assert "only 2 of 3" in disputed["reason"]


def test_a_list_of_chains_must_be_urls() -> None:
    from chainproof.chain.nodes import make_node

    with pytest.raises(ConfigError, match="two or more"):
        make_node("anvil,http://127.0.0.1:1", data_dir=Path("/nonexistent"))


def _public_id(engine: Engine, digest: bytes) -> str:
    from sqlmodel import select

    from chainproof.store.models import Evidence

    with Session(engine) as s:
        ev = s.exec(select(Evidence).where(Evidence.digest == "0x" + digest.hex())).one()
        return ev.public_id


def test_a_slow_endpoint_is_set_aside_and_taken_back(
    network: AnvilNode, make_proxy: MakeProxy
) -> None:
    slow, quick = make_proxy(network), make_proxy(network)
    pool = EndpointPool([slow.url, quick.url], timeout=0.3)
    try:
        slow.delay = 1.0  # answers, but later than a health probe waits
        pool.check()
        assert not pool.endpoints[0].healthy and pool.endpoints[1].healthy
        assert pool.endpoints[0].reason == "no answer (ReadTimeout)"
        assert pool.preferred() is pool.endpoints[1]
        slow.heal()
        pool.check()
        assert pool.preferred() is pool.endpoints[0]
    finally:
        pool.close()
