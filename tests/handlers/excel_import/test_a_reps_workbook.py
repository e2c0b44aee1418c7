"""A specification by example: one rep's whole workbook, as reps keep them, and what it becomes.

李销售's 「2025年下半年客户跟进表」 (saved 2025-12-20): a title banner over the header, an explicit 阶段 column,
amounts as 150万 and 壹拾万, a mobile typed as a float and with spaces, one hospital on two rows spelled with
and without its branch suffix, remarks whose entries carry compact dates (「9.10 电话沟通…」, 「10/27 再次电话…」,
「11.20 面访…；11/28 电话…」), a subtotal row, a remark with no date at all, and a customer 周销售 already owns.
Every expectation below is worked out by hand from the workbook built here with openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import select

from salesnav.handlers.excel_import import commit
from salesnav.models import (
    CaptureSource,
    Customer,
    ImportStatus,
    Opportunity,
    Stage,
    Touchpoint,
    TouchpointType,
)
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

TITLE = "2025年下半年客户跟进表"
SAVED = datetime(2025, 12, 20, 2, 0)  # UTC: 10:00 on Sat 2025-12-20 in Shanghai


def workbook() -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "客户跟进"
    rows = [
        [TITLE, None, None, None, None, None, None],
        ["客户名称", "联系人", "手机", "阶段", "预计金额", "产品", "跟进记录"],
        [
            "扬州市第一人民医院（本部）",
            "吴主任",
            13911112222.0,
            "方案演示",
            "150万",
            "超声",
            "9.10 电话沟通需求，吴主任想了解超声新机型；9.16 面访吴主任，演示样机",
        ],
        [
            "扬州市第一人民医院",
            "吴主任",
            "139 1111 2222",
            None,
            None,
            None,
            "10/27 再次电话，约下月面访；11.20 面访吴主任，谈配置；11/28 电话跟进报价",
        ],
        ["小计", None, None, None, "150万", None, None],
        ["常州市妇幼保健院", "陈护士长", "0519-86667777", None, "壹拾万", "监护", "10.15 拜访护理部，样品试用中"],
        ["镇江康泰医疗器械有限公司", "孙经理", "13722223333", None, "壹拾万", "试剂", "12.5 电话沟通试剂价格"],
        ["泰州人民医院", "钱科长", "13566667777", None, None, None, "展会认识，留了名片"],
    ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("A1:G1")
    out = io.BytesIO()
    book.save(out)
    return sheets.with_modified(out.getvalue(), SAVED)


def at9(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the hour an imported entry is put at


@pytest.fixture
def company(session, org):
    """Before the import: 周销售 owns 常州市妇幼保健院; checklists off, so deals reach the stage the sheet says."""
    taken = f.customer(session, org.other_rep, name="常州市妇幼保健院")
    for stage in session.scalars(select(Stage)):
        for item in stage.checklist:
            item.required = False
    session.commit()
    return taken


def live(session, model, *where):
    return list(session.scalars(select(model).where(model.deleted_at.is_(None), *where).order_by(model.id)))


def history(session, customer) -> list[tuple[date, TouchpointType, str]]:
    return [
        (t.occurred_at.astimezone(TZ).date(), t.type, t.summary)
        for t in live(session, Touchpoint, Touchpoint.customer_id == customer.id)
    ]


def test_the_preview_says_what_the_workbook_will_become_before_anything_is_written(session, org, company):
    plan = commit.preview(session, org.rep, owner=org.rep, data=workbook(), filename="跟进表.xlsx", tz=TZ)
    assert session.scalars(select(Touchpoint)).all() == []
    assert plan.reference == date(2025, 12, 20)  # the day the file was saved: nothing may be dated after it

    # The banner and the 小计 row are not customers; five rows are.
    assert [r.row for r in plan.rows] == [3, 4, 6, 7, 8]
    rows = {r.row: r for r in plan.rows}
    # 「扬州市第一人民医院（本部）」 and 「扬州市第一人民医院」: one customer (the branch suffix is no difference;
    # the mobile, once a float and once with spaces, is the same too). Said before anything is written.
    assert [(m["row"], m["into_row"], m["into"], m["by"]) for m in plan.merges()] == [
        (4, 3, "扬州市第一人民医院（本部）", "name")
    ]
    # Compact dates split the cells into entries; the years come from the title (2025年下半年).
    assert [(e.day, e.touchpoint_type, e.text) for e in rows[3].entries] == [
        (date(2025, 9, 10), TouchpointType.PHONE, "电话沟通需求，吴主任想了解超声新机型"),
        (date(2025, 9, 16), TouchpointType.VISIT, "面访吴主任，演示样机"),
    ]
    assert [(e.day, e.touchpoint_type, e.text) for e in rows[4].entries] == [
        (date(2025, 10, 27), TouchpointType.PHONE, "再次电话，约下月面访"),
        (date(2025, 11, 20), TouchpointType.VISIT, "面访吴主任，谈配置"),
        (date(2025, 11, 28), TouchpointType.PHONE, "电话跟进报价"),
    ]
    # The 阶段 column says 方案演示 (not a guess); 150万 and 壹拾万 are read, in fen.
    assert (rows[3].stage, rows[3].stage_guessed, rows[3].amount_fen) == ("solution_demo", False, 150_000_000)
    assert rows[7].amount_fen == 10_000_000 and rows[6].amount_fen == 10_000_000
    # A remark with no date: dated by the row above (12.5), marked as a guess, and said.
    (undated,) = rows[8].entries
    assert (undated.day, "occurred_at" in undated.guessed) == (date(2025, 12, 5), True)
    # 周销售's customer: named with its owner, offered as a hand-over (the default), logging under it, or skipping.
    assert [(t["name"], t["owner"], t["rows"], t["decision"]) for t in plan.taken()] == [
        ("常州市妇幼保健院", "周销售", [6], "handover")
    ]
    assert rows[6].match.customer_id == company.id
    assert plan.notes == [
        {"sheet": "客户跟进", "row": 5, "note": "「小计」是汇总行，已跳过（不作为客户导入）"},
        {
            "sheet": "客户跟进",
            "row": 8,
            "note": "备注「展会认识，留了名片」没有日期，按上方各行的日期记为 2025-12-05（推测）",
        },
    ]
    assert plan.summary() == {
        "rows": 5,
        "new_customers": 3,  # 扬州 (two rows), 镇江康泰, 泰州
        "matched_customers": 0,
        "touchpoints": 7,  # 2 + 3 (扬州) + 1 (镇江) + 1 (泰州); 常州's waits for the hand-over
        "opportunities": 2,  # 扬州 (150万), 镇江 (壹拾万); 泰州 has no amount
        "near_misses": 0,
        "merged_rows": 1,
        "others_customers": 1,
        "notes": 2,
        "errors": 0,
    }


def test_the_workbook_becomes_one_customer_each_with_every_remark_at_its_date(session, org, company, run_import):
    imp = run_import(org.rep, workbook(), filename="跟进表.xlsx")
    assert imp.status is ImportStatus.DONE

    mine = {c.name: c for c in live(session, Customer, Customer.owner_id == org.rep.id)}
    assert set(mine) == {"扬州市第一人民医院（本部）", "镇江康泰医疗器械有限公司", "泰州人民医院"}
    assert [c.owner_id for c in live(session, Customer, Customer.name.contains("妇幼"))] == [org.other_rep.id]

    yangzhou = mine["扬州市第一人民医院（本部）"]
    assert [(c.name, c.phone) for c in yangzhou.contacts] == [("吴主任", "+8613911112222")]  # one contact, not two
    assert history(session, yangzhou) == [
        (date(2025, 9, 10), TouchpointType.PHONE, "电话沟通需求，吴主任想了解超声新机型"),
        (date(2025, 9, 16), TouchpointType.VISIT, "面访吴主任，演示样机"),
        (date(2025, 10, 27), TouchpointType.PHONE, "再次电话，约下月面访"),
        (date(2025, 11, 20), TouchpointType.VISIT, "面访吴主任，谈配置"),
        (date(2025, 11, 28), TouchpointType.PHONE, "电话跟进报价"),
    ]
    (deal,) = live(session, Opportunity, Opportunity.customer_id == yangzhou.id)
    # Opened by the first remark (需求) at its date, at 方案演示 from the 阶段 column since the demo on 9.16;
    # every later remark follows it up.
    assert (deal.stage.name, deal.expected_amount_fen, deal.product_line) == ("方案演示", 150_000_000, "超声")
    assert [(h.to_stage.name, h.occurred_at) for h in deal.history] == [
        ("初步接触", at9(2025, 9, 10)),
        ("方案演示", at9(2025, 9, 16)),
    ]
    assert deal.last_follow_up_at == at9(2025, 11, 28)
    assert {t.opportunity_id for t in live(session, Touchpoint, Touchpoint.customer_id == yangzhou.id)} == {deal.id}

    kangtai = mine["镇江康泰医疗器械有限公司"]
    assert [(c.name, c.phone) for c in kangtai.contacts] == [("孙经理", "+8613722223333")]
    assert history(session, kangtai) == [(date(2025, 12, 5), TouchpointType.PHONE, "电话沟通试剂价格")]
    (deal,) = live(session, Opportunity, Opportunity.customer_id == kangtai.id)
    # 壹拾万 = 100,000 yuan; no 阶段 given: 价格 in the remark says 商务谈判, a guess the touchpoint marks.
    assert (deal.stage.name, deal.expected_amount_fen, deal.product_line) == ("商务谈判", 10_000_000, "试剂")
    (opening,) = live(session, Touchpoint, Touchpoint.customer_id == kangtai.id)
    assert "opportunity.stage" in opening.guessed_fields

    taizhou = mine["泰州人民医院"]
    assert history(session, taizhou) == [(date(2025, 12, 5), TouchpointType.EXPO, "展会认识，留了名片")]
    (guessed,) = live(session, Touchpoint, Touchpoint.customer_id == taizhou.id)
    assert "occurred_at" in guessed.guessed_fields
    assert live(session, Opportunity, Opportunity.customer_id == taizhou.id) == []

    # 周销售's customer: nothing written under it, a hand-over asked of 周销售's manager, the row listed.
    assert live(session, Touchpoint, Touchpoint.customer_id == company.id) == []
    assert imp.errors == [
        {"sheet": "客户跟进", "row": 6, "reason": "客户「常州市妇幼保健院」归属周销售，已向钱主管申请转交，暂未写入"}
    ]
    assert all(t.source is CaptureSource.EXCEL_IMPORT for t in live(session, Touchpoint))
    assert imp.counts == {"customers": 3, "contacts": 3, "touchpoints": 7, "opportunities": 2, "failed": 1}
