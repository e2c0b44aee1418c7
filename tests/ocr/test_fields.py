"""Field extraction from OCR lines: labels in the same box or the next one, money cross-checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from salesnav.ocr.fields import INCONSISTENT, extract_invoice, parse_capital_amount
from salesnav.ocr.reading import FIELDS, OcrLine
from salesnav.ocr.samples import SampleInvoice, capital_amount


def line(text: str, x: float, y: float, score: float = 0.99, width: float = 200) -> OcrLine:
    return OcrLine(text=text, score=score, box=(x, y, x + width, y + 30))


PAPER_INVOICE = [
    line("浙江增值税专用发票", 520, 40),
    line("发票代码：144031900111", 1100, 60),
    line("发票号码：08523671", 1100, 110),
    line("开票日期：2024年03月05日", 1100, 160),
    line("购买方", 80, 240),
    line("名称：上海市第六人民医院", 260, 242),
    line("纳税人识别号：12310000425006117P", 260, 290),
    line("货物或应税劳务名称", 80, 370),
    line("数量", 640, 370),
    line("合计", 80, 540),
    line("￥12389.38", 820, 542, 0.95),
    line("￥1610.62", 1260, 541, 0.94),
    line("价税合计（大写）", 80, 630),
    line("壹万肆仟圆整", 400, 630),
    line("（小写）￥14000.00", 1020, 631, 0.96),
    line("销售方", 80, 720),
    line("名称：杭州明远医疗器械有限公司", 260, 722),
]


def test_reads_every_field_of_a_paper_vat_invoice() -> None:
    reading = extract_invoice(PAPER_INVOICE, engine="test")

    assert reading.code == "144031900111"
    assert reading.number == "08523671"
    assert reading.date == date(2024, 3, 5)
    assert reading.buyer == "上海市第六人民医院"
    assert reading.seller == "杭州明远医疗器械有限公司"
    assert (reading.amount, reading.tax, reading.total) == (
        Decimal("12389.38"),
        Decimal("1610.62"),
        Decimal("14000.00"),
    )
    assert set(reading.confidence) == set(FIELDS)
    assert reading.confidence["total"] == 0.96
    assert reading.engine == "test"


def test_goods_table_heading_is_not_taken_for_a_name() -> None:
    lines = [line("购买方", 80, 100), line("货物或应税劳务名称", 80, 200), line("数量", 640, 200)]
    assert extract_invoice(lines).buyer is None


def test_value_in_the_box_right_of_its_label() -> None:
    lines = [
        line("发票号码", 1000, 100, width=120),
        line("O8523671", 1130, 102),  # OCR read the leading zero as a letter O
        line("开票日期:", 1000, 150, width=120),
        line("2024年3月5日", 1130, 150),
        line("名称:", 260, 300, width=60),
        line("北京协和医院", 330, 300),
    ]
    reading = extract_invoice(lines)
    assert reading.number == "08523671"
    assert reading.date == date(2024, 3, 5)
    assert reading.buyer == "北京协和医院"


def test_electronic_invoice_with_20_digit_number_and_no_code() -> None:
    lines = [
        line("电子发票（普通发票）", 500, 40),
        line("发票号码：24312000000012345678", 1100, 60),
        line("开票日期：2024年11月20日", 1100, 110),
        line("购买方信息", 60, 200),
        line("名称：华东医药股份有限公司", 160, 200),
        line("销售方信息", 800, 200),
        line("名称：苏州康健生物科技有限公司", 900, 200),
    ]
    reading = extract_invoice(lines)
    assert reading.code is None and reading.confidence["code"] == 0.0
    assert reading.number == "24312000000012345678"
    assert reading.buyer == "华东医药股份有限公司"
    assert reading.seller == "苏州康健生物科技有限公司"


def test_missing_total_is_derived_from_amount_and_tax_with_lower_confidence() -> None:
    lines = [line("合计", 80, 540), line("¥100.00", 820, 540), line("¥13.00", 1260, 540)]
    reading = extract_invoice(lines)
    assert reading.total == Decimal("113.00")
    assert reading.confidence["total"] < reading.confidence["amount"]


def test_total_from_capital_numerals_when_the_figures_are_unreadable() -> None:
    lines = [line("价税合计（大写）", 80, 630), line("壹仟壹佰叁拾圆整", 400, 630), line("（小写）¥", 1020, 630)]
    assert extract_invoice(lines).total == Decimal("1130.00")


def test_money_that_does_not_add_up_is_flagged_by_lower_confidence() -> None:
    lines = [
        line("合计", 80, 540),
        line("¥100.00", 820, 540, 1.0),
        line("¥13.00", 1260, 540, 1.0),
        line("价税合计（大写）壹佰壹拾叁圆整", 80, 630, 1.0, width=600),
        line("（小写）¥118.00", 1020, 630, 1.0),
    ]
    reading = extract_invoice(lines)
    assert reading.total == Decimal("118.00")
    assert reading.confidence["amount"] == INCONSISTENT
    assert reading.confidence["total"] < INCONSISTENT  # also disagrees with the capital numerals


def test_capital_numerals_round_trip() -> None:
    for value in ("14000.00", "1130.00", "10.50", "100203.07", "0.80", "120000000.00"):
        assert parse_capital_amount(capital_amount(Decimal(value))) == Decimal(value), value
    assert parse_capital_amount("壹万零伍拾圆贰角") == Decimal("10050.20")
    assert parse_capital_amount("名称") is None


def test_sample_invoice_total_is_amount_plus_tax() -> None:
    assert SampleInvoice().total == Decimal("14000.00")
