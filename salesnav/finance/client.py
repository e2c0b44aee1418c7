"""The finance system's HTTP endpoint (docs/finance.md). Anything but a well-formed answer within the deadline
is `FinanceUnavailable`: the big-deal approval then waits, saying why, instead of going through unchecked.

The answer is validated strictly against the contract (pydantic, strict mode): `true` is not a rate, `3.0` is
not a count, a late entry is an object with every field of the right type, and every number is in range.
"""

from __future__ import annotations

import http.client
import logging
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesnav.finance import deadline
from salesnav.finance.values import FinanceUnavailable, LatePayment, PaymentHistory
from salesnav.models import Customer
from salesnav.models.record_dates import day_in_range

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # a year of late invoices is a few KB
MAX_LATE_ENTRIES = 10_000
Fen = Annotated[int, Field(ge=0, le=10**15)]  # a trillion yuan: any real receivable fits


class _Contract(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class LateEntry(_Contract):
    invoice_no: Annotated[str, Field(max_length=100)] | None = None
    amount_fen: Fen
    due_date: date
    paid_on: date | None = None
    days_late: Annotated[int, Field(ge=0, le=36_500)]

    @field_validator("due_date", "paid_on")
    @classmethod
    def _a_record_year(cls, value: date | None) -> date | None:
        if value is not None and not day_in_range(value):
            raise ValueError("date outside the years a receivable can have")
        return value


class OnTimeRateAnswer(_Contract):
    customer_id: int
    on_time_rate: Annotated[float, Field(ge=0, le=1)] | None
    receivables: Annotated[int, Field(ge=0, le=10**6)]
    late: Annotated[list[LateEntry], Field(max_length=MAX_LATE_ENTRIES)] = []

    @model_validator(mode="after")
    def _consistent(self) -> OnTimeRateAnswer:
        if len(self.late) > self.receivables:
            raise ValueError("more late entries than receivables")
        if self.on_time_rate is None and self.receivables:
            raise ValueError("no rate although receivables fell due")
        return self


def fetch(api_url: str, customer: Customer, *, as_of: datetime, months: int, timeout: float) -> PaymentHistory:
    """`timeout` is the total deadline in seconds: connecting, the headers and the whole body."""
    params = {
        "customer_id": customer.id,
        "customer_name": customer.name,
        "months": months,
        "as_of": as_of.date().isoformat(),
    }
    try:
        answer = deadline.get(
            api_url.rstrip("/") + "/v1/on-time-rate", params, deadline=timeout, max_bytes=MAX_BODY_BYTES
        )
    except deadline.DeadlineExceeded as exc:
        log.warning("finance system: no complete answer within %ss", timeout)
        raise FinanceUnavailable(f"财务系统未在 {timeout:g} 秒内答复") from exc
    except deadline.ResponseTooLarge as exc:
        log.warning("finance system: %s", exc)
        raise FinanceUnavailable("财务系统返回的数据过大，无法识别") from exc
    except (OSError, http.client.HTTPException) as exc:
        log.warning("finance system unreachable: %s", type(exc).__name__)
        raise FinanceUnavailable("财务系统无法连接") from exc
    if answer.status != 200:
        raise FinanceUnavailable(f"财务系统返回错误（HTTP {answer.status}）")
    return parse(answer.body, customer.id)


def parse(body: bytes, customer_id: int) -> PaymentHistory:
    """The contract, checked field by field; a violation names the field for whoever calls finance about it."""
    try:
        answer = OnTimeRateAnswer.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "整体"
        log.warning("finance system answer violates the contract: %s", exc.errors(include_url=False)[:5])
        if first["type"] == "json_invalid":
            raise FinanceUnavailable("财务系统返回的数据不是有效的 JSON") from exc
        raise FinanceUnavailable(f"财务系统返回的数据不符合约定（字段 {where}）") from exc
    if answer.customer_id != customer_id:
        log.warning("finance system answered for customer %s, asked for %s", answer.customer_id, customer_id)
        raise FinanceUnavailable("财务系统返回的是另一个客户的数据")
    late = [
        LatePayment(
            invoice_no=item.invoice_no,
            amount_fen=item.amount_fen,
            due_date=item.due_date,
            paid_on=item.paid_on,
            days_late=item.days_late,
        )
        for item in answer.late
    ]
    return PaymentHistory(answer.on_time_rate, answer.receivables, late, "finance_system")
