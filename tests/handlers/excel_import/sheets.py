"""Spreadsheets built by the tests: a rep's real-looking customer sheet in .xlsx, .xls and GBK .csv."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from typing import Any

import openpyxl

HEADER = ["客户名称", "联系人", "职务", "手机", "拜访日期", "预计金额", "产品线", "备注"]


def xlsx(
    sheets: dict[str, list[list[Any]]], merges: dict[str, list[str]] | None = None, modified: datetime | None = None
) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
        for ref in (merges or {}).get(name, []):
            ws.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return with_modified(out.getvalue(), modified) if modified else out.getvalue()


def with_modified(data: bytes, modified: datetime) -> bytes:
    """The xlsx with its core properties saying it was last saved at `modified` (UTC): openpyxl stamps the
    moment of saving over whatever it was given."""
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", content
                )
            target.writestr(info, content)
    return out.getvalue()


def rep_sheet() -> bytes:
    """Title banner (merged) above the header, a blank row, a subtotal row, a merged hospital over two contacts,
    a phone as a float, numbers as text, Excel date cells and serials, and remarks with several dated entries."""
    rows = [
        ["2026年 李销售 客户跟进表", None, None, None, None, None, None, None],
        [None] * 8,
        HEADER,
        [
            "上海协和医院（东院）",
            "张主任",
            "设备科主任",
            13812345678.0,
            date(2026, 2, 10),
            "35万",
            "超声",
            "2026.2.10 拜访张主任，介绍产品；2月20日 电话沟通，客户要求报价；上周三 微信发送报价单",
        ],
        [None, "王护士长", "护理部", "13900001111", 46060, None, None, "电话回访，对演示很满意"],
        [None] * 8,
        ["杭州康明医疗器械有限公司", "陈经理", "采购", "1.37e10", "26/2/3", None, None, "拒绝了我们的方案，不满价格"],
        ["小计", None, None, None, None, None, None, None],
        ["宁波第二医院", "赵科长", "信息科", "号码待补", None, None, None, "展会上认识"],
        ["南京鼓楼医院", "刘主任", "检验科", 13600002222, "3月1日", 80000, "检验", "样机试用中，科室反馈积极"],
    ]
    return xlsx(
        {"客户": rows, "说明": [["这是说明页"]]},
        merges={"客户": ["A1:H1", "A4:A5"]},
        modified=datetime(2026, 3, 2, 8, 0),
    )


def gbk_csv() -> bytes:
    text = "客户名称,联系人,电话,备注\n苏州立康医院,周医生,13700003333,3月1日 面谈 对方不感兴趣\n"
    return text.encode("gbk")


def xls() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("客户")
    ws.write_merge(0, 0, 0, 3, "客户清单")
    for c, v in enumerate(["单位", "姓名", "联系方式", "跟进记录"]):
        ws.write(1, c, v)
    for c, v in enumerate(["无锡人民医院", "孙主任", 13500004444.0, "2026-02-25 拜访 做了产品演示"]):
        ws.write(2, c, v)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A valid-looking xlsx whose worksheet inflates to ~1 GB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(1024):
                f.write(chunk)
    return out.getvalue()


def million_rows() -> bytes:
    """A 1,000,000-row xlsx written as raw XML (openpyxl would take minutes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )
        z.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        z.writestr(
            "xl/workbook.xml",
            (
                '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
            ),
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                b'main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>customer</t></is></c></row>'
            )
            f.write(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(2, 1_000_002)))
            f.write(b"</sheetData></worksheet>")
    return out.getvalue()


def follow_up_sheet() -> bytes:
    """王销售's 「2025年下半年客户跟进表」, as reps really keep it: a title banner, a merged group header above
    the real header, an explicit 阶段 column, amounts as 58万 / 壹拾万元整 / 1,500,000 / 150万, a phone as a
    float, a landline, a 10-digit "mobile", remarks with 9月3日 / 9.10 / 2025/9/18 / 10/27 / 11.20 …；11/28 …
    and 上周三 / 昨天, one customer on two rows spelled two ways (same mobile), a subtotal row, a customer
    another rep owns, and a second sheet (named with its year) with 九月十日 and a 合计 row. Saved 2025-12-20."""
    header = ["客户名称", "联系人", "手机", "商机阶段", "预计金额", "产品", "跟进记录"]
    follow = [
        ["2025年下半年客户跟进表", None, None, None, None, None, None],
        ["客户信息", None, None, "商机信息", None, None, "跟进"],
        header,
        [
            "常州第一人民医院（本部）",
            "张主任",
            13812345678.0,
            "方案演示",
            "58万",
            "超声",
            "9月3日 面谈张主任，介绍公司；9.10 电话沟通需求；2025/9/18 微信发送资料",
        ],
        [
            "常州第一人民医院",
            "张主任",
            "138 1234 5678",
            None,
            None,
            None,
            "10/27 再次电话，约面访；11.20 面访张主任；11/28 电话跟进报价",
        ],
        ["小计", None, None, None, "58万", None, None],
        ["常州市妇幼保健院", "陈护士长", "0519-86667777", None, "壹拾万元整", "监护", "2025-08-15 拜访，样品试用中"],
        [
            "无锡康达医疗器械有限公司",
            "刘经理",
            1381234567,
            None,
            "1,500,000",
            "试剂",
            "上周三 电话沟通价格；昨天 微信发报价",
        ],
        ["苏州立德医院", "周主任", "13700003333", None, "150万", None, "展会认识，留了名片"],
    ]
    old = [
        ["单位名称", "联系人", "联系电话", "跟进记录"],
        ["南京鼓楼医院", "刘主任", 13600002222.0, "9月3日 面谈刘主任；九月十日 电话回访，对方很满意"],
        ["合计", None, None, None],
    ]
    return xlsx(
        {"跟进表": follow, "老客户2025": old},
        merges={"跟进表": ["A1:G1", "A2:C2", "D2:F2"]},
        modified=datetime(2025, 12, 20, 2, 0),
    )


def amounts_sheet() -> bytes:
    """A sales ledger of deals: amounts in every form a rep types, one the import cannot read, and a 阶段
    column naming a stage that does not exist. Saved 2026-02-27."""
    rows = [
        ["客户", "联系方式", "阶段", "金额", "备注"],
        ["甲医院", "021-62345678", "需求确认", "58万", "2026/2/2 电话沟通需求"],
        ["乙医院", "13900001111", None, "1,500,000", "2026-02-03 拜访"],
        ["丙医院", "13900002222", None, "壹拾万元整", "2.4 电话报价"],
        ["丁医院", "13900003333", "成交在即", "一些钱", "2/5 电话"],
        ["戊医院", "13900004444", "方案演示", None, "2/6 演示"],
    ]
    return xlsx({"台账": rows}, modified=datetime(2026, 2, 27, 2, 0))


def old_history_sheet() -> bytes:
    """Last half-year's follow-ups, saved yesterday (2026-03-01): every date is old, most written without a
    year (9.10, 10/27, 11月20日) or not at all. Dated at the file's date, they would all land in the current
    window; at their own dates none does."""
    rows = [
        ["2025年下半年客户跟进表", None, None, None, None],
        ["客户名称", "联系人", "手机", "预计金额", "跟进记录"],
        ["嘉兴第二医院", "钱主任", "13822223333", "20万", "9.10 电话沟通需求；10/27 面访钱主任，演示方案"],
        ["湖州中心医院", "孙科长", "13822224444", None, "11月20日 拜访；12.3 微信发资料"],
        ["绍兴妇保院", "李护士长", "13822225555", "15万", "电话介绍公司，留了资料"],
    ]
    return xlsx({"跟进": rows}, modified=datetime(2026, 3, 1, 2, 0))
