"""Provable invoice uniqueness (issue #21) in the 2023 case, on an in-process chain and on
Anvil: claims at acceptance submission, roots anchored, proofs checked offline.

The fixtures are test_subsidy.py's (one chain per module, an app per test, the batcher
drained by the test).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, delete, select
from typer.testing import CliRunner

from chainproof.cli import app as cli_app
from chainproof.evidence.intake import submit_digests
from chainproof.evidence.service import build_receipt
from chainproof.evidence.verify import Viewer
from chainproof.invoices import proofs, service, smt
from chainproof.invoices.consistency import verify_consistency_document
from chainproof.invoices.models import InvoiceClaim, InvoiceRoot
from chainproof.invoices.proofs import verify_invoice_proof
from chainproof.store.models import Evidence

from ..factories import pinned
from .test_subsidy import Case, case, chain, submitted_pair  # noqa: F401  (fixtures)


def _approved_pair(case: Case) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: F811
    case.new_round("2023-map", datetime.now(UTC) + timedelta(days=30))
    a, b = submitted_pair(case, "2023-map")
    for app in (a, b):
        case.ok(case.move(app["id"], "reviewer", "under_review"))
        case.ok(case.move(app["id"], "reviewer", "approved"))
    return a, b


def _proofs(case: Case, application_id: int) -> dict[int, dict[str, Any]]:  # noqa: F811
    rows = case.ok(case.get(f"/applications/{application_id}/invoice-proofs", "reviewer"))
    return {r["document_id"]: r for r in rows}


def _valid(case: Case, proof: dict[str, Any]) -> Any:  # noqa: F811
    return verify_invoice_proof(
        proof, case.chain.w3, trust=pinned(case.chain.w3, case.chain.contract)
    )


def test_claims_are_proven_and_reuse_is_provable(case: Case, tmp_path: Path) -> None:  # noqa: F811
    a, b = _approved_pair(case)
    b_doc = case.acceptance_doc(b["id"], b"B acceptance invoice", "30", "No. 888 001", "某科技公司")
    case.ok(case.post(f"/applications/{b['id']}/acceptance/submit", "b"))
    no_root = case.get(f"/applications/{b['id']}/invoice-proofs", "reviewer")
    assert no_root.status_code == 409  # the root is queued, not yet on chain
    case.drain()

    [b_row] = _proofs(case, b["id"]).values()
    assert b_row["document_id"] == b_doc["id"] and b_row["state"] == "claimed_here"
    verdict = _valid(case, b_row["proof"])
    assert verdict.valid and verdict.claimed is True, verdict.reason

    # A declares the same invoice (number and issuer written differently) and a fresh one.
    reused = case.acceptance_doc(a["id"], b"invoice 888", "15", "NO.888001", "某科技公司")
    # The fresh one with the key's own fields: tax id, invoice code, number.
    fresh = case.acceptance_doc(
        a["id"],
        b"invoice 1001",
        "100",
        "No.1001",
        "广西某软件有限公司",
        issuer_tax_id="91450100mA5kx1234q",
        invoice_code="4500231130",
    )
    assert (fresh["issuer_tax_id"], fresh["invoice_code"]) == ("91450100MA5KX1234Q", "4500231130")
    before = _proofs(case, a["id"])
    assert before[reused["id"]]["state"] == "claimed_elsewhere"
    assert before[reused["id"]]["proof"]["claimed_by"] == {
        "application": b["id"],
        "document": b_doc["id"],
    }
    assert before[fresh["id"]]["state"] == "unclaimed"
    absent = _valid(case, before[fresh["id"]]["proof"])
    assert absent.valid and absent.claimed is False  # not claimed before that root's block
    # Its key is the ABI encoding of the three fields, which the proof carries; B's proof
    # (declared with issuer and number only, as every claim before 0018) has none and reads.
    fields = before[fresh["id"]]["proof"]["invoice"]
    assert fields == proofs.invoice_fields("91450100MA5KX1234Q", "4500231130", "NO.1001")
    assert (
        before[fresh["id"]]["proof"]["key"]
        == "0x" + proofs.invoice_key_v2("91450100MA5KX1234Q", "4500231130", "NO.1001").hex()
    )
    assert "invoice" not in b_row["proof"] and _valid(case, b_row["proof"]).valid
    other = {**before[fresh["id"]]["proof"], "invoice": {**fields, "invoice_number": "NO.1002"}}
    assert _valid(case, other).reason == "the key is not the hash of the invoice's fields"

    # The proof file on its own, checked by the CLI with the node and the pinned anchor.
    if case.chain.node.rpc_url is not None:
        trust = tmp_path / "trust.json"
        trust.write_text(json.dumps(pinned(case.chain.w3, case.chain.contract).document()))
        for row in before.values():
            proof_file = tmp_path / f"proof-{row['document_id']}.json"
            proof_file.write_text(json.dumps(row["proof"]))
            args = ["subsidy", "verify-invoice", str(proof_file)]
            args += ["--rpc", case.chain.node.rpc_url, "--trust", str(trust)]
            result = CliRunner().invoke(cli_app, args)
            assert result.exit_code == 0, result.stdout + result.stderr
            assert ("CLAIMED by application" in result.stdout) == (row["state"] != "unclaimed")

    case.ok(case.post(f"/applications/{a['id']}/acceptance/submit", "a"))
    case.drain()
    after = _proofs(case, a["id"])
    assert after[fresh["id"]]["state"] == "claimed_here"
    assert after[reused["id"]]["state"] == "claimed_elsewhere"  # the first claim stays B's
    assert _valid(case, after[fresh["id"]]["proof"]).valid
    # The acceptance check shows the same proofs to the reviewer.
    check = case.ok(case.get(f"/applications/{a['id']}/acceptance", "reviewer"))
    shown = {p["document_id"]: p["state"] for p in check["invoice_proofs"]}
    assert shown == {reused["id"]: "claimed_elsewhere", fresh["id"]: "claimed_here"}


def test_a_proof_against_a_root_not_on_chain_fails(case: Case) -> None:  # noqa: F811
    a, b = _approved_pair(case)
    case.acceptance_doc(b["id"], b"B invoice", "30", "No.1", "某科技公司")
    case.ok(case.post(f"/applications/{b['id']}/acceptance/submit", "b"))
    case.drain()
    [row] = _proofs(case, b["id"]).values()
    proof = row["proof"]
    # A map without B's claim: a valid non-membership proof, but against a root never anchored.
    forged = proofs.proof_document(
        smt.SparseMerkleMap().prove(bytes.fromhex(proof["key"][2:])),
        root=smt.EMPTY,
        size=0,
        claimed_by=None,
        receipt=proof["receipt"],
    )
    verdict = _valid(case, forged)
    assert not verdict.valid and "not for this root record" in (verdict.reason or "")
    # The claim's value changed (another application named): the map proof fails.
    tampered = {**proof, "claimed_by": {"application": a["id"], "document": 1}}
    assert not _valid(case, tampered).valid
    assert _valid(case, proof).valid  # the untouched proof still holds


def _anchored_record(case: Case, root: bytes, size: int) -> dict[str, Any]:  # noqa: F811
    """A root record put on chain as any operator could (evidence, drained): its receipt."""
    digest = proofs.record_digest(proofs.root_record(root, size))
    with Session(case.engine) as session:
        [row] = submit_digests(
            session=session,
            algorithm="keccak256",
            digests=[bytes.fromhex(digest[2:])],
            member_id=None,
        )
        public_id = session.get(Evidence, row.id).public_id  # type: ignore[union-attr]
    case.drain()
    with Session(case.engine) as session:
        receipt = build_receipt(
            session=session, evidence_id=public_id, viewer=Viewer(is_admin=True)
        )
    return receipt.model_dump(mode="json")


def test_removing_an_entry_is_caught_by_the_consistency_check(
    case: Case,  # noqa: F811
    tmp_path: Path,
) -> None:
    a, b = _approved_pair(case)
    case.acceptance_doc(b["id"], b"B invoice", "30", "No.1", "某科技公司")
    case.ok(case.post(f"/applications/{b['id']}/acceptance/submit", "b"))
    case.acceptance_doc(a["id"], b"A invoice", "100", "No.2", "另一公司")
    case.ok(case.post(f"/applications/{a['id']}/acceptance/submit", "a"))
    case.drain()
    with Session(case.engine) as session:
        first, second = session.exec(select(InvoiceRoot).order_by(col(InvoiceRoot.size))).all()
        roots = (first.root, second.root)
    url = f"/api/v1/invoices/consistency?from={roots[0]}&to={roots[1]}"
    assert case.client.get(url, headers=case.keys["b"]).status_code == 403  # reviewers only
    honest = case.client.get(url, headers=case.keys["reviewer"])
    assert honest.status_code == 200, honest.text
    trust = pinned(case.chain.w3, case.chain.contract)

    def check(doc: dict[str, Any]) -> Any:
        return verify_consistency_document(doc, case.chain.w3, trust=trust)

    assert check(honest.json()).valid
    # From the empty map too (no anchor needed for it); never from a root not on chain.
    empty = case.client.get(
        f"/api/v1/invoices/consistency?from=0x{'00' * 32}&to={roots[1]}",
        headers=case.keys["reviewer"],
    )
    assert check(empty.json()).valid and len(empty.json()["steps"]) == 2
    unanchored = {**honest.json(), "to": {**honest.json()["to"], "receipt": None}}
    assert "not shown on chain" in (check(unanchored).reason or "")

    # The operator deletes B's claim and anchors the shrunk map as the later root: both
    # roots are on chain, but the later map is not the earlier one plus the listed claims.
    with Session(case.engine) as session:
        session.exec(delete(InvoiceClaim).where(col(InvoiceClaim.application_id) == b["id"]))
        session.commit()
        rebuilt = service._map(session, None)
    forged = {
        **honest.json(),
        "to": {
            "root_record": proofs.root_record(rebuilt.root(), 2),
            "receipt": _anchored_record(case, rebuilt.root(), 2),
        },
    }
    verdict = check(forged)
    assert not verdict.valid and "an entry was removed" in (verdict.reason or ""), verdict
    served = case.client.get(url, headers=case.keys["reviewer"]).json()  # from the shrunk log
    assert not check(served).valid

    # Offline, as a third party: the CLI with the node and the pinned anchor.
    if case.chain.node.rpc_url is not None:
        anchor = tmp_path / "trust.json"
        anchor.write_text(json.dumps(trust.document()))
        for name, doc, code in (("honest", honest.json(), 0), ("forged", forged, 1)):
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(doc))
            args = ["subsidy", "verify-consistency", str(path)]
            args += ["--rpc", case.chain.node.rpc_url, "--trust", str(anchor)]
            result = CliRunner().invoke(cli_app, args)
            assert result.exit_code == code, result.stdout + result.stderr
            assert result.stdout.startswith("VALID" if code == 0 else "INVALID"), result.stdout
