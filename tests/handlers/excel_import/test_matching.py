"""One customer per customer, and every column read or reported: a rep's 客户台账 in the shape reps keep it —
one hospital on two rows spelled two ways, a hospital with a campus in brackets, a customer another rep owns
under another spelling, an explicit 阶段 column with aliases and a closed stage, amounts in every form a rep
types (58万, 1,500,000, 1500000.00, ￥12,000, 壹拾万元整, 10w, 10W, 150万, and one unreadable), and phones as
floats, with +86, a landline with its extension and a 10-digit number.

Every expected customer, contact, deal and note below was worked out by hand from the sheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from salesnav.handlers.errors import DomainError
from salesnav.handlers.excel_import import commit, export
from salesnav.handlers.pool import pool_member
from salesnav.models import Contact, Customer, Opportunity, OutboundMessage, Stage, Task, Touchpoint
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

SAVED = datetime(2026, 2, 27, 2, 0)  # the file's save date (UTC): the reference day is 2026-02-27
HEADER = ["客户名称", "联系人", "手机", "阶段", "金额", "产品", "跟进记录"]
LEDGER = [
    HEADER,
    ["常州第一人民医院（本部）", "张主任", 13812345678.0, "方案演示", "58万", "超声", "2026/1/5 面谈张主任"],  # 2
    ["常州第一人民医院", "张主任", "+86 138 1234 5678", None, None, None, "2026/1/20 电话跟进"],  # 3
    ["常州市妇幼保健医院", "陈护士长", "0519-86667777-802", None, "壹拾万元整", "监护", "2026/2/2 拜访"],  # 4
    ["无锡康达医疗器械有限责任公司", "刘经理", 1381234567, "报价", "1,500,000", "试剂", "2026/2/3 电话报价"],  # 5
    ["无锡市中医医院", "孙主任", "13900001111", "演示中", "150万", "超声", "2026/2/4 拜访"],  # 6
    ["无锡市中医院（分院）", "孙主任", "139-0000-2222", None, None, None, "2026/2/10 电话"],  # 7
    ["苏州立德医院", "周主任", "+8613700003333", None, "1500000.00", None, "2026/2/5 电话"],  # 8
    ["南通瑞康医院", "钱主任", "021-62345678", "赢单", "￥12,000", "耗材", "2026/2/6 电话"],  # 9
    ["扬州康宁医院", "吴主任", "13700004444", "需求确认", "10w", None, "2026/2/7 电话沟通需求"],  # 10
    ["泰州仁和医院", "郑主任", "13700005555", None, "10W", None, "2026/2/8 电话"],  # 11
    ["盐城福康医院", "冯主任", "13700006666", None, "大约一些", None, "2026/2/9 电话"],  # 12
    ["淮安同仁医院", None, None, None, "150万", None, None],  # 13
]
NOTES = [
    (
        5,
        "电话「1381234567」不是有效的手机或座机号码，未存为联系电话；原文记在联系人的职务中",
    ),
    (5, "阶段「报价」读作「商务谈判」"),
    (6, "阶段「演示中」读作「方案演示」"),
    (
        7,
        "联系人「孙主任」在客户台账 第6行的电话是 13900001111，这里是 13900002222："
        "将作为两个联系人导入；如是同一人，请核对号码",
    ),
    (9, "阶段「赢单」是已结束的商机（赢单），导入只建进行中的商机：未建商机，跟进记录照常导入"),
    (12, "金额「大约一些」无法识别，未作为商机金额"),
    (13, "有金额但没有跟进记录（备注为空），未建商机；请补上备注后重新导入"),
]


def ledger(rows: list[list[object]] = LEDGER) -> bytes:
    return sheets.xlsx({"客户台账": rows}, modified=SAVED)


@pytest.fixture
def taken(session, org):
    """周销售 owns 常州市妇幼保健院 (the sheet spells it 常州市妇幼保健医院); the checklists are off so the deals
    reach the stages the 阶段 column says."""
    customer = f.customer(session, org.other_rep, name="常州市妇幼保健院")
    for stage in session.scalars(select(Stage)):
        for item in stage.checklist:
            item.required = False
    session.commit()
    return customer


def live(session, model, *where):
    return list(session.scalars(select(model).where(model.deleted_at.is_(None), *where).order_by(model.id)))


def test_the_preview_says_every_merge_owner_stage_amount_and_phone_before_anything_is_written(session, org, taken):
    plan = commit.preview(session, org.rep, owner=org.rep, data=ledger(), filename="台账.xlsx", tz=TZ)
    assert live(session, Customer, Customer.owner_id == org.rep.id) == []

    split = {"merge": "合并为同一客户", "split": "分开，作为另一个客户"}
    by_name = "名称相同（去掉分院/括号/有限公司等写法差异后）"
    assert plan.merges() == [
        {
            "sheet": "客户台账",
            "row": 3,
            "name": "常州第一人民医院",
            "into_sheet": "客户台账",
            "into_row": 2,
            "into": "常州第一人民医院（本部）",
            "by": "name",
            "by_label": by_name,
            "decision": "merge",
            "choices": split,
        },
        {
            "sheet": "客户台账",
            "row": 7,
            "name": "无锡市中医院（分院）",
            "into_sheet": "客户台账",
            "into_row": 6,
            "into": "无锡市中医医院",
            "by": "name",
            "by_label": by_name,
            "decision": "merge",
            "choices": split,
        },
    ]
    assert plan.taken() == [
        {
            "name": "常州市妇幼保健医院",
            "customer_id": taken.id,
            "existing_name": "常州市妇幼保健院",
            "owner": "周销售",
            "rows": [4],
            "decision": "handover",
            "choices": {"handover": "申请转交（暂不写入）", "log": "记在该客户名下", "skip": "不导入"},
        }
    ]
    rows = {r.row: r for r in plan.rows}
    # Phones: a float, +86 with spaces, a landline with its extension, a 10-digit number (no phone), dashes.
    assert [(n, rows[n].phone_e164) for n in (2, 3, 4, 5, 7, 8, 9)] == [
        (2, "+8613812345678"),
        (3, "+8613812345678"),
        (4, "+8651986667777"),
        (5, None),
        (7, "+8613900002222"),
        (8, "+8613700003333"),
        (9, "+862162345678"),
    ]
    # Amounts: 58万, 壹拾万元整, 1,500,000, 150万, 1500000.00, ￥12,000, 10w, 10W; 大约一些 unread (a note).
    assert {n: r.amount_fen for n, r in rows.items() if r.amount_fen} == {
        2: 58_000_000,
        4: 10_000_000,
        5: 150_000_000,
        6: 150_000_000,
        8: 150_000_000,
        9: 1_200_000,
        10: 10_000_000,
        11: 10_000_000,
        13: 150_000_000,
    }
    # The 阶段 column wins: a stage's name, an alias (报价, 演示中), a closed stage (no deal).
    assert [(n, rows[n].stage, rows[n].stage_guessed) for n in (2, 5, 6, 9, 10)] == [
        (2, "solution_demo", False),
        (5, "negotiation", False),
        (6, "solution_demo", False),
        (9, None, True),
        (10, "needs_confirmed", False),
    ]
    assert [(n["row"], n["note"]) for n in plan.notes] == NOTES
    assert plan.summary() == {
        "rows": 12,
        "new_customers": 9,
        "matched_customers": 0,
        "touchpoints": 10,
        "opportunities": 6,  # 常州第一, 康达, 无锡中医, 立德, 康宁, 仁和 (南通: 赢单; 盐城: no amount; 淮安: no remark)
        "near_misses": 0,
        "merged_rows": 2,
        "others_customers": 1,
        "notes": 7,
        "errors": 0,
    }


def test_the_ledger_becomes_one_customer_per_customer_and_says_why_for_every_row_short_of_its_data(
    session, org, taken, run_import
):
    imp = run_import(org.rep, ledger(), filename="台账.xlsx")

    mine = {c.name: c for c in live(session, Customer, Customer.owner_id == org.rep.id)}
    assert set(mine) == {
        "常州第一人民医院（本部）",
        "无锡康达医疗器械有限责任公司",
        "无锡市中医医院",
        "苏州立德医院",
        "南通瑞康医院",
        "扬州康宁医院",
        "泰州仁和医院",
        "盐城福康医院",
        "淮安同仁医院",
    }
    assert [c.name for c in live(session, Customer, Customer.name.contains("妇幼"))] == ["常州市妇幼保健院"]

    contacts = {
        (c.customer.name, c.name, c.title, c.phone)
        for c in live(session, Contact, Contact.customer_id.in_([c.id for c in mine.values()]))
    }
    assert contacts == {
        ("常州第一人民医院（本部）", "张主任", None, "+8613812345678"),
        ("无锡康达医疗器械有限责任公司", "刘经理", "电话待核实：1381234567", None),
        ("无锡市中医医院", "孙主任", None, "+8613900001111"),
        ("无锡市中医医院", "孙主任", None, "+8613900002222"),
        ("苏州立德医院", "周主任", None, "+8613700003333"),
        ("南通瑞康医院", "钱主任", None, "+862162345678"),
        ("扬州康宁医院", "吴主任", None, "+8613700004444"),
        ("泰州仁和医院", "郑主任", None, "+8613700005555"),
        ("盐城福康医院", "冯主任", None, "+8613700006666"),
    }
    deals = {o.customer.name: (o.expected_amount_fen, o.stage.name, o.product_line) for o in live(session, Opportunity)}
    assert deals == {
        "常州第一人民医院（本部）": (58_000_000, "方案演示", "超声"),
        "无锡康达医疗器械有限责任公司": (150_000_000, "商务谈判", "试剂"),
        "无锡市中医医院": (150_000_000, "方案演示", "超声"),
        "苏州立德医院": (150_000_000, "初步接触", "待定"),
        "扬州康宁医院": (10_000_000, "需求确认", "待定"),
        "泰州仁和医院": (10_000_000, "初步接触", "待定"),
    }
    assert imp.counts == {"customers": 9, "contacts": 9, "touchpoints": 10, "opportunities": 6, "failed": 1}
    reason = "客户「常州市妇幼保健院」归属周销售，已向钱主管申请转交，暂未写入"
    assert imp.errors == [{"sheet": "客户台账", "row": 4, "reason": reason}]
    assert [(n["row"], n["note"]) for n in imp.notes] == NOTES

    # The failed-rows file says the same, row by row.
    lines = list(csv.reader(io.StringIO(export.failed_rows_csv(imp).decode("utf-8-sig"))))
    assert lines == [
        ["工作表", "行号", "结果", "原因"],
        ["客户台账", "4", "未导入", reason],
        *[["客户台账", str(row), "已导入，有说明", note] for row, note in NOTES],
    ]
    # The hand-over: a task for 周销售's manager, and a message telling them.
    (task,) = session.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all()
    assert (task.assignee_id, task.title, task.subject_id) == (
        org.manager.id,
        "李销售申请转交客户「常州市妇幼保健院」",
        taken.id,
    )
    told = [
        m.body["content"]
        for m in session.scalars(
            select(OutboundMessage).where(OutboundMessage.recipient_userid == org.manager.wecom_userid)
        )
    ]
    assert told == [
        "李销售导入表格「台账.xlsx」时，有客户已归属其他同事：「常州市妇幼保健院」（周销售）。"
        "李销售申请转交，请在待办中处理；同意前这些记录不会写入。"
    ]


def test_a_merge_the_user_splits_is_two_customers(session, org, taken, run_import):
    split = {"matches": {"无锡市中医院（分院）": "split"}}
    plan = commit.preview(
        session, org.rep, owner=org.rep, data=ledger(), filename="台账.xlsx", tz=TZ, corrections=split
    )
    assert [m["row"] for m in plan.merges()] == [3]
    assert plan.summary()["new_customers"] == 10
    # Split on purpose: the two spellings are not said to be alike, and 孙主任's two phones are two customers'.
    assert [n["row"] for n in plan.notes] == [5, 5, 6, 9, 12, 13]

    run_import(org.rep, ledger(), filename="台账.xlsx", corrections=split)
    wuxi = live(session, Customer, Customer.name.contains("无锡市中医"))
    assert [(c.name, [p.phone for p in c.contacts]) for c in wuxi] == [
        ("无锡市中医医院", ["+8613900001111"]),
        ("无锡市中医院（分院）", ["+8613900002222"]),
    ]


def test_a_split_of_a_name_not_in_the_file_is_refused_in_chinese(session, org, taken):
    with pytest.raises(DomainError, match="表格中没有客户「无此医院」"):
        commit.preview(
            session,
            org.rep,
            owner=org.rep,
            data=ledger(),
            filename="台账.xlsx",
            tz=TZ,
            corrections={"matches": {"无此医院": "split"}},
        )


def test_two_reps_importing_one_hospital_leave_it_once_and_the_second_logs_under_it(session, org, run_import):
    first = sheets.xlsx(
        {"客户": [["医院", "手机", "备注"], ["常州市妇幼保健院", 13811112222.0, "2026/2/2 拜访"]]}, modified=SAVED
    )
    run_import(org.other_rep, first)
    second = sheets.xlsx(
        {
            "表": [
                ["客户名称", "联系电话", "跟进记录"],
                ["常州市妇幼保健医院（本部）", "+86 138-1111-2222", "2026/2/9 电话"],
            ]
        },
        modified=SAVED,
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=second, filename="b.xlsx", tz=TZ)
    ((row,),) = [plan.rows]
    assert (row.match.how, row.match.owner_name) == ("taken", "周销售")

    imp = run_import(org.rep, second, corrections={"matches": {"常州市妇幼保健医院（本部）": "log"}})
    (customer,) = live(session, Customer, Customer.name.contains("妇幼"))
    assert (customer.name, customer.owner_id) == ("常州市妇幼保健院", org.other_rep.id)
    assert [(t.rep_id, t.occurred_at) for t in live(session, Touchpoint)] == [
        (org.other_rep.id, datetime(2026, 2, 2, 1, 0, tzinfo=UTC)),
        (org.rep.id, datetime(2026, 2, 9, 1, 0, tzinfo=UTC)),
    ]
    assert imp.counts["customers"] == 0 and imp.errors == []


def test_one_mobile_under_another_name_is_shown_and_the_user_may_call_it_new(session, org, run_import):
    known = f.customer(session, org.rep, name="镇江康复医院")
    known.contacts[0].phone = "+8613855556666"
    session.commit()
    data = sheets.xlsx({"S": [["客户名称", "手机", "备注"], ["丹阳人民医院", "13855556666", "2026/2/9 电话"]]})
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    ((miss),) = plan.near_misses()
    assert (miss["name"], miss["decision"], miss["why"], miss["candidates"][0]["name"]) == (
        "丹阳人民医院",
        known.id,
        "手机号与已有客户的联系人相同，名称不同",
        "镇江康复医院",
    )
    run_import(org.rep, data, corrections={"matches": {"丹阳人民医院": "new"}})
    assert [c.name for c in live(session, Customer, Customer.owner_id == org.rep.id)] == [
        "镇江康复医院",
        "丹阳人民医院",
    ]


def test_a_near_miss_taken_as_a_colleagues_customer_is_handed_over_not_refused(session, org, run_import):
    theirs = f.customer(session, org.other_rep, name="嘉兴市第一人民医院")
    session.commit()
    data = sheets.xlsx({"S": [["客户名称", "联系人", "备注"], ["嘉兴市第一医院", "王主任", "2026/2/9 电话"]]})
    decided = {"matches": {"嘉兴市第一医院": str(theirs.id)}}  # the rep taps 「就是「嘉兴市第一人民医院」」
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ, corrections=decided)
    (taken,) = plan.taken()
    assert (taken["existing_name"], taken["owner"], taken["decision"]) == ("嘉兴市第一人民医院", "周销售", "handover")
    imp = run_import(org.rep, data, corrections=decided)
    assert imp.counts["customers"] == 0  # never filed twice
    (task,) = session.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all()
    assert task.subject_id == theirs.id


AMOUNT_FORMS = [
    ("58万", 58_000_000),
    ("1,500,000", 150_000_000),
    ("1500000.00", 150_000_000),
    ("￥12,000", 1_200_000),
    ("壹拾万元整", 10_000_000),
    ("10w", 10_000_000),
    ("10W", 10_000_000),
    ("150万", 150_000_000),
    (80000, 8_000_000),  # a number cell: yuan
    (1500000.0, 150_000_000),  # a float cell
]


def test_a_thousand_rows_with_amounts_make_a_thousand_deals_or_each_says_why_not(session, org, run_import):
    rows: list[list[object]] = [["客户名称", "手机", "预计金额", "跟进记录"]]
    expected = 0
    for i in range(1000):
        form, fen = AMOUNT_FORMS[i % len(AMOUNT_FORMS)]
        remark = None if i % 200 == 7 else f"2026/2/{1 + i % 25} 电话沟通"  # five rows without a remark
        rows.append([f"第{i:04d}号客户医院", f"139{i:08d}", form, remark])
        expected += fen if remark else 0
    imp = run_import(org.rep, sheets.xlsx({"台账": rows}, modified=SAVED))

    deals = live(session, Opportunity)
    assert len(deals) == 995 and sum(o.expected_amount_fen for o in deals) == expected
    without = [
        n["row"] for n in imp.notes if n["note"] == "有金额但没有跟进记录（备注为空），未建商机；请补上备注后重新导入"
    ]
    assert without == [9, 209, 409, 609, 809]  # row 2 + i for i = 7, 207, …
    assert imp.counts["opportunities"] + len(without) == 1000 and imp.errors == []


def test_an_amount_range_is_read_as_written_and_said(session, org):
    data = sheets.xlsx({"S": [["客户名称", "金额", "备注"], ["甲医院", "30-50万", "2026/2/2 电话"]]}, modified=SAVED)
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert plan.rows[0].amount_fen == 50_000_000
    assert [n["note"] for n in plan.notes] == ["金额「30-50万」是一个范围，按 50万元 导入，请核对"]


def test_a_customer_in_the_public_pool_is_not_filed_again_and_the_rep_is_told_to_claim_it(session, org, run_import):
    pooled = f.customer(session, pool_member(session), name="镇江市中医院")
    session.commit()
    data = sheets.xlsx({"S": [["客户名称", "手机", "备注"], ["镇江市中医医院", "13855556666", "2026/2/9 电话"]]})
    imp = run_import(org.rep, data)
    assert [c.id for c in live(session, Customer, Customer.name.contains("镇江"))] == [pooled.id]
    assert imp.errors == [
        {
            "sheet": "S",
            "row": 2,
            "reason": "客户「镇江市中医院」归属公海，请先在公海领取（发送「公海」查看）后重新导入，暂未写入",
        }
    ]
    assert session.scalars(select(Task).where(Task.origin == f"excel_import:{imp.id}")).all() == []


def test_a_hospital_of_another_city_is_no_near_miss(session, org):
    for city in ("杭州", "衢州", "台州"):
        f.customer(session, org.other_rep, name=f"{city}市第一人民医院")
    mine = f.customer(session, org.rep, name="常州市第一人民医院")
    session.commit()
    data = sheets.xlsx(
        {
            "S": [
                ["客户名称", "备注"],
                ["常州第一人民医院", "2026/2/9 电话"],  # the rep's own, written without 市: still the same
                ["温州第一人民医院", "2026/2/9 电话"],
                ["淮安市妇幼保健院", "2026/2/10 拜访"],
                ["淮南市妇幼保健院", "2026/2/11 拜访"],
            ]
        }
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    near = {n["name"]: [c["name"] for c in n["candidates"]] for n in plan.near_misses()}
    assert near == {"常州第一人民医院": ["常州市第一人民医院"]}  # not 杭州/衢州/台州's, nor 温州's
    assert [(r.customer_name, r.match.customer_id) for r in plan.rows] == [
        ("常州第一人民医院", mine.id),
        ("温州第一人民医院", None),
        ("淮安市妇幼保健院", None),
        ("淮南市妇幼保健院", None),
    ]
    assert not any("名称相近" in n["note"] for n in plan.notes)  # 淮安 and 淮南 are two cities' hospitals
