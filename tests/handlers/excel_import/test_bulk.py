"""The bulk path of the import: the rules still see imported data, and the shortcuts equal the real thing."""

from __future__ import annotations

import random

import phonenumbers
from sqlalchemy import select

from salesnav.handlers.customers import normalise_phone
from salesnav.models import Alert, Customer, Health
from tests.handlers.excel_import import sheets


def test_three_resistant_remarks_imported_for_one_customer_turn_it_red_once(session, org, run_import):
    data = sheets.xlsx(
        {
            "客户": [
                ["客户名称", "联系人", "手机", "备注"],
                ["红灯医院", "王主任", "13900000001", "2026.2.26 电话，客户拒绝；2026.2.27 面谈，不满价格"],
                ["红灯医院", "王主任", "13900000001", "2026.3.1 微信，对方投诉售后"],  # a second row: a later wave
                ["平安医院", "赵主任", "13900000002", "2026.2.27 电话，客户拒绝；2026.2.28 面谈，不满价格"],
            ]
        }
    )
    imp = run_import(org.rep, data)
    assert imp.counts["touchpoints"] == 5 and imp.counts["failed"] == 0

    names = {c.name: c for c in session.scalars(select(Customer))}
    assert names["红灯医院"].health is Health.RED  # 3 抵触 within 7 days
    assert names["平安医院"].health is not Health.RED  # only 2
    alerts = session.scalars(select(Alert).where(Alert.rule == "health_red")).all()
    assert [(a.subject_id, len(a.detail["signals"])) for a in alerts] == [(names["红灯医院"].id, 3)]


def test_the_mobile_shortcut_stores_what_phonenumbers_would():
    rng = random.Random(7)
    numbers = [f"1{rng.randint(30, 99)}{rng.randint(0, 99_999_999):08d}" for _ in range(20_000)]
    numbers += [f"{p}12345678"[:11] for p in range(130, 200)]  # every 3-digit prefix, 179 included
    for raw in numbers:
        try:
            parsed = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            assert normalise_phone(raw) == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
