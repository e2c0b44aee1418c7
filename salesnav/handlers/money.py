"""Amounts: users type yuan (e.g. "58万", "580,000", "12.5万元"); we store integer fen."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from salesnav.handlers.errors import DomainError

_UNITS = {"万": Decimal(10_000), "千": Decimal(1_000), "亿": Decimal(100_000_000)}
MAX_AMOUNT_FEN = 10**14  # 1 万亿元: anything larger is a unit typed wrong


def yuan_to_fen(text: str | int | Decimal, what: str = "预计成交金额") -> int:
    raw = str(text).strip().replace(",", "").replace("，", "").removesuffix("元").removesuffix("人民币")
    multiplier = Decimal(1)
    if raw and raw[-1] in _UNITS:
        multiplier, raw = _UNITS[raw[-1]], raw[:-1]
    try:
        amount = Decimal(raw) * multiplier
    except InvalidOperation as exc:
        raise DomainError(f"金额「{text}」无法识别，请填写数字，例如 580000 或 58万") from exc
    if amount <= 0:
        raise DomainError(f"{what}必须大于 0")
    if amount * 100 > MAX_AMOUNT_FEN:
        raise DomainError(f"{what}过大，请检查单位")
    return int((amount * 100).to_integral_value())


def fen_to_yuan_text(fen: int) -> str:
    yuan = Decimal(fen) / 100
    if yuan >= 10_000:
        return f"{(yuan / 10_000).normalize():f}万元"
    return f"{yuan.normalize():f}元"
