"""Team reports pushed: each manager gets the daily (evening) and weekly (Monday morning) report for exactly their
team, the director the weekly one for every rep; the workbook sent on a tap opens with openpyxl and its figures
are the metrics'."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import openpyxl
import pytest
from redis import Redis
from sqlalchemy import select

from salesnav import metrics
from salesnav.bot.emulator import STATE
from salesnav.handlers.reports.schedule import previous_week
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from salesnav.metrics import Scope
from salesnav.models import Customer, Emotion, Health, Payment, Receivable
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.bot.conftest import LiveApp, serve
from tests.handlers.battle_pack.arrange import SHANGHAI, customer, local
from tests.metrics import builders

LAST_MONDAY = date(2026, 2, 23)
MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
JOB = next(p for p in PERIODIC if p.id == "reports.team_due")


@pytest.fixture
def app(settings, database) -> Iterator[LiveApp]:
    if settings.redis_url:
        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session, frozen_clock):
    """Two teams. 钱主管's: 李销售 (rep01) and 周销售 (rep02); 孙主管's: 吴销售 (rep03). Last week each rep logged
    touchpoints (some effective), moved deals (one by override) and 李 won one; today a few things need
    attention: a silent deal, a red customer, an overdue ticket part and an overdue receivable."""
    frozen_clock.set(local(LAST_MONDAY, 9))
    org = f.org(session)
    huashan = customer(session, org.rep, "华山医院", contact=("李总", "设备科"))
    ruijin = customer(session, org.other_rep, "瑞金医院", contact=("王主任", "放射科"), health=Health.RED)
    xiehe = customer(session, org.outsider_rep, "协和医院", contact=("赵处", "采购处"), health=Health.RED)
    day = local(LAST_MONDAY, 10)
    for i in range(3):
        builders.effective(session, org.rep, huashan, day + timedelta(days=i))
    builders.touchpoint(session, org.rep, huashan, day + timedelta(days=3), emotion=Emotion.POSITIVE)
    builders.effective(session, org.other_rep, ruijin, day + timedelta(days=1))
    for i in range(5):
        builders.effective(session, org.outsider_rep, xiehe, day + timedelta(days=i))
    builders.deal(
        session,
        org.rep,
        huashan,
        [("initial_contact", day), ("needs_confirmed", day + timedelta(days=1)), ("won", day + timedelta(days=4))],
        product_line="CT球管",
    )
    overridden = builders.deal(
        session, org.other_rep, ruijin, [("initial_contact", day), ("solution_demo", day + timedelta(days=2))]
    )
    session.flush()
    overridden.history[-1].checklist_complete = False
    overridden.history[-1].override_reason = "客户急需演示"
    builders.deal(session, org.outsider_rep, xiehe, [("initial_contact", day), ("needs_confirmed", day)])
    # A part of a ticket on 瑞金's deal, unanswered past its deadline.
    builders.ticket(session, overridden, day, [(org.delivery, {"due_at": day + timedelta(days=1)})])
    # 华山's receivable, half paid, due last Friday.
    receivable = Receivable(customer_id=huashan.id, amount_fen=200_000_00, due_date=date(2026, 2, 27))
    session.add(receivable)
    session.flush()
    session.add(Payment(receivable_id=receivable.id, amount_fen=50_000_00, paid_at=day))
    session.commit()
    return org


def tick(app: LiveApp) -> None:
    Clock(LocalLeadership(), periodic=[JOB]).tick(JOB)
    app.drain()


def team_cards(app: LiveApp, userid: str) -> list[dict]:
    return [
        m["payload"]
        for m in app.emulator.sent(userid)
        if m["msgtype"] == "template_card" and m["payload"]["main_title"]["title"].startswith("团队")
    ]


def rows(card: dict) -> dict[str, str]:
    return {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}


def test_on_monday_morning_each_manager_gets_the_weekly_report_of_exactly_their_team(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 7, 59))
    tick(app)
    assert team_cards(app, "mgr01") == []

    frozen_clock.set(local(MONDAY, 8))
    tick(app)
    [card] = team_cards(app, "mgr01")
    assert card["main_title"]["title"] == "团队周报 · 2月23日—3月1日"
    assert card["main_title"]["desc"] == "本团队 2 名销售；完整报告与图表在看板「团队报告」"
    figures = rows(card)
    assert figures["触点"] == "7 条（有效 4）"  # 李: 3 effective, 1 not, the deal's own; 周: 1 effective, the deal's
    assert figures["有效触点/人/周"] == "2.0"
    assert figures["过程合规率"] == "67%"  # 李's two moves, and 周's one by override
    assert figures["赢单"] == "1 个 10万元"
    body = card["sub_title_text"]
    assert "红灯客户 1 个：瑞金医院（周销售）" in body
    assert "协同单超时未响应 1 项：瑞金医院·交付部" in body
    assert "逾期回款 1 笔：华山医院 15万元（逾期3天）" in body
    assert "协和医院" not in body and "吴销售" not in body  # the other team's rows are not here
    assert [b["text"] for b in card["button_list"]] == ["发送Excel"]

    [other] = team_cards(app, "mgr02")
    assert rows(other)["触点"] == "6 条（有效 5）" and "协和医院" in other["sub_title_text"]
    assert "瑞金医院" not in other["sub_title_text"]
    [director] = team_cards(app, "dir01")
    assert director["main_title"]["desc"].startswith("全体销售 3 名销售")
    assert rows(director)["触点"] == "13 条（有效 9）"
    assert team_cards(app, "rep01") == []

    frozen_clock.set(local(MONDAY, 8, 30))
    tick(app)
    assert len(team_cards(app, "mgr01")) == 1  # once per week


def test_each_working_evening_managers_get_the_days_report_and_the_director_does_not(app, org, frozen_clock, session):
    frozen_clock.set(local(TUESDAY, 11))
    huashan = session.scalars(select(Customer).where(Customer.name == "华山医院")).one()
    builders.effective(session, org.rep, huashan, frozen_clock.now())
    session.commit()
    frozen_clock.set(local(TUESDAY, 19))
    tick(app)
    [card] = team_cards(app, "mgr01")
    assert card["main_title"]["title"] == "团队日报 · 3月3日（周二）"
    assert rows(card)["触点"] == "1 条（有效 1）"
    assert team_cards(app, "dir01") == []


def test_the_workbook_sent_on_a_tap_opens_with_openpyxl_and_equals_the_metrics(app, org, frozen_clock, session):
    frozen_clock.set(local(MONDAY, 8))
    tick(app)
    manager = Chat(app, "mgr01")
    [card] = team_cards(app, "mgr01")
    manager.tap(card, button(card, "发送Excel"))
    assert manager.last_text() == "正在生成 Excel，稍后以文件发给您。"
    [sent] = [m for m in manager.sent() if m["msgtype"] == "file"]
    media = STATE.get_media(sent["payload"]["media_id"])
    assert media is not None and media.filename.endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(media.data))
    assert wb.sheetnames == ["概览", "销售明细", "商机明细", "需关注"]

    window = previous_week(MONDAY, SHANGHAI)
    team = Scope.team(session, org.manager)
    summary = {row[0]: row[1] for row in wb["概览"].iter_rows(min_row=2, values_only=True)}
    expected = {
        "有效触点/人/周": metrics.effective_touchpoints_per_rep_week(session, window, team).value,
        "人均月拜访量": metrics.visits_per_rep_month(session, window, team).value,
        "记录完整率": metrics.record_completeness(session, window, team).value,
        "过程合规率": metrics.process_compliance(session, window, team).value,
        "赢单率": metrics.win_rate(session, window, team).value,
    }
    for label, value in expected.items():
        assert summary[label] == pytest.approx(value), label
    assert summary["销售人数"] == 2

    reps = wb["销售明细"]
    assert reps.freeze_panes == "A2"
    header = [c.value for c in reps[1]]
    by_rep = {row[0]: dict(zip(header, row, strict=True)) for row in reps.iter_rows(min_row=2, values_only=True)}
    assert set(by_rep) == {"李销售", "周销售"}  # exactly the team
    assert sum(r["有效触点"] for r in by_rep.values()) == pytest.approx(
        metrics.effective_touchpoints_per_rep_week(session, window, team).numerator
    )
    assert by_rep["李销售"]["赢单金额（元）"] == 100_000.0
    assert reps.cell(2, header.index("赢单金额（元）") + 1).data_type == "n"

    deals = wb["商机明细"]
    deal_rows = list(deals.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in deal_rows] == ["瑞金医院"]  # the open deals of the team only
    last_follow_up = deals.cell(2, 7)
    assert last_follow_up.is_date and last_follow_up.number_format == "yyyy-mm-dd hh:mm"
    attention = [r[:2] for r in wb["需关注"].iter_rows(min_row=2, values_only=True)]
    assert attention == [("红灯客户", "瑞金医院"), ("协同单超时", "瑞金医院"), ("逾期回款", "华山医院")]


def test_a_manager_cannot_ask_for_a_workbook_by_a_forged_tap_as_a_rep(app, org, frozen_clock):
    rep = Chat(app, "rep01")
    rep.tap({"task_id": "forged"}, "rpt:xlsx:weekly:2026-03-02")
    assert rep.last_text() == "这个按钮已失效，请在看板「团队报告」页下载 Excel。"
    assert [m for m in rep.sent() if m["msgtype"] == "file"] == []
