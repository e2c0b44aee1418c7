"""Invoice fields from OCR lines: our own extraction for the offline engine.

The recogniser gives us text boxes; a Chinese VAT invoice puts each value either in the same box as
its label (发票号码：08523671) or in the next box to the right. We rebuild rows from the boxes'
positions, read them in order, and match labels. Money is cross-checked: amount + tax must equal the
total, and the 大写 (capital numerals) total must agree with the 小写 one; a disagreement lowers the
confidence of the fields involved, so the rep is asked to look at them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from salesnav.ocr.reading import InvoiceReading, OcrLine
from salesnav.text.cn_dates import CAPITAL_DIGITS, CAPITAL_UNITS, cn_integer

# Confidence multipliers: why a value is less certain than the recogniser's own score says.
DERIVED = 0.5  # computed from the other two money fields, not read
INCONSISTENT = 0.6  # amount + tax ≠ total

_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "S": "5", "B": "8"})
_MONEY = re.compile(r"[¥Y]?\s*(-?\d{1,3}(?:,\d{3})+\.\d{2}|-?\d+\.\d{2})(?!\d)")
_CODE = re.compile(r"发票代码\s*:?\s*([0-9OoDIl|]{10,12})(?![0-9])")
_NUMBER = re.compile(r"发票号码\s*:?\s*([0-9OoDIl|]{8,20})(?![0-9])")
_DATE_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_DATE_ISO = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")
# Only a label at the start of a box (or 购买方名称): the goods table's 货物或应税劳务名称 is no name.
_NAME = re.compile(r"(?:^|方|位)\s*名\s*称\s*:?\s*(.*)")
_BUYER_MARK = re.compile(r"购买方|购货单位|购方|买方|受票方")
_SELLER_MARK = re.compile(r"销售方|销货单位|销方|卖方|开票方")
# Where a name box runs on into the next label (OCR merges neighbouring boxes on tight layouts).
_NAME_STOP = re.compile(r"\s*(纳税人识别号|统一社会信用代码|地址|开户行|密码区|名称)")


def normalise(text: str) -> str:
    """Full-width forms to ASCII (：→:, （→(, ￥→¥, ０→0) so one pattern matches both."""
    return unicodedata.normalize("NFKC", text)


def rows(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Lines grouped into visual rows (top to bottom), each row left to right."""
    if not lines:
        return []
    ordered = sorted(lines, key=lambda line: line.cy)
    heights = sorted(max(line.height, 1.0) for line in lines)
    tolerance = heights[len(heights) // 2] * 0.5
    grouped: list[list[OcrLine]] = [[ordered[0]]]
    for line in ordered[1:]:
        row = grouped[-1]
        row_cy = sum(item.cy for item in row) / len(row)
        if abs(line.cy - row_cy) <= tolerance:
            row.append(line)
        else:
            grouped.append([line])
    return [sorted(row, key=lambda line: line.x) for row in grouped]


def parse_capital_amount(text: str) -> Decimal | None:
    """壹万肆仟圆整 → 14000.00; None when the text is not a capital-numeral amount."""
    text = text.replace("元", "圆").replace("整", "").replace("正", "")
    if "圆" not in text and "角" not in text and "分" not in text:
        return None
    numerals = re.sub(rf"[^{CAPITAL_DIGITS}{CAPITAL_UNITS}〇两圆角分]", "", text)
    yuan_text, _, rest = numerals.rpartition("圆")
    jiao_text, _, fen_text = rest.rpartition("角") if "角" in rest else ("", "", rest)
    fen_text = fen_text.partition("分")[0] if "分" in fen_text else ""
    parts = [cn_integer(part.lstrip("零")) if part.lstrip("零") else 0 for part in (yuan_text, jiao_text, fen_text)]
    if not any(ch in CAPITAL_DIGITS or ch in CAPITAL_UNITS for ch in numerals) or None in parts:
        return None
    yuan, jiao, fen = (p or 0 for p in parts)
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100


def _money(text: str) -> list[Decimal]:
    values = []
    for match in _MONEY.finditer(normalise(text)):
        try:
            values.append(Decimal(match.group(1).replace(",", "")))
        except InvalidOperation:
            continue
    return values


def _valid_date(year: str, month: str, day: str) -> date | None:
    try:
        value = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def _row_text(row: list[OcrLine]) -> str:
    return " ".join(normalise(line.text) for line in row)


def _row_score(row: list[OcrLine], start: int, end: int) -> float:
    """The lowest recogniser score among the boxes that the text span [start, end) of the row covers."""
    scores, position = [], 0
    for line in row:
        length = len(normalise(line.text))
        if position < end and start < position + length:
            scores.append(line.score)
        position += length + 1
    return min(scores) if scores else min(line.score for line in row)


class _Found:
    """The first value found per field, with its confidence."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.confidence: dict[str, float] = {}

    def put(self, name: str, value: object, confidence: float) -> None:
        if value is not None and name not in self.values:
            self.values[name] = value
            self.confidence[name] = round(confidence, 3)


def extract_invoice(lines: list[OcrLine], engine: str = "") -> InvoiceReading:
    """The invoice fields found in the OCR lines (each missing one stays None with confidence 0)."""
    found = _Found()
    visual_rows = rows(lines)
    section: str | None = None
    capital_total: Decimal | None = None

    for row in visual_rows:
        text = _row_text(row)
        for name, pattern in (("code", _CODE), ("number", _NUMBER)):
            match = pattern.search(text)
            if match:
                digits = match.group(1).translate(_LOOKALIKE_DIGITS)
                if name == "number" and len(digits) not in (8, 20):
                    continue
                found.put(name, digits, _row_score(row, match.start(1), match.end(1)))
        if "开票日期" in text or "日期" in text:
            match = _DATE_CN.search(text) or _DATE_ISO.search(text)
            if match:
                found.put("date", _valid_date(*match.groups()), _row_score(row, match.start(), match.end()))

        section = _names(row, section, found)

        if "价税合计" in text or "小写" in text:
            after = text.split("小写", 1)[1] if "小写" in text else text
            amounts = _money(after)
            if amounts:
                found.put("total", max(amounts), _score_of_money(row, max(amounts)))
            for line in row:
                capital_total = capital_total or parse_capital_amount(normalise(line.text))
        elif re.search(r"合\s*计", text):
            amounts = _money(text)
            if amounts:
                found.put("amount", amounts[0], _score_of_money(row, amounts[0]))
            if len(amounts) >= 2:
                found.put("tax", amounts[-1], _score_of_money(row, amounts[-1]))

    if "date" not in found.values:
        # Some layouts print the date without its label next to it; a lone 年月日 date is the issue date.
        for row in visual_rows:
            match = _DATE_CN.search(_row_text(row))
            if match:
                found.put("date", _valid_date(*match.groups()), 0.7 * min(line.score for line in row))
                break

    _reconcile_money(found, capital_total)
    values = found.values
    return InvoiceReading(
        code=values.get("code"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        number=values.get("number"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        date=values.get("date"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        buyer=values.get("buyer"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        seller=values.get("seller"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        amount=values.get("amount"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        tax=values.get("tax"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        total=values.get("total"),  # type: ignore[arg-type]  # each field's value has the field's type (put() keeps them apart)
        confidence=dict(found.confidence),
        engine=engine,
    )


def _score_of_money(row: list[OcrLine], value: Decimal) -> float:
    for line in row:
        if value in _money(line.text):
            return line.score
    return min(line.score for line in row)


def _names(row: list[OcrLine], section: str | None, found: _Found) -> str | None:
    """Buyer and seller names, told apart by the 购买方 / 销售方 marker last seen in reading order."""
    for index, line in enumerate(row):
        text = normalise(line.text)
        if _BUYER_MARK.search(text):
            section = "buyer"
        elif _SELLER_MARK.search(text):
            section = "seller"
        match = _NAME.search(text)
        if not match:
            continue
        value, score = match.group(1), line.score
        if not value.strip() and index + 1 < len(row):
            value, score = normalise(row[index + 1].text), min(score, row[index + 1].score)
        value = _NAME_STOP.split(value, maxsplit=1)[0].strip(" :;,")
        if len(value) < 2:
            continue
        target = section or ("seller" if "buyer" in found.values else "buyer")
        if target in found.values:
            target = "seller" if target == "buyer" else "buyer"
        found.put(target, value, score)
    return section


def _reconcile_money(found: _Found, capital_total: Decimal | None) -> None:
    values, confidence = found.values, found.confidence
    amount, tax, total = values.get("amount"), values.get("tax"), values.get("total")
    if total is None and capital_total is not None:
        found.put("total", capital_total, 0.8)
        total = capital_total
    if amount is not None and tax is not None and total is None:
        found.put("total", amount + tax, DERIVED * min(confidence["amount"], confidence["tax"]))  # type: ignore[operator]  # the branch has checked these are not None
    elif amount is not None and total is not None and tax is None:
        found.put("tax", total - amount, DERIVED * min(confidence["amount"], confidence["total"]))  # type: ignore[operator]  # the branch has checked these are not None
    elif tax is not None and total is not None and amount is None:
        found.put("amount", total - tax, DERIVED * min(confidence["tax"], confidence["total"]))  # type: ignore[operator]  # the branch has checked these are not None
    elif amount is not None and tax is not None and total is not None and amount + tax != total:  # type: ignore[operator]  # the branch has checked these are not None
        for name in ("amount", "tax", "total"):
            confidence[name] = round(confidence[name] * INCONSISTENT, 3)
    if capital_total is not None and values.get("total") is not None and capital_total != values["total"]:
        confidence["total"] = round(confidence["total"] * INCONSISTENT, 3)
