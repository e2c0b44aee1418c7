"""Reps' sheets as they really keep them — a title above a two-row header with merged cells, blank spacer rows,
a 小计 and a 合计 row, phones stored as floats, dates as Excel date cells, serials and text, a second sheet,
and remark cells in every date form (9月3日, 2025/9/18, 9.10, 10/27, 上周三, 昨天, 上个月, numbered lists,
weekdays, newest first) — each becomes the customers, contacts, dated touchpoints and preview notes worked out
by hand below. The clock is frozen (Mon 2026-03-02); the files say when they were saved."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
from sqlalchemy import select

from salesnav.handlers.excel_import import commit, export
from salesnav.models import CaptureSource, Customer, ImportStatus, Touchpoint, TouchpointType
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

PHONE, VISIT, WECHAT, EXPO = TouchpointType.PHONE, TouchpointType.VISIT, TouchpointType.WECHAT, TouchpointType.EXPO


def half_year_book() -> bytes:
    """李销售's 「2025年下半年客户跟进表」, saved Sat 2025-12-20 10:00 in Shanghai, and its first half on a
    second sheet named 「2025上半年」."""
    follow = [
        ["2025年下半年客户跟进表（李销售）", None, None, None, None],
        # Two header rows: 客户名称/联系人/手机 merged down over both, 跟进记录 merged across 日期 | 内容.
        ["客户名称", "联系人", "手机", "跟进记录", None],
        [None, None, None, "日期", "内容"],
        [
            "常州第一人民医院",
            "张主任",
            13812345678.0,
            datetime(2025, 9, 18),
            "9月3日 面谈张主任，介绍公司；9.10 电话沟通需求；2025/9/18 微信发送资料",
        ],
        [None, None, None, None, None],
        ["无锡康达医疗器械有限公司", "刘经理", "13912345678", 45960, "电话沟通，对方要求演示方案"],
        ["9月小计", None, None, None, "2家"],
        [
            "苏州立德医院",
            "周主任",
            13700003333.0,
            "11月20日",
            "11.20 面访周主任；11/28 电话，报价9.5万；12.3 微信发合同",
        ],
        ["南京鼓楼医院", "刘主任", 13600002222, None, "1、上周三 电话回访 2、昨天 微信确认"],
        ["杭州康明医院", "陈经理", 13588889999.0, None, "展会认识，留了名片"],
        ["绍兴妇保院", "李护士长", "135 7777 6666", "12.1", "送样品试用"],
        ["嘉兴第二医院", "钱主任", 13822223333.0, None, "12.15 电话；11.28 拜访钱主任（周五）；上个月 初次电话"],
        [None, None, None, None, None],
        ["合计", None, None, None, "7家"],
    ]
    first_half = [
        ["单位名称", "姓名", "联系电话", "沟通记录"],
        [
            "宁波第二医院",
            "赵科长",
            13655556666.0,
            "3.15 电话沟通；4月2日(周三) 拜访赵科长；2025-06-30 电话，有采购意向",
        ],
        ["湖州中心医院", "孙科长", 13822224444.0, "①5.6 电话②5.20 面访孙科长，演示方案"],
    ]
    return sheets.xlsx(
        {"跟进表": follow, "2025上半年": first_half},
        merges={"跟进表": ["A1:E1", "A2:A3", "B2:B3", "C2:C3", "D2:E2"]},
        modified=datetime(2025, 12, 20, 2, 0),
    )


def history(session, name):
    (customer,) = session.scalars(select(Customer).where(Customer.name == name, Customer.deleted_at.is_(None)))
    return [
        (t.occurred_at.astimezone(TZ).date(), t.type, t.summary, "occurred_at" in (t.guessed_fields or []))
        for t in session.scalars(
            select(Touchpoint)
            .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
            .order_by(Touchpoint.occurred_at, Touchpoint.id)
        )
    ]


def test_the_preview_reads_the_messy_sheet_row_by_row(session, org):
    plan = commit.preview(session, org.rep, owner=org.rep, data=half_year_book(), filename="跟进表.xlsx", tz=TZ)
    assert session.scalars(select(Touchpoint)).all() == []
    assert plan.reference == date(2025, 12, 20)  # the file's save date, not the clock's (2026-03-02)

    follow, first_half = plan.sheets
    assert (follow.name, follow.header_row, first_half.name, first_half.header_row) == ("跟进表", 3, "2025上半年", 1)
    # The lower header row names the columns; 「内容」 under 「跟进记录」 is the remarks.
    assert [(c.header, c.field) for c in follow.columns] == [
        ("客户名称", "customer"),
        ("联系人", "contact"),
        ("手机", "phone"),
        ("日期", "date"),
        ("跟进记录 内容", "remarks"),
    ]
    # Banner, header rows, spacer rows, 9月小计 and 合计 are no rows; both sheets are read, each row says its sheet.
    assert [(r.sheet, r.row, r.customer_name, r.contact_name, r.phone) for r in plan.rows] == [
        ("跟进表", 4, "常州第一人民医院", "张主任", "13812345678"),
        ("跟进表", 6, "无锡康达医疗器械有限公司", "刘经理", "13912345678"),
        ("跟进表", 8, "苏州立德医院", "周主任", "13700003333"),
        ("跟进表", 9, "南京鼓楼医院", "刘主任", "13600002222"),
        ("跟进表", 10, "杭州康明医院", "陈经理", "13588889999"),
        ("跟进表", 11, "绍兴妇保院", "李护士长", "13577776666"),
        ("跟进表", 12, "嘉兴第二医院", "钱主任", "13822223333"),
        ("2025上半年", 2, "宁波第二医院", "赵科长", "13655556666"),
        ("2025上半年", 3, "湖州中心医院", "孙科长", "13822224444"),
    ]
    rows = {(r.sheet, r.row): r for r in plan.rows}
    # The date column: an Excel date cell, a serial (45960 = 2025-10-30), text without a year (the title's).
    assert [rows["跟进表", n].row_day for n in (4, 6, 8, 11)] == [
        date(2025, 9, 18),
        date(2025, 10, 30),
        date(2025, 11, 20),
        date(2025, 12, 1),
    ]

    def dated(sheet, row):
        return [(e.day, e.text, "occurred_at" in e.guessed) for e in rows[sheet, row].entries]

    assert dated("跟进表", 4) == [
        (date(2025, 9, 3), "面谈张主任，介绍公司", False),
        (date(2025, 9, 10), "电话沟通需求", False),
        (date(2025, 9, 18), "微信发送资料", False),
    ]
    assert dated("跟进表", 6) == [(date(2025, 10, 30), "电话沟通，对方要求演示方案", True)]  # the date column's
    assert dated("跟进表", 8) == [
        (date(2025, 11, 20), "面访周主任", False),
        (date(2025, 11, 28), "电话，报价9.5万", False),  # 9.5万 is an amount, not 9月5日
        (date(2025, 12, 3), "微信发合同", False),
    ]
    assert dated("跟进表", 9) == [  # Sat 2025-12-20: 上周三 is 12-10, 昨天 12-19; the list marks are dropped
        (date(2025, 12, 10), "电话回访", False),
        (date(2025, 12, 19), "微信确认", False),
    ]
    assert dated("跟进表", 10) == [(date(2025, 12, 19), "展会认识，留了名片", True)]  # the rows above
    assert dated("跟进表", 11) == [(date(2025, 12, 1), "送样品试用", True)]  # 「12.1」 in the date column
    assert dated("跟进表", 12) == [  # written newest first; 上个月 is only a month: its first day, marked
        (date(2025, 12, 15), "电话", False),
        (date(2025, 11, 28), "拜访钱主任（周五）", False),
        (date(2025, 11, 1), "初次电话", True),
    ]
    assert dated("2025上半年", 2) == [  # the sheet's name says the year
        (date(2025, 3, 15), "电话沟通", False),
        (date(2025, 4, 2), "拜访赵科长", False),
        (date(2025, 6, 30), "电话，有采购意向", False),
    ]
    assert dated("2025上半年", 3) == [
        (date(2025, 5, 6), "电话", False),
        (date(2025, 5, 20), "面访孙科长，演示方案", False),
    ]

    # The remarks of rows 4, 6, 11 and the first half's speak of a deal, but no amount says how much: no deal.
    no_amount = "，但没有金额，未建商机；请补上金额列后重新导入，或在客户端对该客户记触点后由此建商机"
    assert plan.notes == [
        {"sheet": "跟进表", "row": 4, "note": f"备注提到商机（推断阶段：需求确认）{no_amount}"},
        {"sheet": "跟进表", "row": 6, "note": f"备注提到商机（推断阶段：方案演示）{no_amount}"},
        {"sheet": "跟进表", "row": 7, "note": "「9月小计」是汇总行，已跳过（不作为客户导入）"},
        {  # the new deal starts at 初步接触 and no checklist on the way has evidence yet: said before the commit
            "sheet": "跟进表",
            "row": 8,
            "note": "推断阶段为「合同审批」，但无法推进到「合同审批」：途经阶段的检查清单未完成——"
            "「需求确认」缺 客户需求记录；「方案演示」缺 演示PPT、客户问题清单、内部资源协调记录；"
            "「样品测试」缺 样品申请单；「商务谈判」缺 报价单；「合同审批」缺 合同草案；"
            "商机停在「初步接触」，补齐后可在客户端的商机推进卡上推进",
        },
        {
            "sheet": "跟进表",
            "row": 10,
            "note": "备注「展会认识，留了名片」没有日期，按上方各行的日期记为 2025-12-19（推测）",
        },
        {"sheet": "跟进表", "row": 11, "note": f"备注提到商机（推断阶段：样品测试）{no_amount}"},
        {"sheet": "跟进表", "row": 12, "note": "备注「初次电话」只写了大概时间，记为 2025-11-01（推测）"},
        {"sheet": "跟进表", "row": 14, "note": "「合计」是汇总行，已跳过（不作为客户导入）"},
        {"sheet": "2025上半年", "row": 2, "note": f"备注提到商机（推断阶段：需求确认）{no_amount}"},
        {"sheet": "2025上半年", "row": 3, "note": f"备注提到商机（推断阶段：方案演示）{no_amount}"},
    ]
    assert plan.summary()["new_customers"] == 9 and plan.summary()["touchpoints"] == 19


def test_the_messy_sheet_becomes_customers_contacts_and_touchpoints_at_their_dates(session, org, run_import):
    imp = run_import(org.rep, half_year_book())
    assert imp.status is ImportStatus.DONE
    assert imp.errors == []
    customers = session.scalars(select(Customer).where(Customer.deleted_at.is_(None)).order_by(Customer.id)).all()
    assert [(c.name, [(k.name, k.phone) for k in c.contacts]) for c in customers] == [
        ("常州第一人民医院", [("张主任", "+8613812345678")]),
        ("无锡康达医疗器械有限公司", [("刘经理", "+8613912345678")]),
        ("苏州立德医院", [("周主任", "+8613700003333")]),
        ("南京鼓楼医院", [("刘主任", "+8613600002222")]),
        ("杭州康明医院", [("陈经理", "+8613588889999")]),
        ("绍兴妇保院", [("李护士长", "+8613577776666")]),
        ("嘉兴第二医院", [("钱主任", "+8613822223333")]),
        ("宁波第二医院", [("赵科长", "+8613655556666")]),
        ("湖州中心医院", [("孙科长", "+8613822224444")]),
    ]
    assert all(c.owner_id == org.rep.id for c in customers)
    assert history(session, "常州第一人民医院") == [
        (date(2025, 9, 3), VISIT, "面谈张主任，介绍公司", False),
        (date(2025, 9, 10), PHONE, "电话沟通需求", False),
        (date(2025, 9, 18), WECHAT, "微信发送资料", False),
    ]
    assert history(session, "苏州立德医院") == [
        (date(2025, 11, 20), VISIT, "面访周主任", False),
        (date(2025, 11, 28), PHONE, "电话，报价9.5万", False),
        (date(2025, 12, 3), WECHAT, "微信发合同", False),
    ]
    assert history(session, "杭州康明医院") == [(date(2025, 12, 19), EXPO, "展会认识，留了名片", True)]
    assert history(session, "嘉兴第二医院") == [
        (date(2025, 11, 1), PHONE, "初次电话", True),
        (date(2025, 11, 28), VISIT, "拜访钱主任（周五）", False),
        (date(2025, 12, 15), PHONE, "电话", False),
    ]
    assert history(session, "宁波第二医院") == [
        (date(2025, 3, 15), PHONE, "电话沟通", False),
        (date(2025, 4, 2), VISIT, "拜访赵科长", False),
        (date(2025, 6, 30), PHONE, "电话，有采购意向", False),
    ]
    touchpoints = session.scalars(select(Touchpoint).where(Touchpoint.deleted_at.is_(None))).all()
    assert len(touchpoints) == 19 and all(t.source is CaptureSource.EXCEL_IMPORT for t in touchpoints)
    # The rows left out are said in the import's notes too (and so in the failed-rows file).
    left_out = {"sheet": "跟进表", "row": 7, "note": "「9月小计」是汇总行，已跳过（不作为客户导入）", "skipped": True}
    assert left_out in imp.notes  # marked, so that the failed-rows file says 已跳过, not 已导入
    total = {"sheet": "跟进表", "row": 14, "note": "「合计」是汇总行，已跳过（不作为客户导入）", "skipped": True}
    assert total in imp.notes
    report = list(csv.reader(io.StringIO(export.failed_rows_csv(imp).decode("utf-8-sig"))))
    assert ["跟进表", "14", "已跳过", "「合计」是汇总行，已跳过（不作为客户导入）"] in report
    # Each note once: the commit does not say again what the preview said (the deal's stop on the way).
    said = [(n["sheet"], n["row"], n["note"]) for n in imp.notes]
    assert len(said) == len(set(said))
    assert [row for sheet, row, note in said if "商机停在" in note] == [8]


def without_save_date(data: bytes) -> bytes:
    """The xlsx without its core properties: a file that does not say when it was saved."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "docProps/core.xml":
                target.writestr(info, source.read(info.filename))
    return out.getvalue()


def test_a_sheet_without_a_year_anywhere_takes_its_years_from_the_file_date_in_order(session, org):
    """No title, no year in the cells; saved Sat 2026-01-10. Cells run across new year, newest first, or say a
    date after the file's date."""
    data = sheets.xlsx(
        {
            "Sheet1": [
                ["医院", "联系人", "电话", "备注"],
                ["扬州苏北医院", "王主任", 13811112222.0, "12.28 电话；1.5 拜访王主任"],
                ["泰州人民医院", "陈主任", 13811113333.0, "1.8 电话；12.20 拜访；11.3 面谈陈主任"],
                ["镇江一院", "吴科长", 13811114444.0, "2026/2/1 拜访吴科长；1月6日 电话"],
            ]
        },
        modified=datetime(2026, 1, 10, 2, 0),
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    got = {r.customer_name: [(e.day, e.text, "occurred_at" in e.guessed) for e in r.entries] for r in plan.rows}
    assert got == {
        "扬州苏北医院": [(date(2025, 12, 28), "电话", False), (date(2026, 1, 5), "拜访王主任", False)],
        "泰州人民医院": [
            (date(2026, 1, 8), "电话", False),
            (date(2025, 12, 20), "拜访", False),
            (date(2025, 11, 3), "面谈陈主任", False),
        ],
        # 2026/2/1 is after the file's date: not used; the entry takes the date of the one below it, marked.
        "镇江一院": [(date(2026, 1, 6), "拜访吴科长", True), (date(2026, 1, 6), "电话", False)],
    }
    assert plan.notes == [
        {
            "sheet": "Sheet1",
            "row": 4,
            "note": "备注「拜访吴科长」写的日期「2026年2月1日」晚于文件日期 2026-01-10，未按该日期记录，"
            "按同一格里相邻记录的日期记为 2026-01-06（推测）",
        }
    ]


def test_a_file_that_does_not_say_when_it_was_saved_counts_from_the_imports_clock(session, org, frozen_clock):
    data = sheets.xlsx({"客户": [["客户名称", "手机", "备注"], ["常州二院", 13811115555.0, "前天 电话；昨天 拜访"]]})
    plan = commit.preview(session, org.rep, owner=org.rep, data=without_save_date(data), filename="a.xlsx", tz=TZ)
    assert plan.reference == date(2026, 3, 2)  # the frozen clock's day in Shanghai
    assert [e.day for e in plan.rows[0].entries] == [date(2026, 2, 28), date(2026, 3, 1)]


@pytest.mark.parametrize("merge_title", [True, False])
def test_a_title_banner_above_the_header_is_no_header_row_merged_or_not(session, org, merge_title):
    rows = [
        ["2024年第四季度拜访记录", None, None],
        ["客户名称", "手机", "拜访记录"],
        ["徐州医院", 13811116666.0, "11.5 拜访；12/1 电话"],
    ]
    data = sheets.xlsx(
        {"拜访": rows}, merges={"拜访": ["A1:C1"]} if merge_title else None, modified=datetime(2025, 6, 1)
    )
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert plan.sheets[0].header_row == 2
    assert [e.day for e in plan.rows[0].entries] == [date(2024, 11, 5), date(2024, 12, 1)]  # the title's year


def test_a_row_of_group_names_above_the_header_names_the_columns_below_it(session, org):
    rows = [
        ["客户信息", None, "联系方式", "跟进记录", None],
        ["客户名称", "联系人", "手机", "日期", "内容"],
        ["常州二院", "张主任", 13811117777.0, "2025-09-18", "电话沟通需求"],
    ]
    data = sheets.xlsx({"客户": rows}, merges={"客户": ["A1:B1", "D1:E1"]}, modified=datetime(2025, 12, 20))
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    (sheet,) = plan.sheets
    assert sheet.header_row == 2
    assert [(c.header, c.field) for c in sheet.columns] == [
        ("客户名称", "customer"),
        ("联系人", "contact"),
        ("手机", "phone"),
        ("日期", "date"),
        ("跟进记录 内容", "remarks"),
    ]
    (row,) = plan.rows
    assert [(e.day, e.text) for e in row.entries] == [(date(2025, 9, 18), "电话沟通需求")]


def test_with_no_year_in_the_title_the_first_full_date_further_down_says_the_year(session, org):
    """Saved 2027-03-01, long after: 「10/27」 in the first row belongs with 2025/11/3 two rows down (the nearest
    such day), not to the year before the file's date (2026)."""
    rows = [
        ["客户名称", "手机", "备注"],
        ["扬州一院", 13811118888.0, "10/27 电话"],
        ["扬州二院", 13811119999.0, "电话介绍产品"],
        ["扬州三院", 13811110000.0, "2025/11/3 拜访；11.20 电话"],
    ]
    data = sheets.xlsx({"客户": rows}, modified=datetime(2027, 3, 1))
    plan = commit.preview(session, org.rep, owner=org.rep, data=data, filename="a.xlsx", tz=TZ)
    assert [[(e.day, "occurred_at" in e.guessed) for e in r.entries] for r in plan.rows] == [
        [(date(2025, 10, 27), False)],
        [(date(2025, 10, 27), True)],  # undated: the row above's date, marked (and said)
        [(date(2025, 11, 3), False), (date(2025, 11, 20), False)],
    ]
    assert plan.notes == [
        {"sheet": "客户", "row": 3, "note": "备注「电话介绍产品」没有日期，按上方各行的日期记为 2025-10-27（推测）"}
    ]
