"""The evidence certificate (存证证书): its data, its QR code, and its PDF.

A certificate restates what the receipt proves, for people: the document's digest, the
block time, block, transaction, member, chain id and contract, with a QR code to the
record's public page (``/evidence/{public id}``: its status for anyone, the rest for those
who may see it). It is not the proof itself: the receipt is (docs/receipt.md), and the
certificate says so. Its facts are private (docs/security.md, "Who sees what"): the HTML
page is a frame the page's script fills with the tab's key, and the PDF is rendered only
for a caller who may see the record.
It also prints the trust anchor a verifier pins (chain id, genesis hash, registry and its
code hash, where to fetch it): on paper, out of band from the server (docs/receipt.md,
"What to pin"); the anchor is public, so the page's frame carries it.

The PDF embeds a CJK TrueType font (a subset: only the glyphs used), found among the usual
Debian fonts (``fonts-wqy-zenhei`` first); without one it refuses with
:class:`CertificateFontError` rather than print boxes. Labels are bilingual (中文 / English)
whatever the page language: a certificate is handed on to people who did not pick it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, NamedTuple

import segno
from sqlmodel import Session

from chainproof.business.service import type_name
from chainproof.errors import ConfigError
from chainproof.evidence import service
from chainproof.evidence.proofs import TreeCache
from chainproof.evidence.verify import Viewer
from chainproof.trust import WELL_KNOWN_PATH, TrustAnchor
from chainproof.web.formatting import cst_time, utc_iso

# (path, index in a .ttc collection). TrueType outlines only: reportlab cannot embed CFF
# (the .otf/.ttc of fonts-noto-cjk), so those are not listed.
CJK_FONTS: Final[tuple[tuple[str, int], ...]] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
MONO_FONTS: Final[tuple[str, ...]] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
CJK_APT_PACKAGE: Final = "fonts-wqy-zenhei"


# An extra table of the PDF: (中文 title, English title, rows of (中文 label, English label,
# value, monospace)). Values are plain text (escaped here); "\n" breaks a line.
Section = tuple[str, str, list[tuple[str, str, str, bool]]]


class CertificateFontError(ConfigError):
    """No CJK TrueType font on this machine: the PDF would print boxes for Chinese."""

    code = "certificate_font_missing"


@dataclass(frozen=True)
class Certificate:
    """What a certificate states: public chain data of one anchored (or revoked) document."""

    evidence_id: str  # the public id
    algorithm: str
    digest: str
    status: str
    member: str | None
    root: str
    leaf_hash: str
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    chain_id: int
    contract: str
    submitter: str | None
    verify_url: str
    # The server's trust anchor; None while it has none to stand behind (a degraded chain).
    anchor: TrustAnchor | None = None
    anchor_url: str | None = None
    # Typed evidence (业务类型, issue 25): the type's code and name and the committed metadata.
    business_type: str | None = None
    business_type_name: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def metadata_lines(self) -> list[str]:
        """The metadata as ``key: value`` lines (nested values as compact JSON)."""
        return [
            f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
            for key, value in (self.metadata or {}).items()
        ]

    @property
    def number(self) -> str:
        """The certificate number: chain id and public id, ``CP-31337-01943b2e-…``."""
        return certificate_number(self.chain_id, self.evidence_id)

    @property
    def time_cst(self) -> str:
        return cst_time(self.block_timestamp)

    @property
    def time_utc(self) -> str:
        return utc_iso(self.block_timestamp)

    @property
    def revoked(self) -> bool:
        return self.status == "revoked"

    @property
    def pinned_code_hash(self) -> str | None:
        """The code hash the anchor pins for this certificate's contract (None: not honoured)."""
        if self.anchor is None:
            return None
        pinned = self.anchor.honoured().get(self.contract)
        return pinned[0] if pinned else None


def certificate_number(chain_id: int, public_id: str) -> str:
    return f"CP-{chain_id}-{public_id}"


def evidence_url(base_url: str, public_id: str) -> str:
    """The record's public page, which the QR code holds: ``{base}/evidence/{public id}``."""
    return f"{base_url.rstrip('/')}/evidence/{public_id}"


def certificate_for(
    *,
    session: Session,
    evidence_id: str,
    base_url: str,
    viewer: Viewer,
    anchor: TrustAnchor | None = None,
    trees: TreeCache | None = None,
) -> Certificate:
    """The certificate of one evidence, for a viewer who may see it, printing ``anchor``.
    NotFoundError (404) for an unknown id and for a viewer who may not (the same answer),
    ConflictError (409) while it is not anchored: there is nothing to certify yet."""
    receipt = service.build_receipt(
        session=session, evidence_id=evidence_id, viewer=viewer, trees=trees
    )
    public = service.evidence_public(session=session, evidence_id=evidence_id, viewer=viewer)
    return Certificate(
        evidence_id=str(public["id"]),
        algorithm=receipt.algorithm,
        digest=receipt.digest,
        status=str(public["status"]),
        member=public.get("member"),
        root=receipt.root,
        leaf_hash=receipt.leaf_hash,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        block_hash=receipt.block_hash,
        block_timestamp=receipt.block_timestamp,
        chain_id=receipt.chain_id,
        contract=receipt.contract,
        submitter=receipt.submitter,
        verify_url=evidence_url(base_url, str(public["id"])),
        anchor=anchor,
        anchor_url=base_url.rstrip("/") + WELL_KNOWN_PATH,
        business_type=public.get("business_type"),
        business_type_name=type_name(session, public.get("business_type")),
        metadata=public.get("metadata"),
    )


def qr_svg(url: str, *, scale: int = 4, title: str | None = None) -> str:
    """An inline ``<svg>`` QR code of ``url`` (error correction M, quiet zone of 4)."""
    svg: str = segno.make(url, error="m", micro=False).svg_inline(
        scale=scale, border=4, dark="#000", light="#fff", title=title, omitsize=True
    )
    return svg


# --- PDF ---------------------------------------------------------------------------------


def find_cjk_font(candidates: Sequence[tuple[str, int]] = CJK_FONTS) -> tuple[Path, int]:
    """The first CJK TrueType font of ``candidates`` present on this machine."""
    for path, index in candidates:
        if Path(path).is_file():
            return Path(path), index
    raise CertificateFontError(
        "no CJK TrueType font found for the PDF certificate; install the Debian package "
        f"{CJK_APT_PACKAGE} (looked in: {', '.join(p for p, _ in candidates)})"
    )


@lru_cache(maxsize=1)
def _register_fonts() -> tuple[str, str]:
    """Registers the CJK and monospace fonts with reportlab once; returns their names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, index = find_cjk_font()
    pdfmetrics.registerFont(TTFont("ChainProofCJK", str(path), subfontIndex=index))
    mono = "Courier"  # one of the PDF standard fonts, when no TrueType mono is present
    for candidate in MONO_FONTS:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont("ChainProofMono", candidate))
            mono = "ChainProofMono"
            break
    return "ChainProofCJK", mono


def qr_drawing(url: str, size: float, *, error: str = "m") -> Any:
    """A reportlab ``Drawing`` of ``url``'s QR code, ``size`` points square (quiet zone 4)."""
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.lib import colors

    matrix = [list(row) for row in segno.make(url, error=error, micro=False).matrix]
    border = 4
    cell = size / (len(matrix) + 2 * border)
    drawing = Drawing(size, size)
    drawing.add(Rect(0, 0, size, size, fillColor=colors.white, strokeColor=None))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                top = size - (y + border + 1) * cell
                drawing.add(
                    Rect(
                        (x + border) * cell,
                        top,
                        cell,
                        cell,
                        fillColor=colors.black,
                        strokeColor=None,
                    )
                )
    return drawing


def register_fonts() -> tuple[str, str]:
    """The CJK and monospace font names for reportlab (registered once)."""
    return _register_fonts()


def esc(text: str) -> str:
    """Text safe in a reportlab ``Paragraph`` (which reads a little markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PdfStyles(NamedTuple):
    """The paragraph styles of the certificate and the licence PDF (sizes aside, the same)."""

    base: Any
    wrap: Any
    small: Any
    label: Any
    label_en: Any
    code: Any
    title: Any
    subtitle: Any


def pdf_styles(
    *,
    size: tuple[float, float],
    label: tuple[float, float],
    code: tuple[float, float],
    title: tuple[float, float],
    title_color: str,
) -> PdfStyles:
    """The styles with the CJK and monospace fonts; each pair is (font size, leading)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    cjk, mono = _register_fonts()
    ink = colors.HexColor("#1f2933")
    base = ParagraphStyle("base", fontName=cjk, fontSize=size[0], leading=size[1], textColor=ink)
    wrap = ParagraphStyle("wrap", parent=base, wordWrap="CJK")
    label_style = ParagraphStyle("label", parent=wrap, fontSize=label[0], leading=label[1])
    return PdfStyles(
        base=base,
        wrap=wrap,
        small=ParagraphStyle("small", parent=wrap, fontSize=8.5, leading=12),
        label=label_style,
        label_en=ParagraphStyle(
            "label_en", parent=label_style, fontSize=7.5, textColor=colors.grey
        ),
        code=ParagraphStyle("code", parent=base, fontName=mono, fontSize=code[0], leading=code[1]),
        title=ParagraphStyle(
            "title",
            parent=base,
            fontSize=title[0],
            leading=title[1],
            alignment=1,
            textColor=colors.HexColor(title_color),
        ),
        subtitle=ParagraphStyle("subtitle", parent=base, fontSize=11, alignment=1),
    )


def render_pdf(cert: Certificate, sections: Sequence[Section] = ()) -> bytes:
    """The certificate as an A4 PDF with the CJK font embedded (subset); ``sections`` are
    extra tables before the trust anchor (the court's, ``web/court_facts.py``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    base, cjk_wrap, small, label, label_en, code, title, subtitle = pdf_styles(
        size=(10, 14), label=(9.5, 12), code=(8, 11), title=(26, 32), title_color="#0b5cad"
    )
    mono = code.fontName  # for inline <font> markup

    def hexcell(value: str | None) -> Paragraph:
        # 8 pt monospace: a 66-character hash (0x + 64) fits the 124 mm column on one line.
        return Paragraph(esc(value or "—"), code)

    def lab(zh: str, en: str) -> list[Paragraph]:
        return [Paragraph(esc(zh), label), Paragraph(esc(en), label_en)]

    status_zh, status_en = ("已撤销", "Revoked") if cert.revoked else ("有效（已上链）", "Anchored")
    rows = [
        (lab("证书编号", "Certificate No."), Paragraph(esc(cert.number), base)),
        (lab("存证状态", "Status"), Paragraph(f"{status_zh} / {status_en}", cjk_wrap)),
        (lab("存证成员", "Member"), Paragraph(esc(cert.member or "—"), cjk_wrap)),
        (lab(f"文件摘要（{cert.algorithm.upper()}）", "Document digest"), hexcell(cert.digest)),
        (
            lab("存证时间（区块时间）", "Time (block timestamp)"),
            Paragraph(f"{esc(cert.time_cst)}<br/>{esc(cert.time_utc)}", base),
        ),
        (lab("区块高度", "Block"), Paragraph(str(cert.block_number or "—"), base)),
        (lab("区块哈希", "Block hash"), hexcell(cert.block_hash)),
        (lab("交易哈希", "Transaction"), hexcell(cert.tx_hash)),
        (lab("默克尔根", "Merkle root"), hexcell(cert.root)),
        (lab("链 ID", "Chain id"), Paragraph(str(cert.chain_id), base)),
        (lab("存证合约", "Registry contract"), hexcell(cert.contract)),
        (lab("上链账户", "Submitted by"), hexcell(cert.submitter)),
    ]
    if cert.business_type is not None:  # typed evidence: proven by the receipt's leaf
        rows += [
            (
                lab("业务类型", "Business type"),
                Paragraph(esc(f"{cert.business_type_name or ''} ({cert.business_type})"), cjk_wrap),
            ),
            (
                lab("业务元数据（已上链承诺）", "Metadata (committed)"),
                Paragraph("<br/>".join(esc(line) for line in cert.metadata_lines), cjk_wrap),
            ),
        ]
    table = Table(rows, colWidths=[46 * mm, 124 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, colors.HexColor("#d0d7de")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f6f9")),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )

    size = 38 * mm
    drawing = qr_drawing(cert.verify_url, size)
    caption = Paragraph(
        f'扫码验证 / Scan to verify<br/><font name="{mono}" size="7">{esc(cert.verify_url)}</font>',
        small,
    )
    qr_table = Table([[drawing, caption]], colWidths=[size + 4 * mm, 170 * mm - size - 4 * mm])
    qr_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))

    note = Paragraph(
        "本证书记录了上述文件摘要在区块链上的存证信息：该摘要于所示区块时间之前已存在，且自上链起未被"
        "更改。证书本身不是证明；证明是可下载的存证回执（receipt），任何人可用任一区块链节点独立核验，"
        "无需信任本平台。核验时将原文件拖入验证页面，或扫描二维码。",
        small,
    )
    note_en = Paragraph(
        "This certificate restates the on-chain record of the digest above: the document "
        "existed no later than the block time shown and has not changed since. The proof is "
        "the downloadable receipt, which anyone can check against any node of the chain "
        "without trusting this platform. To verify, drop the original file on the "
        "verification page or scan the QR code.",
        small,
    )
    anchor_rows = _anchor_rows(cert, lab, hexcell, base, cjk_wrap, esc)
    anchor_table = Table(anchor_rows, colWidths=[46 * mm, 124 * mm])
    anchor_table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f6f9")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story = [
        Paragraph("存证证书", title),
        Paragraph("Evidence Certificate · ChainProof 区块链电子存证", subtitle),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 6 * mm),
        qr_table,
        Spacer(1, 6 * mm),
        note,
        Spacer(1, 2 * mm),
        note_en,
        Spacer(1, 5 * mm),
        *_section_tables(sections, lab, esc, cjk_wrap, code),
        KeepTogether(
            [
                Paragraph("信任锚 / Trust anchor", label),
                Paragraph(
                    "核验回执时请固定以下各项（不要只信回执自己写的链和合约）/ Pin these when "
                    "verifying the receipt, never what the receipt says of itself:",
                    small,
                ),
                Spacer(1, 1 * mm),
                anchor_table,
            ]
        ),
    ]
    if cert.revoked:
        story.insert(
            2,
            Paragraph(
                "本存证已被撤销 / This evidence has been revoked",
                ParagraphStyle("revoked", parent=subtitle, textColor=colors.HexColor("#b42318")),
            ),
        )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"存证证书 {cert.number}",
        author="ChainProof",
        subject=f"{cert.algorithm} {cert.digest}",
        creator="ChainProof",
    )
    doc.build(story)
    return out.getvalue()


def _section_tables(
    sections: Sequence[Section], lab: Any, esc: Any, wrap: Any, code: Any
) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    # Hashes and signatures have no spaces: break them anywhere, as CJK text is.
    mono_wrap = ParagraphStyle("mono_wrap", parent=code, wordWrap="CJK")
    out: list[Any] = []
    for title_zh, title_en, rows in sections:
        cells = [
            (
                lab(zh, en),
                Paragraph(
                    "<br/>".join(esc(p) for p in value.split("\n")), mono_wrap if mono else wrap
                ),
            )
            for zh, en, value, mono in rows
        ]
        table = Table(cells, colWidths=[46 * mm, 124 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -2), 0.4, colors.HexColor("#d0d7de")),
                    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f6f9")),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        heading = Paragraph(esc(f"{title_zh} / {title_en}"), wrap)
        out += [KeepTogether([heading, Spacer(1, 1 * mm), table]), Spacer(1, 4 * mm)]
    return out


def _anchor_rows(
    cert: Certificate, lab: Any, hexcell: Any, base: Any, wrap: Any, esc: Any
) -> list[tuple[Any, Any]]:
    """The PDF's trust-anchor table (the same facts as certificate.html's)."""
    from reportlab.platypus import Paragraph

    anchor = cert.anchor
    if anchor is None:
        return [
            (
                lab("信任锚", "Trust anchor"),
                Paragraph("暂不可用（服务器的链不是其部署所在的链）/ unavailable", wrap),
            )
        ]
    rows = [
        (lab("链 ID", "Chain id"), Paragraph(str(anchor.chain_id), base)),
        (lab("创世区块哈希", "Genesis hash"), hexcell(anchor.genesis_hash)),
        (
            lab(f"存证合约（第 {anchor.registry_version} 版）", "Registry"),
            hexcell(anchor.registry),
        ),
        (lab("合约代码哈希", "Registry code hash"), hexcell(anchor.registry_code_hash)),
    ]
    if cert.contract != anchor.registry:  # a receipt of a past registry the anchor honours
        rows.append(
            (lab("本回执合约代码哈希", "This receipt's code hash"), hexcell(cert.pinned_code_hash))
        )
    rows.append((lab("获取地址", "Fetch it from"), hexcell(cert.anchor_url)))
    return rows
