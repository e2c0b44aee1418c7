"""The finance system's HTTP endpoint (docs/finance.md). Anything but a well-formed answer in time
is `FinanceUnavailable`: the big-deal approval then waits instead of going through unchecked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import requests

from salesnav.finance import FinanceUnavailable, LatePayment, PaymentHistory
from salesnav.models import Customer


def fetch(api_url: str, customer: Customer, *, as_of: datetime, months: int, timeout: float) -> PaymentHistory:
    params = {
        "customer_id": customer.id,
        "customer_name": customer.name,
        "months": months,
        "as_of": as_of.date().isoformat(),
    }
    try:
        response = requests.get(api_url.rstrip("/") + "/v1/on-time-rate", params=params, timeout=timeout)
    except requests.Timeout as exc:
        raise FinanceUnavailable(f"财务系统 {timeout:g} 秒内未响应") from exc
    except requests.RequestException as exc:
        raise FinanceUnavailable("财务系统无法连接") from exc
    if response.status_code != 200:
        raise FinanceUnavailable(f"财务系统返回错误（HTTP {response.status_code}）")
    try:
        return _parse(response.json())
    except (ValueError, KeyError, TypeError) as exc:
        raise FinanceUnavailable("财务系统返回的数据无法识别") from exc


def _parse(body: dict[str, Any]) -> PaymentHistory:
    rate = body["on_time_rate"]
    if rate is not None and not (isinstance(rate, int | float) and 0 <= rate <= 1):
        raise ValueError(f"on_time_rate out of range: {rate!r}")
    late = [
        LatePayment(
            invoice_no=item.get("invoice_no"),
            amount_fen=int(item["amount_fen"]),
            due_date=date.fromisoformat(item["due_date"]),
            paid_on=date.fromisoformat(item["paid_on"]) if item.get("paid_on") else None,
            days_late=int(item["days_late"]),
        )
        for item in body.get("late", [])
    ]
    return PaymentHistory(float(rate) if rate is not None else None, int(body["receivables"]), late, "finance_system")
