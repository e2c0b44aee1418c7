"""What an invoice engine returns: the fields a rep confirms before a payment is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

FIELDS = ("code", "number", "date", "buyer", "seller", "amount", "tax", "total")


@dataclass(frozen=True)
class OcrLine:
    """One detected text line: its text, the recogniser's score (0–1) and its box (x0, y0, x1, y1)."""

    text: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def x(self) -> float:
        return self.box[0]

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass
class InvoiceReading:
    """A Chinese VAT invoice as read from a photo; every field may be missing (None).

    `confidence` holds a 0–1 figure per field name in FIELDS (0.0 when the field was not found), so the
    form can highlight what the rep should check. Money is Decimal in yuan.
    """

    code: str | None = None
    number: str | None = None
    date: date | None = None
    buyer: str | None = None
    seller: str | None = None
    amount: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    confidence: dict[str, float] = field(default_factory=dict)
    engine: str = ""

    def __post_init__(self) -> None:
        for name in FIELDS:
            self.confidence.setdefault(name, 0.0)
