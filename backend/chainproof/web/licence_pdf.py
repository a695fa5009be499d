"""The licence PDF (电子证照, issue 20): the visible licence, its fields and a QR code.

The QR code is the licence page's link with every field in its fragment
(``licences/links.py``): scanning it checks, on the scanner's device, the issuer's signature,
each field's proof, the anchoring and the status on chain. The paper is not the proof: the
credential (JSON, the holder's) and the chain are; the PDF says so, and prints the trust
anchor to pin. Fonts, the QR drawing and the bilingual labels are the evidence certificate's
(``web/certificate.py``): CJK TrueType embedded as a subset, or a clear refusal without one.
"""

from __future__ import annotations

import io
from typing import Any, Final

from segno import DataOverflowError

from chainproof.trust import WELL_KNOWN_PATH, TrustAnchor
from chainproof.web.certificate import esc, pdf_styles, qr_drawing
from chainproof.web.formatting import cst_time

RED: Final = "#b42318"
STATUS_LINE: Final = {
    "suspended": ("本证照已暂停", "This licence is suspended"),
    "revoked": ("本证照已吊销", "This licence has been revoked"),
    "superseded": ("本证照已换发，以新证为准", "This licence has been superseded by a renewal"),
}


def render_licence_pdf(
    card: dict[str, Any], *, verify_url: str, base_url: str, anchor: TrustAnchor | None
) -> bytes:
    """The A4 PDF of one licence (``card``: ``licences.holders.card``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    red = colors.HexColor(RED)
    _, wrap, small, label, label_en, code, title, subtitle = pdf_styles(
        size=(11, 16), label=(10, 13), code=(7.5, 10), title=(28, 36), title_color=RED
    )
    mono = code.fontName  # for inline <font> markup

    def lab(zh: str, en: str) -> list[Any]:
        return [Paragraph(esc(zh), label), Paragraph(esc(en), label_en)]

    def grid(rows: list[Any], first: float) -> Any:
        table = Table(rows, colWidths=[first, 170 * mm - first])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -2), 0.4, colors.HexColor("#d0d7de")),
                    ("BOX", (0, 0), (-1, -1), 0.8, red),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        return table

    fields = [
        (Paragraph(esc(name), label), Paragraph(esc(value), wrap)) for name, value in card["fields"]
    ]
    validity = (
        f"{cst_time(card['valid_from'].timestamp())} 至 {cst_time(card['valid_until'].timestamp())}"
    )
    facts = [
        (lab("证照编号", "Licence id"), Paragraph(esc(card["id"]), code)),
        (lab("持证主体", "Holder"), Paragraph(esc(card["holder"]), wrap)),
        (lab("有效期", "Valid"), Paragraph(esc(validity), wrap)),
        (lab("发证机关", "Issuer"), Paragraph(esc(card["issuer_org"]), wrap)),
        (lab("发证机关标识", "Issuer DID"), Paragraph(esc(card["issuer"]), code)),
    ]
    qr_size = 60 * mm
    page_link = f"{base_url.rstrip('/')}/l/{card['id']}"
    caption = Paragraph(
        "扫码核验：在扫码设备上对照区块链核验发证机关签名、每项字段、上链与状态，无需信任本平台。"
        "<br/>Scan to verify on your own device against the blockchain: the issuer's "
        f'signature, every field, anchoring and status.<br/><font name="{mono}" size="7">'
        f"{esc(page_link)}</font>",
        small,
    )
    try:
        code = qr_drawing(verify_url, qr_size, error="l")
    except DataOverflowError:
        # Too many fields for one code: the page link alone (validity and status on chain;
        # the fields are checked from the credential file).
        code = qr_drawing(page_link, qr_size)
    qr = Table(
        [[code, caption]],
        colWidths=[qr_size + 4 * mm, 170 * mm - qr_size - 4 * mm],
    )
    qr.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    anchor_text = (
        f"链 ID / chain {anchor.chain_id} · 创世区块 / genesis {anchor.genesis_hash}<br/>"
        f"存证合约 / registry {anchor.registry} · 代码哈希 / code hash {anchor.registry_code_hash}"
        if anchor is not None
        else "—"
    )
    story: list[Any] = [
        Paragraph(esc(card["type_name"] or card["type"]), title),
        Paragraph("电子证照 / E-licence · ChainProof 区块链电子证照", subtitle),
        Spacer(1, 6 * mm),
    ]
    if card["status"] in STATUS_LINE:
        zh, en = STATUS_LINE[card["status"]]
        warn = ParagraphStyle("warn", parent=subtitle, textColor=red, fontSize=13)
        story += [Paragraph(f"{zh} / {en}", warn), Spacer(1, 4 * mm)]
    story += [
        grid(fields, 40 * mm),
        Spacer(1, 5 * mm),
        grid(facts, 40 * mm),
        Spacer(1, 6 * mm),
        qr,
        Spacer(1, 5 * mm),
        Paragraph(
            "本证照的凭证（W3C 可验证凭证）由发证机关以其链上账户签名，各字段加盐后组成默克尔树，"
            "树根与每次状态变更（暂停、恢复、吊销、换发）均上链；纸面与 PDF 不是证明本身。"
            "核验时请固定信任锚（下列各项，或从 "
            + esc(base_url.rstrip("/") + WELL_KNOWN_PATH)
            + " 取得后核对）。",
            small,
        ),
        Spacer(1, 2 * mm),
        Paragraph(f'<font name="{mono}" size="7">{anchor_text}</font>', small),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{card['type_name'] or card['type']} {card['id']}",
        author="ChainProof",
        creator="ChainProof",
    ).build(story)
    return out.getvalue()
