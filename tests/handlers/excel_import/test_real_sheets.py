"""Reps' real sheets, not written for the import: one customer per customer (across spellings, rows, sheets and
reps), every dated remark at its own date with its year inferred, every amount read or reported, and history
that stays history — Level 1's current figures do not move, and silent deals make one digest, not alerts.

Each expectation below was worked out by hand from the sheet in sheets.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.dashboards.executive import executive_figures
from salesnav.handlers.excel_import import commit
from salesnav.handlers.opportunities import NewOpportunity, create_from_touchpoints
from salesnav.jobs.rules import run_scan
from salesnav.models import (
    Alert,
    CaptureSource,
    Customer,
    ImportStatus,
    Opportunity,
    OutboundMessage,
    Stage,
    Task,
    Touchpoint,
    TouchpointType,
)
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ


def at9(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def live(session, model, *where):
    return list(session.scalars(select(model).where(model.deleted_at.is_(None), *where).order_by(model.id)))


def history(session, customer):
    return [
        (t.occurred_at.astimezone(TZ).date(), t.type, t.summary)
        for t in session.scalars(
            select(Touchpoint)
            .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
            .order_by(Touchpoint.occurred_at, Touchpoint.id)
        )
    ]


@pytest.fixture
def world(session, org):
    """The company before the import: 周销售 owns 常州市妇幼保健院; 李销售 already has 南京鼓楼医院; the
    stages' checklists are off so the deals reach the stages the sheet says."""
    taken = f.customer(session, org.other_rep, name="常州市妇幼保健院")
    gulou = f.customer(session, org.rep, name="南京鼓楼医院")
    for stage in session.scalars(select(Stage)):
        for item in stage.checklist:
            item.required = False
    session.commit()
    return taken, gulou


def test_the_preview_shows_merges_others_customers_dates_and_notes_before_anything_is_written(session, org, world):
    taken, gulou = world
    plan = commit.preview(session, org.rep, owner=org.rep, data=sheets.follow_up_sheet(), filename="跟进表.xlsx", tz=TZ)
    assert session.scalars(select(Touchpoint)).all() == []

    assert plan.reference == date(2025, 12, 20)  # the file's save date, not today (2026-03-02)
    assert [(r.sheet, r.row) for r in plan.rows] == [
        ("跟进表", 4),
        ("跟进表", 5),
        ("跟进表", 7),
        ("跟进表", 8),
        ("跟进表", 9),
        ("老客户2025", 2),
    ]  # banner, group header, 小计 and 合计 are not rows
    rows = {r.row: r for r in plan.rows}
    # One customer spelled two ways with one mobile: merged, and the preview says so.
    assert plan.merges() == [
        {
            "sheet": "跟进表",
            "row": 5,
            "name": "常州第一人民医院",
            "into_sheet": "跟进表",
            "into_row": 4,
            "into": "常州第一人民医院（本部）",
            "by": "name",
            "by_label": "名称相同（去掉分院/括号/有限公司等写法差异后）",
            "decision": "merge",
            "choices": {"merge": "合并为同一客户", "split": "分开，作为另一个客户"},
        }
    ]
    # Years from the cell (2025/9/18 dates 9月3日 and 9.10) and from the title (2025年下半年: 10/27 …).
    assert [e.day for e in rows[4].entries] == [date(2025, 9, 3), date(2025, 9, 10), date(2025, 9, 18)]
    assert [e.day for e in rows[5].entries] == [date(2025, 11 - 1, 27), date(2025, 11, 20), date(2025, 11, 28)]
    # 上周三 and 昨天 from the file's date (Sat 2025-12-20); 九月十日 in a sheet named 老客户2025.
    assert [e.day for e in rows[8].entries] == [date(2025, 12, 10), date(2025, 12, 19)]
    assert [e.day for e in rows[2].entries] == [date(2025, 9, 3), date(2025, 9, 10)]
    # No date anywhere in the row: the rows above date it, marked as a guess and said.
    (undated,) = rows[9].entries
    assert undated.day == date(2025, 12, 19) and "occurred_at" in undated.guessed

    assert (rows[4].stage, rows[4].stage_guessed, rows[4].amount_fen) == ("solution_demo", False, 58_000_000)
    assert rows[8].amount_fen == 150_000_000 and rows[9].amount_fen == 150_000_000
    assert rows[7].amount_fen == 10_000_000  # 壹拾万元整

    assert plan.taken() == [
        {
            "name": "常州市妇幼保健院",
            "customer_id": taken.id,
            "existing_name": "常州市妇幼保健院",
            "owner": "周销售",
            "rows": [7],
            "decision": "handover",
            "choices": {"handover": "申请转交（暂不写入）", "log": "记在该客户名下", "skip": "不导入"},
        }
    ]
    assert rows[2].match.how == "exact" and rows[2].match.customer_id == gulou.id
    assert plan.notes == [
        {"sheet": "跟进表", "row": 6, "note": "「小计」是汇总行，已跳过（不作为客户导入）"},
        {
            "sheet": "跟进表",
            "row": 8,
            "note": "电话「1381234567」不是有效的手机或座机号码，未存为联系电话；原文记在联系人的职务中",
        },
        {
            "sheet": "跟进表",
            "row": 9,
            "note": "备注「展会认识，留了名片」没有日期，按上方各行的日期记为 2025-12-19（推测）",
        },
        {"sheet": "老客户2025", "row": 3, "note": "「合计」是汇总行，已跳过（不作为客户导入）"},
    ]
    assert plan.summary() == {
        "rows": 6,
        "new_customers": 3,
        "matched_customers": 1,
        "touchpoints": 11,
        "opportunities": 3,
        "near_misses": 0,
        "merged_rows": 1,
        "others_customers": 1,
        "notes": 4,
        "errors": 0,
    }


def test_the_sheet_becomes_one_customer_per_customer_with_every_remark_at_its_date(session, org, world, run_import):
    taken, gulou = world
    imp = run_import(org.rep, sheets.follow_up_sheet())

    assert imp.status is ImportStatus.DONE
    mine = {c.name: c for c in live(session, Customer, Customer.owner_id == org.rep.id)}
    assert set(mine) == {"常州第一人民医院（本部）", "无锡康达医疗器械有限公司", "苏州立德医院", "南京鼓楼医院"}
    assert [c.name for c in live(session, Customer, Customer.name.contains("妇幼"))] == ["常州市妇幼保健院"]

    changzhou = mine["常州第一人民医院（本部）"]
    assert [(c.name, c.phone) for c in changzhou.contacts] == [("张主任", "+8613812345678")]
    assert history(session, changzhou) == [
        (date(2025, 9, 3), TouchpointType.VISIT, "面谈张主任，介绍公司"),
        (date(2025, 9, 10), TouchpointType.PHONE, "电话沟通需求"),
        (date(2025, 9, 18), TouchpointType.WECHAT, "微信发送资料"),
        (date(2025, 10, 27), TouchpointType.PHONE, "再次电话，约面访"),
        (date(2025, 11, 20), TouchpointType.VISIT, "面访张主任"),
        (date(2025, 11, 28), TouchpointType.PHONE, "电话跟进报价"),
    ]
    (deal,) = live(session, Opportunity, Opportunity.customer_id == changzhou.id)
    # The 阶段 column wins over the remarks' 报价; 58万 from the 金额 column; opened on 9.10 (需求), at its date.
    assert (deal.stage.name, deal.expected_amount_fen, deal.product_line) == ("方案演示", 58_000_000, "超声")
    assert [(h.to_stage.name, h.occurred_at) for h in deal.history] == [
        ("初步接触", at9(2025, 9, 10)),
        ("方案演示", at9(2025, 9, 18)),
    ]
    assert deal.last_follow_up_at == at9(2025, 11, 28)

    kangda = mine["无锡康达医疗器械有限公司"]
    # 10 digits: no mobile; the number kept as text on the contact
    assert [(c.name, c.title, c.phone) for c in kangda.contacts] == [("刘经理", "电话待核实：1381234567", None)]
    assert history(session, kangda) == [
        (date(2025, 12, 10), TouchpointType.PHONE, "电话沟通价格"),
        (date(2025, 12, 19), TouchpointType.WECHAT, "微信发报价"),
    ]
    (deal,) = live(session, Opportunity, Opportunity.customer_id == kangda.id)
    assert (deal.stage.name, deal.expected_amount_fen) == ("商务谈判", 150_000_000)

    lide = mine["苏州立德医院"]
    assert history(session, lide) == [(date(2025, 12, 19), TouchpointType.EXPO, "展会认识，留了名片")]
    (deal,) = live(session, Opportunity, Opportunity.customer_id == lide.id)
    assert (deal.stage.name, deal.expected_amount_fen, deal.product_line) == ("初步接触", 150_000_000, "待定")

    assert history(session, gulou) == [
        (date(2025, 9, 3), TouchpointType.VISIT, "面谈刘主任"),
        (date(2025, 9, 10), TouchpointType.PHONE, "电话回访，对方很满意"),
    ]
    assert [c.phone for c in gulou.contacts][-1] == "+8613600002222"
    assert all(t.source is CaptureSource.EXCEL_IMPORT for t in live(session, Touchpoint))

    # 周销售's customer: not filed again, nothing written; a hand-over asked of 周销售's manager.
    assert history(session, taken) == []
    assert imp.errors == [
        {"sheet": "跟进表", "row": 7, "reason": "客户「常州市妇幼保健院」归属周销售，已向钱主管申请转交，暂未写入"}
    ]
    (task,) = session.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all()
    assert (task.assignee_id, task.title, task.subject_id) == (
        org.manager.id,
        "李销售申请转交客户「常州市妇幼保健院」",
        taken.id,
    )
    assert imp.counts == {"customers": 3, "contacts": 4, "touchpoints": 11, "opportunities": 3, "failed": 1}


def test_rows_for_another_reps_customer_can_be_logged_under_it(session, org, world, run_import):
    taken, _ = world
    imp = run_import(org.rep, sheets.follow_up_sheet(), corrections={"matches": {"常州市妇幼保健院": "log"}})
    (tp,) = live(session, Touchpoint, Touchpoint.customer_id == taken.id)
    assert (tp.rep_id, tp.occurred_at, tp.summary) == (org.rep.id, at9(2025, 8, 15), "拜访，样品试用中")
    session.refresh(taken)
    assert taken.owner_id == org.other_rep.id and live(session, Opportunity, Opportunity.customer_id == taken.id) == []
    assert {
        "sheet": "跟进表",
        "row": 7,
        "note": "客户「常州市妇幼保健院」归属周销售，备注已记在该客户名下（未新增联系人、未建商机）",
    } in imp.notes
    assert imp.errors == []


def test_every_amount_form_is_read_or_reported_and_the_stage_column_wins(session, org, run_import):
    imp = run_import(org.rep, sheets.amounts_sheet())
    deals = {o.customer.name: (o.expected_amount_fen, o.stage.name) for o in live(session, Opportunity)}
    assert deals == {
        "甲医院": (58_000_000, "初步接触"),  # 需求确认's checklist is not done: the deal waits (a note says so)
        "乙医院": (150_000_000, "初步接触"),  # 1,500,000 yuan; no deal words: a deal all the same
        "丙医院": (10_000_000, "初步接触"),  # 壹拾万元整
    }
    notes = {(n["row"], n["note"]) for n in imp.notes}
    assert (5, "金额「一些钱」无法识别，未作为商机金额") in notes
    assert (5, "阶段「成交在即」不是已设置的商机阶段，按备注推断") in notes
    assert (6, "有阶段「方案演示」但没有金额，未建商机；补上金额列后可重新导入") in notes
    assert any(row == 2 and note.startswith("阶段为「需求确认」") for row, note in notes)  # the column's, not a guess
    jia = live(session, Customer, Customer.name == "甲医院")[0]
    assert [c.phone for c in jia.contacts] == ["+862162345678"]  # a landline is a phone
    assert [t.occurred_at for t in live(session, Touchpoint)] == [
        at9(2026, 2, 2),
        at9(2026, 2, 3),
        at9(2026, 2, 4),
        at9(2026, 2, 5),
        at9(2026, 2, 6),
    ]
    report = commit.progress(imp)
    assert report["errors"] == []


def test_importing_old_history_leaves_level_1_for_the_current_window_unchanged(session, org, world, run_import):
    # The current window has life of its own: a new lead with a deal, and a visit to an old customer.
    lead = f.customer(session, org.rep, name="新线索医院")
    f.touchpoint(session, org.rep, lead, occurred_at=at9(2026, 2, 20))
    f.touchpoint(session, org.other_rep, f.customer(session, org.other_rep), occurred_at=at9(2026, 2, 25))
    session.commit()
    before = executive_figures(session, at9(2026, 3, 2), TZ)
    assert before.funnel.leads == 2 and before.visits_per_rep_month.value

    imp = run_import(org.rep, sheets.old_history_sheet())  # saved yesterday, all of it last half-year's
    assert imp.counts["touchpoints"] == 5 and imp.counts["opportunities"] == 2
    days = sorted(
        t.occurred_at.astimezone(TZ).date() for t in live(session, Touchpoint, Touchpoint.rep_id == org.rep.id)
    )
    assert days == [
        date(2025, 9, 10),
        date(2025, 10, 27),
        date(2025, 11, 20),
        date(2025, 12, 3),
        date(2025, 12, 3),  # 绍兴妇保院's undated remark: dated by the rows above, marked as a guess
        date(2026, 2, 20),
    ]
    after = executive_figures(session, at9(2026, 3, 2), TZ)
    assert after == before


def test_deals_that_come_in_silent_make_one_digest_and_no_alert_before_the_grace_ends(
    session, org, world, run_import, frozen_clock
):
    imp = run_import(org.rep, sheets.follow_up_sheet())
    session.commit()
    texts = [
        m.body["content"]
        for m in session.scalars(
            select(OutboundMessage).where(OutboundMessage.recipient_userid == org.rep.wecom_userid)
        )
    ]
    assert texts == [
        "3 个导入的商机已超过 72 小时未跟进（来自「客户.xlsx」）。请尽快联系客户并记录触点；"
        "导入后 72 小时内不逐个预警，之后仍未跟进的将按跟进超时规则提醒您和主管。"
    ]
    run_scan(frozen_clock.now() + timedelta(hours=71))
    # No per-deal alert, no manager told, nothing escalated.
    assert [(a.rule, a.title) for a in session.scalars(select(Alert))] == []

    run_scan(frozen_clock.now() + timedelta(hours=73))  # the grace is over: the rule treats them as any deal
    fired = session.scalars(select(Alert).where(Alert.rule == "follow_up_overdue")).all()
    assert sorted(a.subject_id for a in fired) == sorted(imp.created_ids["opportunity"])


def test_two_reps_importing_the_same_hospital_leave_one_customer(session, org, run_import):
    first = sheets.xlsx({"客户": [["客户名称", "手机", "备注"], ["常州市妇幼保健院", "13811112222", "2026/2/2 拜访"]]})
    second = sheets.xlsx(
        {"客户": [["医院", "电话", "跟进记录"], ["常州市妇幼保健院（本部）", "13933334444", "2026/2/9 电话"]]}
    )
    run_import(org.rep, first)
    imp = run_import(org.outsider_rep, second)
    (customer,) = live(session, Customer, Customer.name.contains("常州市妇幼保健院"))
    assert (customer.name, customer.owner_id) == ("常州市妇幼保健院", org.rep.id)
    assert imp.errors == [
        {"sheet": "客户", "row": 2, "reason": "客户「常州市妇幼保健院」归属李销售，已向钱主管申请转交，暂未写入"}
    ]
    assert [t.rep_id for t in live(session, Touchpoint)] == [org.rep.id]


def test_undo_takes_back_the_import_and_its_hand_over_request(session, org, world, run_import):
    imp = run_import(org.rep, sheets.follow_up_sheet())
    commit.undo_import(session, org.rep, import_id=imp.id)
    session.commit()
    assert live(session, Touchpoint) == [] and live(session, Opportunity) == []
    (task,) = session.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all()
    assert task.status.value == "cancelled"
    # The manager who was asked in chat hears that the request is withdrawn.
    told = [
        m.body.get("content", "")
        for m in session.scalars(
            select(OutboundMessage).where(OutboundMessage.recipient_userid == task.assignee.wecom_userid)
        )
    ]
    assert any("申请转交" in text for text in told)
    assert any(text.startswith("李销售已撤销表格「客户.xlsx」的导入，之前的转交申请已撤回，无需处理") for text in told)


def test_one_customer_on_two_sheets_with_one_mobile_is_merged_and_said(session, org):
    data = sheets.xlsx(
        {
            "上半年": [["客户名称", "手机", "备注"], ["无锡市人民医院", 13811112222.0, "2026/1/5 拜访"]],
            "下半年": [["客户名称", "手机", "备注"], ["无锡人民医院（总院）", "13811112222", "2026/2/5 电话"]],
        }
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert plan.merges() == [
        {
            "sheet": "下半年",
            "row": 2,
            "name": "无锡人民医院（总院）",
            "into_sheet": "上半年",
            "into_row": 2,
            "into": "无锡市人民医院",
            "by": "phone",
            "by_label": "手机号相同",
            "decision": "merge",
            "choices": {"merge": "合并为同一客户", "split": "分开，作为另一个客户"},
        }
    ]
    assert plan.summary()["new_customers"] == 1


def test_two_close_spellings_in_one_file_are_said_before_anything_is_written(session, org):
    data = sheets.xlsx(
        {
            "客户": [
                ["客户名称", "手机", "备注"],
                ["常州第一人民医院", "13811112222", "2026/1/5 拜访"],
                ["常州市第一人民医院", "13833334444", "2026/2/5 电话"],
                ["无锡人民医院", "13855556666", "2026/2/6 电话"],
            ]
        }
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert plan.notes == [
        {
            "sheet": "客户",
            "row": 3,
            "note": "与客户 第2行「常州第一人民医院」名称相近（相似度 94），将作为两个客户导入；"
            "如是同一客户，请统一写法后重新上传",
        }
    ]
    assert plan.summary()["new_customers"] == 3


def test_a_rows_deal_that_goes_to_the_customers_deal_in_progress_is_said_before_the_commit(session, org, run_import):
    ongoing = f.customer(session, org.rep, name="南通市第一人民医院")
    met = f.touchpoint(session, org.rep, ongoing, occurred_at=datetime(2025, 12, 1, 1, 0, tzinfo=UTC))
    create_from_touchpoints(session, org.rep, [NewOpportunity(met.id, "南通一院 超声", "超声", 20_000_000)])
    session.commit()
    data = sheets.xlsx(
        {
            "台账": [
                ["客户名称", "金额", "备注"],
                ["南通市第一人民医院", "30万", "2026/1/5 面谈，介绍方案"],  # has one deal in progress: no second
                ["盐城市中医院（本部）", "58万", "2026/1/6 拜访，有意向"],  # a new customer's first deal
                ["盐城市中医院", "壹拾万元整", "2026/1/20 电话"],  # the same customer: goes to that deal
            ]
        }
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    said = "客户已有进行中的商机，备注中的商机信息记在该商机上，未重复创建"
    assert [(n["row"], n["note"]) for n in plan.notes if n["note"] == said] == [(2, said), (4, said)]
    assert plan.summary()["opportunities"] == 1

    imp = run_import(org.rep, data)
    assert imp.counts["opportunities"] == 1
    assert [(n["row"], n["note"]) for n in imp.notes if n["note"] == said] == [(2, said), (4, said)]  # once each


def test_a_correction_at_confirmation_replaces_what_the_preview_said_of_the_rows_deal(session, org, run_import):
    ongoing = f.customer(session, org.rep, name="南通市第一人民医院")
    met = f.touchpoint(session, org.rep, ongoing, occurred_at=datetime(2025, 12, 1, 1, 0, tzinfo=UTC))
    create_from_touchpoints(session, org.rep, [NewOpportunity(met.id, "南通一院 超声", "超声", 20_000_000)])
    session.commit()
    data = sheets.xlsx({"台账": [["客户名称", "金额", "备注"], ["南通一院", "30万", "2026/1/5 报价"]]})
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert any("商机停在「初步接触」" in n["note"] for n in plan.notes)  # as a new customer's new deal

    imp = run_import(org.rep, data, corrections={"matches": {"南通一院": str(ongoing.id)}})
    assert imp.counts["opportunities"] == 0
    notes = [n["note"] for n in imp.notes]
    assert "客户已有进行中的商机，备注中的商机信息记在该商机上，未重复创建" in notes
    assert not any("商机停在" in note for note in notes)  # the preview's word on a deal that was never opened
