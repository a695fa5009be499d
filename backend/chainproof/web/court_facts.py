"""What a court asks of a certificate, beyond the chain facts ``web/certificate.py`` prints
(人民法院在线诉讼规则 Art. 16–19): how the document arrived before the chain (name, size and
type as received, receive time, channel, uploading key), who deposited it (org, address, its
EIP-712 signature), the TSA's time and token serial, the chain's genesis and confirmations,
the time interval [not before, not after], how to verify it, and the verification report
with named checks, in Chinese and English.

:func:`court_facts` gathers them; :func:`court_sections` lays them out as the PDF's extra
tables; :func:`court_certificate_pdf` renders and signs (``web/signed_certificate.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlmodel import Session

from chainproof.api.deps import published_rpc_url
from chainproof.chain.trust_anchor import server_trust_anchor
from chainproof.errors import ChainError
from chainproof.evidence import freshness, service
from chainproof.evidence.proofs import trees_of
from chainproof.evidence.record_signature import ensure_member_signature, recover_record
from chainproof.evidence.records import record_of
from chainproof.evidence.verify import Viewer
from chainproof.receipts import verify_receipt
from chainproof.runtime import Runtime
from chainproof.store.models import ApiKey, Member
from chainproof.timestamping.check import check_token, load_roots
from chainproof.timestamping.service import ensure_stamp, tsa_of
from chainproof.trust import TrustAnchor
from chainproof.web.certificate import Certificate, Section, certificate_for, render_pdf
from chainproof.web.formatting import cst_time, utc_iso
from chainproof.web.signed_certificate import sign_certificate

CHANNELS = {
    "web": ("网页", "web page"),
    "api": ("接口（API）", "API"),
    "cli": ("命令行（CLI）", "command line (CLI)"),
    "tsa": ("时间戳服务（RFC 3161）", "time-stamp query (RFC 3161)"),
}
CHECK_NAMES = {
    "chain": ("区块链节点", "chain node"),
    "offline": ("默克尔证明", "Merkle proof"),
    "chain_id": ("链 ID", "chain id"),
    "genesis": ("创世区块", "genesis block"),
    "registry": ("存证合约", "registry"),
    "contract_code": ("合约代码", "contract code"),
    "transaction": ("上链交易", "transaction"),
    "anchored_event": ("存证事件", "Anchored event"),
    "block": ("区块", "block"),
    "anchor": ("存证记录", "anchor record"),
    "leaf_revocation": ("未被撤销", "not revoked"),
    "contract_verify": ("合约验证", "contract verify()"),
    "time_stamp": ("可信时间戳", "RFC 3161 time stamp"),
    "member_signature": ("成员签名", "member signature"),
}


@dataclass(frozen=True)
class CourtFacts:
    received_at: str | None = None
    channel: str | None = None
    uploader: str | None = None
    client_name: str | None = None
    client_size: int | None = None
    client_type: str | None = None
    member_name: str | None = None
    member_address: str | None = None
    member_signature: str | None = None
    tsa_time: str | None = None
    tsa_serial: str | None = None
    tsa_name: str | None = None
    genesis_hash: str | None = None
    confirmations: int | None = None
    not_before: int | None = None
    not_before_block: int | None = None
    not_after: int | None = None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    cli_command: str = ""
    bundle_path: str = ""
    anchor_url: str | None = None


def trust_anchor_of(runtime: Runtime) -> TrustAnchor | None:
    """The server's anchor for a certificate to print; None while it has none (degraded)."""
    try:
        return server_trust_anchor(
            runtime.chain,
            data_dir=runtime.settings.data_dir,
            public_rpc_url=published_rpc_url(runtime.settings, runtime.chain),
        )
    except ChainError:
        return None


def certificate_of(
    *,
    session: Session,
    runtime: Runtime,
    evidence_id: str,
    viewer: Viewer,
    anchor: TrustAnchor | None,
) -> Certificate:
    """``certificate_for`` with what ``runtime`` knows: the public URL and the chain's trees."""
    return certificate_for(
        session=session,
        evidence_id=evidence_id,
        base_url=runtime.settings.public_url,
        viewer=viewer,
        anchor=anchor,
        trees=trees_of(runtime.chain),
    )


def court_facts(
    *,
    session: Session,
    runtime: Runtime,
    cert: Certificate,
    viewer: Viewer,
    anchor: TrustAnchor | None,
    tsa_state: Any,
) -> CourtFacts:
    """Every court field of ``cert``'s evidence; makes the TSA token and the member's record
    signature the first time (both kept, so every later certificate states the same)."""
    settings = runtime.settings
    ev = service.visible_evidence(session=session, evidence_id=cert.evidence_id, viewer=viewer)
    tsa = tsa_of(tsa_state, settings)
    stamp = ensure_stamp(session, ev, tsa)
    token = check_token(stamp.token, load_roots(tsa.pki.ca_pem()), [tsa.pki.tsa.cert])
    chain = runtime.chain
    receipt = service.build_receipt(
        session=session, evidence_id=cert.evidence_id, viewer=viewer, trees=trees_of(chain)
    )
    w3 = getattr(chain, "w3", None)  # None while the server runs degraded (no chain)
    checks: list[tuple[str, bool, str]] = (
        list(verify_receipt(receipt, w3, trust=anchor).checks)
        if w3 is not None
        else [("chain", False, "the server's node is not the deployment's chain")]
    )
    checks.append(("time_stamp", True, f"token {token.serial} by {token.tsa}"))
    record = record_of(session, ev.id) if ev.id is not None else None
    member = session.get(Member, ev.member_id) if ev.member_id is not None else None
    signature = None
    if record is not None:
        signature = ensure_member_signature(
            session,
            ev,
            record,
            chain_id=cert.chain_id,
            registry=cert.contract,
            secret=settings.secret_key.get_secret_value(),
        )
        if signature is not None and member is not None:
            signer = recover_record(ev, record, chain_id=cert.chain_id, registry=cert.contract)
            ok = signer is not None and signer == member.chain_address
            checks.append(("member_signature", ok, f"EIP-712 record signature recovers {signer}"))
    key = session.get(ApiKey, record.api_key_id) if record and record.api_key_id else None
    window, head = None, None
    if w3 is not None:
        try:
            window = freshness.interval(session, ev, w3)
            head = int(w3.eth.block_number)
        except Exception:  # the node went away: the chain facts stay unknown
            window, head = None, None
    return CourtFacts(
        received_at=record.received_at.isoformat(timespec="seconds") if record else None,
        channel=record.channel if record else None,
        uploader=f"#{key.id} {key.prefix}… ({key.role})" if key else None,
        client_name=record.client_name if record else None,
        client_size=record.client_size if record else None,
        client_type=record.client_type if record else None,
        member_name=member.name if member else None,
        member_address=member.chain_address if member else None,
        member_signature=signature,
        tsa_time=token.gen_time.isoformat(),
        tsa_serial=str(token.serial),
        tsa_name=token.tsa,
        genesis_hash=anchor.genesis_hash if anchor else None,
        confirmations=(
            head - cert.block_number + 1
            if head is not None and cert.block_number is not None
            else None
        ),
        not_before=window["not_before"]["timestamp"] if window else None,
        not_before_block=window["not_before"]["number"] if window else None,
        not_after=window["not_after"] if window else cert.block_timestamp,
        checks=checks,
        cli_command=(
            f"chainproof bundle {cert.evidence_id} -o proof.zip && chainproof verify-bundle "
            f"proof.zip --trust {cert.anchor_url}"
        ),
        bundle_path=f"/api/v1/evidence/{cert.evidence_id}/bundle",
        anchor_url=cert.anchor_url,
    )


def court_json(facts: CourtFacts) -> dict[str, Any]:
    """The facts as ``GET /api/v1/evidence/{id}/court`` answers them (the page's)."""
    data = asdict(facts)
    zh, en = CHANNELS.get(facts.channel or "", (facts.channel, facts.channel))
    data["channel_label"] = f"{zh} / {en}" if facts.channel else None
    data["width"] = (
        facts.not_after - facts.not_before
        if facts.not_before is not None and facts.not_after is not None
        else None
    )
    data["checks"] = [
        {
            "name": name,
            "ok": ok,
            "detail": detail,
            "zh": CHECK_NAMES.get(name, (name, name))[0],
            "en": CHECK_NAMES.get(name, (name, name))[1],
        }
        for name, ok, detail in facts.checks
    ]
    return data


def court_sections(facts: CourtFacts) -> list[Section]:
    """The PDF's court tables: (中文 title, English title, rows of (中文, English, value,
    monospace))."""

    def text(value: Any) -> str:
        return "—" if value is None or value == "" else str(value)

    channel = CHANNELS.get(facts.channel or "", (facts.channel, facts.channel))
    before = [
        ("接收时间", "Received at", text(facts.received_at), False),
        ("提交渠道", "Channel", text(channel[0] and f"{channel[0]} / {channel[1]}"), False),
        ("上传密钥", "Uploading key", text(facts.uploader), True),
        ("文件名（客户端）", "File name (as sent)", text(facts.client_name), False),
        ("文件大小（字节）", "File size (bytes)", text(facts.client_size), False),
        ("文件类型（客户端）", "File type (as sent)", text(facts.client_type), False),
        ("存证主体", "Depositor (org)", text(facts.member_name or "平台 / the platform"), False),
        ("主体地址", "Depositor address", text(facts.member_address), True),
        (
            "主体 EIP-712 签名",
            "Depositor's EIP-712 signature",
            text(facts.member_signature or "未签名（自持密钥的成员签署上链交易）/ not signed"),
            bool(facts.member_signature),
        ),
    ]
    if facts.not_before is not None and facts.not_after is not None:
        width = facts.not_after - facts.not_before
        interval = (
            f"{cst_time(facts.not_before)} — {cst_time(facts.not_after)}\n"
            f"{utc_iso(facts.not_before)} — {utc_iso(facts.not_after)}\n"
            f"宽度 / width: {width} s (不早于区块 / not before block {facts.not_before_block})"
        )
    else:
        interval = f"不晚于 / not after {utc_iso(facts.not_after)}"
    time_rows = [
        ("时间区间", "Time interval", interval, False),
        ("可信时间戳时间", "TSA time (RFC 3161)", text(facts.tsa_time), False),
        ("时间戳序列号", "TSA token serial", text(facts.tsa_serial), True),
        ("时间戳机构", "Time-stamp authority", text(facts.tsa_name), False),
        ("创世区块哈希", "Genesis hash", text(facts.genesis_hash), True),
        ("确认数", "Confirmations", text(facts.confirmations), False),
    ]
    how = [
        ("命令行核验", "Verify (CLI)", facts.cli_command, True),
        ("信任锚文档", "Trust anchor document", text(facts.anchor_url), True),
        (
            "离线证据包",
            "Offline bundle",
            f"{facts.bundle_path}\n（无需网络即可核验 / verifies with no network）",
            False,
        ),
    ]
    report = [
        (
            CHECK_NAMES.get(name, (name, name))[0],
            CHECK_NAMES.get(name, (name, name))[1],
            f"{'通过 / passed' if ok else '未通过 / FAILED'}: {detail}",
            False,
        )
        for name, ok, detail in facts.checks
    ]
    return [
        ("上链前记录（第十八条）", "Before the chain (Art. 18)", before),
        ("时间", "Time", time_rows),
        ("核验报告", "Verification report", report),
        ("如何核验", "How to verify", how),
    ]


def court_certificate_pdf(
    *,
    session: Session,
    runtime: Runtime,
    cert: Certificate,
    viewer: Viewer,
    anchor: TrustAnchor | None,
    tsa_state: Any,
) -> bytes:
    """The certificate PDF with the court's sections, PAdES-signed with our TSA's stamp."""
    facts = court_facts(
        session=session,
        runtime=runtime,
        cert=cert,
        viewer=viewer,
        anchor=anchor,
        tsa_state=tsa_state,
    )
    tsa = tsa_of(tsa_state, runtime.settings)
    pdf = render_pdf(cert, sections=court_sections(facts))
    return sign_certificate(pdf, pki=tsa.pki, authority=tsa.authority)
