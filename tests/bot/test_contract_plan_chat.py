"""回款计划 in the chat: a rep enters a won deal's contract and plan in one message, sees it, and records a
payment that settles the oldest open instalment; bad input is answered in Chinese."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from salesnav.models import Receivable
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat
from tests.handlers.battle_pack.arrange import customer, local, won_deal

TODAY = date(2026, 3, 10)


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(TODAY, 10))
    org = f.org(session)
    ruijin = customer(session, org.rep, "瑞金医院")
    won_deal(
        session,
        org.rep,
        ruijin,
        product_line="MR设备",
        start=local(TODAY - timedelta(days=60), 9),
        days=[0, 10, 20, 30, 40, 50],
    )
    customer(session, org.rep, "华山医院")
    session.commit()
    return org


def test_a_rep_enters_a_plan_sees_it_and_records_a_payment(live_app, org):
    rep = Chat(live_app, "rep01")
    rep.say("回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 60万 9月30日 10万 2027-03-31")
    assert rep.last_text() == (
        "✅ 已录入「瑞金医院MR设备」的回款计划。\n"
        "合同额 100万元，签约 3月2日\n"
        "第 1 期 30万元，2026年3月31日到期｜未到期\n"
        "第 2 期 60万元，2026年9月30日到期｜未到期\n"
        "第 3 期 10万元，2027年3月31日到期｜未到期\n"
        "到期前会提醒您；逾期会提醒您并告知主管。"
    )
    with db.transaction() as s:
        assert [(r.instalment_no, r.amount_fen) for r in s.scalars(select(Receivable).order_by(Receivable.id))] == [
            (1, 30_000_000),
            (2, 60_000_000),
            (3, 10_000_000),
        ]
    rep.say("回款 瑞金医院 35万")
    assert rep.last_text() == "✅ 已登记「瑞金医院」回款 35万元：冲抵第 1 期 30万元、第 2 期 5万元。"
    rep.say("回款计划 瑞金医院")
    assert "第 1 期 30万元，2026年3月31日到期｜已回款" in rep.last_text()
    assert "第 2 期 60万元，2026年9月30日到期｜部分回款" in rep.last_text()


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("回款计划 华山医院 10万 10万 4月1日", "客户「华山医院」还没有赢单的商机，赢单后才能录入回款计划"),
        ("回款计划 瑞金医院 100万 30万 3月31日 60万", "每一期都要写金额和到期日（成对出现）"),
        ("回款计划 瑞金医院 100万 30万 3月31日 60万 9月30日", "各期金额合计 90万元，与合同金额 100万元 不一致，请核对"),
        ("回款计划 瑞金医院 100万 30万 月底 70万 9月30日", "第 1 期到期日「月底」无法识别"),
        ("回款 瑞金医院 5万", "客户「瑞金医院」没有未回款的应收款"),
    ],
)
def test_bad_plans_are_answered_in_chinese(live_app, org, text, answer):
    rep = Chat(live_app, "rep01")
    rep.say(text)
    assert answer in rep.last_text()


def test_the_contracts_end_date_in_the_chat_with_the_plan_or_alone(live_app, org):
    from salesnav.models import Contract

    def ends_on():
        with db.transaction() as s:
            return s.scalars(select(Contract)).one().ends_on

    rep = Chat(live_app, "rep01")
    rep.say("回款计划 瑞金医院 100万 签约3月2日 到期2027年3月1日 30万 3月31日 70万 9月30日")
    head = "✅ 已录入「瑞金医院MR设备」的回款计划。\n合同额 100万元，签约 3月2日，2027年3月1日到期\n"
    assert rep.last_text().startswith(head)
    assert ends_on() == date(2027, 3, 1)
    rep.say("回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 70万 10月31日")  # the plan changed, the end date kept
    assert ends_on() == date(2027, 3, 1)

    rep.say("合同到期 瑞金医院")
    assert rep.last_text() == "「瑞金医院MR设备」的合同 2027年3月1日到期。"
    rep.say("合同到期 瑞金医院 2028-02-29")
    assert rep.last_text() == (
        "✅ 已记下「瑞金医院MR设备」的合同 2028年2月29日到期：客户进入「老客户续费前3个月」的时间按这一天计算。"
    )
    assert ends_on() == date(2028, 2, 29)
    rep.say("合同到期 瑞金医院 3月1日")  # without its year: the first 3月1日 after signing
    assert ends_on() == date(2027, 3, 1)
    rep.say("合同到期 瑞金医院 不填")
    assert rep.last_text() == "✅ 已清除「瑞金医院MR设备」的合同到期日：续费期按签约后的默认合同期估算。"
    assert ends_on() is None
    rep.say("回款计划 瑞金医院")
    assert "到期" not in rep.last_text().split("\n")[1]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("合同到期", "请写明客户和到期日，例如：合同到期 瑞金医院 2027年3月1日"),
        ("合同到期 华山医院 2027-03-01", "客户「华山医院」还没有录入合同，请先录入回款计划"),
        ("合同到期 瑞金医院 明年", "到期日「明年」无法识别，例如：合同到期 瑞金医院 2027年3月1日"),
        ("合同到期 瑞金医院 2026-03-01", "合同到期日 2026-03-01 必须晚于签约日 2026-03-02"),
        ("回款计划 瑞金医院 100万 签约3月2日 到期明年 100万 3月31日", "合同到期日「到期明年」无法识别"),
    ],
)
def test_a_wrong_end_date_is_answered_in_chinese(live_app, org, text, answer):
    rep = Chat(live_app, "rep01")
    rep.say("回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 70万 9月30日")
    rep.say(text)
    assert answer in rep.last_text()
