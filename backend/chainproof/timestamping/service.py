"""The TSA as the server runs it: its PKI and authority, and each token queued as evidence.

One :class:`Tsa` per app (``app.state``), made on first use: the development PKI is then
created in the data dir (``pki.load_pki``), or the configured one read.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from chainproof.config import Settings
from chainproof.digests import Algorithm, parse_hex, to_hex
from chainproof.errors import ChainProofError
from chainproof.evidence import intake
from chainproof.store.models import Evidence
from chainproof.timestamping.authority import Issued, TimeStampAuthority, make_query
from chainproof.timestamping.models import TsaStamp, stamp_of
from chainproof.timestamping.pki import Pki, load_pki

_lock = threading.Lock()


@dataclass(frozen=True)
class Tsa:
    pki: Pki
    authority: TimeStampAuthority


def pki_dir(settings: Settings) -> Path:
    return settings.pki_dir or settings.data_dir / "pki"


def tsa_of(state: Any, settings: Settings) -> Tsa:
    """The app's TSA (``state`` is ``app.state``), made once."""
    with _lock:
        tsa: Tsa | None = getattr(state, "chainproof_tsa", None)
        if tsa is None:
            password = settings.pki_password.get_secret_value() if settings.pki_password else None
            pki = load_pki(
                pki_dir(settings), password=password, create=settings.env != "production"
            )
            authority = TimeStampAuthority(
                pki.tsa, policy=settings.tsa_policy_oid, accuracy_ms=settings.tsa_accuracy_ms
            )
            tsa = Tsa(pki, authority)
            state.chainproof_tsa = tsa
        return tsa


def anchored_digest(issued: Issued) -> tuple[Algorithm, bytes]:
    """What the anchoring queue takes for a token: a 32-byte SHA-256 or SM3 imprint itself
    (the document's own digest, so the file verifies as it is); for a longer imprint the
    SHA-256 of the signed TSTInfo, which holds the imprint, the time and the serial."""
    if issued.algorithm in ("sha256", "sm3"):
        return issued.algorithm, issued.imprint  # type: ignore[return-value]
    return "sha256", hashlib.sha256(issued.tst_info).digest()


def queue_stamp(
    *, engine: Engine, issued: Issued, member_id: int | None, api_key_id: int | None
) -> intake.Accepted:
    """Queues the token's digest as evidence of ``member_id`` (None: the platform) and keeps
    the token with it."""
    algorithm, digest = anchored_digest(issued)
    with Session(engine) as session:
        accepted = intake.submit_digests(
            session=session,
            algorithm=algorithm,
            digests=[digest],
            member_id=member_id,
            label=f"RFC 3161 token {issued.serial}",
        )[0]
        session.add(
            TsaStamp(
                serial=str(issued.serial),
                evidence_id=accepted.id,
                member_id=member_id,
                api_key_id=api_key_id,
                gen_time=issued.gen_time,
                algorithm=issued.algorithm,
                imprint=to_hex(issued.imprint),
                token=issued.token,
            )
        )
        session.commit()
        return accepted


def leaf_imprint(algorithm: str, digest: bytes, leaf_hash: bytes) -> tuple[str, bytes]:
    """What a token issued for an already-queued document stamps: its digest when that is a
    SHA-256 or SM3 imprint, else the SHA-256 of its leaf hash (keccak-256 has no RFC 3161
    OID)."""
    if algorithm in ("sha256", "sm3"):
        return algorithm, digest
    return "sha256", hashlib.sha256(leaf_hash).digest()


def ensure_stamp(session: Session, evidence: Evidence, tsa: Tsa) -> TsaStamp:
    """The evidence's token: the one its TSA query made, or one issued now over its digest
    (and kept, so every bundle and certificate of it carries the same token)."""
    assert evidence.id is not None
    found = stamp_of(session, evidence.id)
    if found is not None:
        return found
    algorithm, imprint = leaf_imprint(
        evidence.algorithm, parse_hex(evidence.digest), parse_hex(evidence.leaf_hash)
    )
    query = make_query(algorithm, imprint)
    answer = tsa.authority.respond(query)
    if not isinstance(answer, Issued):  # our own well-formed query: never
        raise ChainProofError(f"the TSA refused its own query: {answer.reason}")
    stamp = TsaStamp(
        serial=str(answer.serial),
        evidence_id=evidence.id,
        member_id=evidence.member_id,
        gen_time=answer.gen_time,
        algorithm=answer.algorithm,
        imprint=to_hex(answer.imprint),
        token=answer.token,
    )
    session.add(stamp)
    session.commit()
    # Two requests racing here each keep a token; stamp_of reads the first from then on.
    return stamp
