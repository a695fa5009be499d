"""The CLI's chain writes (issue 15): `contracts deploy --new` puts its records in the
database at once, for every host; `contracts transfer-admin` goes through the chain writer
(a ``chain_op`` row, confirmed with the one transaction that began the transfer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hexbytes import HexBytes
from sqlmodel import Session, select
from typer.testing import CliRunner

from chainproof.chain.context import open_chain
from chainproof.cli import app
from chainproof.config import DEV_OPERATOR_KEY
from chainproof.store.db import make_engine
from chainproof.store.ops import ChainOp
from chainproof.store.shared_files import DeploymentFile

from .test_deployments import anvil_url  # noqa: F401  (the fixture)

pytestmark = pytest.mark.chain
OFFLINE = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from chainproof.config import get_settings

    data = tmp_path / "data"
    monkeypatch.setenv("CHAINPROOF_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def test_deploy_new_reaches_the_database_and_transfer_admin_goes_through_the_writer(
    settings_env: Path,
    anvil_url: str,  # noqa: F811
) -> None:
    data = settings_env
    runner = CliRunner()
    first = runner.invoke(app, ["contracts", "deploy", "--chain", anvil_url])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["contracts", "deploy", "--chain", anvil_url, "--new"])
    assert again.exit_code == 0, again.output
    assert "retired the old record" in again.output

    engine = make_engine(f"sqlite:///{data / 'chainproof.db'}")
    try:
        record = next((data / "deployments").glob("EvidenceRegistry-*[0-9].json"))
        with Session(engine) as s:
            stored = {f.name: f.body for f in s.exec(select(DeploymentFile)).all()}
        # The new record, not the retired one, is what another host starting now gets.
        assert stored[record.name] == record.read_text()
        new_address = json.loads(record.read_text())["address"]
        assert any(".retired-" in name for name in stored), sorted(stored)

        begun = runner.invoke(
            app, ["contracts", "transfer-admin", "--chain", anvil_url, "--to", OFFLINE]
        )
        assert begun.exit_code == 0, begun.output
        assert f"admin transfer to {OFFLINE} begun" in begun.output
        with Session(engine) as s:
            ops = list(s.exec(select(ChainOp)).all())
        assert [(op.kind, op.status) for op in ops] == [("begin_admin_transfer", "confirmed")]
        ctx = open_chain(chain=anvil_url, data_dir=data, operator_key=DEV_OPERATOR_KEY)
        try:
            assert ctx.contract == new_address
            assert ctx.registry.contract.functions.pendingDefaultAdmin().call()[0] == OFFLINE
            tx = ctx.w3.eth.get_transaction(ops[0].tx_hash)  # type: ignore[arg-type]
            assert tx["to"] == new_address
            selector = ctx.registry.contract.functions.beginDefaultAdminTransfer(
                OFFLINE
            )._encode_transaction_data()[:10]
            assert HexBytes(tx["input"]).to_0x_hex()[:10] == selector  # type: ignore[index]
            # Asked again: the chain holds it already, so no second transaction.
            twice = runner.invoke(
                app, ["contracts", "transfer-admin", "--chain", anvil_url, "--to", OFFLINE]
            )
            assert twice.exit_code == 0, twice.output
            with Session(engine) as s:
                second = s.exec(select(ChainOp).order_by(ChainOp.id.desc())).first()  # type: ignore[union-attr]
            assert second is not None and second.status == "confirmed"
            assert second.tx_hash is None
        finally:
            ctx.stop()
    finally:
        engine.dispose()
