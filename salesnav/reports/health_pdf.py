"""The health red-light PDF: every touchpoint of one customer, newest first, in Chinese.

The font is embedded (WenQuanYi Micro Hei, Debian `fonts-wqy-microhei`): reportlab's built-in
STSong-Light is a CID font that is not embedded, and renders as a blank page on a machine
without CJK fonts and poppler-data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "WQY"
FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


@dataclass(frozen=True)
class TouchpointLine:
    occurred_at: str  # already in business time
    kind: str
    emotion: str
    rep: str
    contacts: str
    summary: str
    next_action: str


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))
    return FONT


def render(customer_name: str, headline: str, lines: list[TouchpointLine], generated_at: datetime) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{customer_name} 客户触点记录",
        author="销售导航仪",
    )
    header = ["时间", "类型", "情绪", "销售", "参与人", "纪要", "下一步"]
    rows = [[Paragraph(escape(h), body) for h in header]]
    for line in lines:
        cells = [line.occurred_at, line.kind, line.emotion, line.rep, line.contacts, line.summary, line.next_action]
        rows.append([Paragraph(escape(c or "—"), body) for c in cells])
    table = Table(rows, colWidths=[28 * mm, 14 * mm, 12 * mm, 18 * mm, 30 * mm, 110 * mm, 60 * mm], repeatRows=1)
    style: list[Any] = [  # reportlab's commands: (name, from cell, to cell, *values)
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [
        ("BACKGROUND", (2, i), (2, i), colors.HexColor("#fde2e2"))
        for i, line in enumerate(lines, start=1)
        if line.emotion == "抵触"
    ]
    table.setStyle(TableStyle(style))
    story = [
        Paragraph(escape(f"客户健康红灯：{customer_name}"), title),
        Spacer(1, 4 * mm),
        Paragraph(escape(headline), body),
        Paragraph(escape(f"共 {len(lines)} 条触点记录；生成时间 {generated_at:%Y-%m-%d %H:%M}"), body),
        Spacer(1, 4 * mm),
        table,
    ]
    doc.build(story)
    return buffer.getvalue()
