"""Chinese dates, numerals and amounts as reps write them: every spelling read, years inferred from the evidence,
never after the file's date, never out of order."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from salesnav.text.cn_dates import (
    DATE_PATTERN,
    DayMention,
    YearHint,
    amount_fen,
    cn_number,
    first_full_date,
    infer_years,
    mention,
    parse_date,
    title_hint,
)

FILE_DAY = date(2025, 12, 20)  # a Saturday


def mentions(text: str, reference: date = FILE_DAY) -> list[DayMention | None]:
    return [mention(m, reference) for m in DATE_PATTERN.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("2025/9/18 微信", DayMention(2025, 9, 18)),
        ("2025-09-18 微信", DayMention(2025, 9, 18)),
        ("2025.9.18 微信", DayMention(2025, 9, 18)),
        ("2025年9月18日 微信", DayMention(2025, 9, 18)),
        ("25/9/18 微信", DayMention(2025, 9, 18)),
        ("9月3日 面谈", DayMention(None, 9, 3)),
        ("九月三日 面谈", DayMention(None, 9, 3)),
        ("十二月二十日 面谈", DayMention(None, 12, 20)),
        ("9.10 电话", DayMention(None, 9, 10)),
        ("10/27 再次电话", DayMention(None, 10, 27)),
        ("昨天 微信", DayMention(2025, 12, 19)),
        ("上周三 电话", DayMention(2025, 12, 10)),
        ("周三 电话", DayMention(2025, 12, 17)),
        ("3天前 电话", DayMention(2025, 12, 17)),
        ("25年9月18日 拜访", DayMention(2025, 9, 18)),
        ("2025年9月18号 拜访", DayMention(2025, 9, 18)),
        ("20250918 微信", DayMention(2025, 9, 18)),
        ("9/3/2025 面谈", DayMention(2025, 9, 3)),
        ("10.27.2025 电话", DayMention(2025, 10, 27)),
        ("9.10号 电话", DayMention(None, 9, 10)),
        ("1.9月3日 面谈", DayMention(None, 9, 3)),  # 「1.」 is a list mark, not 1月9日
        ("前天 电话", DayMention(2025, 12, 18)),
        ("大前天 电话", DayMention(2025, 12, 17)),
        ("上上周五 拜访", DayMention(2025, 12, 5)),
        ("上月15号 拜访", DayMention(2025, 11, 15)),
        ("上个月十五日 拜访", DayMention(2025, 11, 15)),
        ("本月3日 电话", DayMention(2025, 12, 3)),
        # Only a month or a week: its first day, and marked approximate.
        ("上个月 拜访过一次", DayMention(2025, 11, 1, approx=True)),
        ("上上个月 见过", DayMention(2025, 10, 1, approx=True)),
        ("上周 电话", DayMention(2025, 12, 8, approx=True)),
        ("两周前 拜访", DayMention(2025, 12, 6, approx=True)),
        ("半个月前 拜访", DayMention(2025, 12, 5, approx=True)),
        ("2个月前 见过", DayMention(2025, 10, 20, approx=True)),
        ("十天前 电话", DayMention(2025, 12, 10)),
        ("2025年9月 拜访了两次", DayMention(2025, 9, 1, approx=True)),
        ("9月份 拜访", DayMention(None, 9, 1, approx=True)),
        ("9月初 拜访", DayMention(None, 9, 1, approx=True)),
        ("9月中旬 电话", DayMention(None, 9, 15, approx=True)),
        ("九月下旬 电话", DayMention(None, 9, 21, approx=True)),
        ("10月底 电话", DayMention(None, 10, 28, approx=True)),
    ],
)
def test_each_spelling_of_a_date_is_read(text, found):
    assert mentions(text)[0] == found
    assert mentions(text)[0].approx is found.approx


@pytest.mark.parametrize(
    "text",
    [
        "报价3.5万",
        "3.5万 报价",
        "降到 9.5 万",
        "单价 2.5元",
        "打 8.5折",
        "13/45 电话",
        "9.10%的折扣",
        "1.5T 磁共振",  # a scanner's field strength
        "3.0T核磁",
        "升级到 3.2 版本",
        "5.5寸屏",
        "评分 4.5分",
        "手机 138.1234.5678",  # a phone number written in groups
        "电话 0519-86667777",
        "13812345678",
        "V2.3",
        "本月",  # only with a day: 「本月」 alone is no day in the past
    ],
)
def test_amounts_quantities_versions_and_phone_numbers_are_not_dates(text):
    assert [m for m in mentions(text) if m is not None] == []


def test_a_day_written_in_a_later_month_of_this_year_is_no_day_yet():
    assert mentions("本月25日 电话") == [None]  # after the file's date (2025-12-20)


def test_years_come_from_the_cell_first():
    # 「9月3日 …；9.10 …；2025/9/18 …」: the full date at the end dates the two before it, in order.
    written = [DayMention(None, 9, 3), DayMention(None, 9, 10), DayMention(2025, 9, 18)]
    days = infer_years(written, date(2026, 11, 1), YearHint(), None)
    assert days == [date(2025, 9, 3), date(2025, 9, 10), date(2025, 9, 18)]


def test_a_month_day_after_a_full_date_takes_the_first_year_that_keeps_the_order():
    written = [DayMention(2025, 11, 20), DayMention(None, 1, 5)]
    assert infer_years(written, date(2026, 3, 1), YearHint(), None) == [date(2025, 11, 20), date(2026, 1, 5)]


def test_then_the_sheet_title():
    hint = title_hint(["2025年下半年客户跟进表"])
    assert hint == YearHint(2025, (7, 12))
    written = [DayMention(None, 10, 27), DayMention(None, 11, 20)]
    # Saved in March 2026: without the title, 10/27 would read as the latest October before it — the same
    # here; the title matters when the file is saved much later.
    assert infer_years(written, date(2027, 3, 1), hint, None) == [date(2025, 10, 27), date(2025, 11, 20)]
    assert infer_years(written, date(2027, 3, 1), YearHint(), None) == [date(2026, 10, 27), date(2026, 11, 20)]


def test_a_month_outside_the_titles_half_year_belongs_to_the_year_after():
    hint = title_hint(["2025年下半年"])
    assert infer_years([DayMention(None, 1, 8)], date(2026, 3, 1), hint, None) == [date(2026, 1, 8)]


def test_then_the_rows_above_then_the_file_date_and_never_after_it():
    assert infer_years([DayMention(None, 12, 28)], date(2026, 1, 10), YearHint(), date(2025, 12, 1)) == [
        date(2025, 12, 28)
    ]
    assert infer_years([DayMention(None, 12, 28)], date(2026, 1, 10), YearHint(), None) == [date(2025, 12, 28)]
    assert infer_years([DayMention(2026, 5, 1)], date(2026, 1, 10), YearHint(), None) == [None]  # after the file


def test_title_hints():
    assert title_hint(["2024年第三季度拜访表"]) == YearHint(2024, (7, 9))
    assert title_hint(["客户表", "2023"]) == YearHint(2023, (1, 12))
    assert title_hint(["客户跟进表"]) == YearHint()


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("58万", 58_000_000),
        ("150万", 150_000_000),
        ("1,500,000", 150_000_000),
        ("¥80,000", 8_000_000),
        ("壹拾万元整", 10_000_000),
        ("十五万", 15_000_000),
        ("1.2亿", 12_000_000_000),
        (80000, 8_000_000),
        (35.5, 3550),
        ("一些钱", None),
        ("", None),
        (0, None),
    ],
)
def test_every_amount_form_is_read_or_none(value, fen):
    assert amount_fen(value) == fen


def test_in_free_text_only_an_amount_with_its_unit_counts():
    assert amount_fen("客户要求报价35万", bare_yuan=False) == 35_000_000
    assert amount_fen("预算五十万左右", bare_yuan=False) == 50_000_000
    assert amount_fen("见了3个人", bare_yuan=False) is None
    assert amount_fen("一二楼都看了", bare_yuan=False) is None


def test_numerals():
    assert [cn_number(t) for t in ("15", "十五", "二十三", "两", "三十", "〇", "半")] == [15, 15, 23, 2, 30, 0, None]


def test_a_date_cell():
    assert parse_date(45918, FILE_DAY, serials=True) == date(2025, 9, 18)
    assert parse_date("9.18", FILE_DAY) == date(2025, 9, 18)
    assert parse_date("12/28", date(2026, 1, 5)) == date(2025, 12, 28)


Y = DayMention  # Y(None, 9, 3) is 「9月3日」 or 「9.3」; Y(2025, 9, 18) is 「2025/9/18」
H2 = title_hint(["2025年下半年客户跟进表"])
NO_HINT = YearHint()


@pytest.mark.parametrize(
    ("written", "limit", "hint", "neighbour", "days"),
    [
        pytest.param(
            [Y(None, 9, 3), Y(None, 9, 10), Y(2025, 9, 18)],
            date(2026, 3, 2),
            H2,
            None,
            [date(2025, 9, 3), date(2025, 9, 10), date(2025, 9, 18)],
            id="issue 19: 9月3日；9.10；2025/9/18 in 2025年下半年 runs forward in 2025",
        ),
        pytest.param(
            [Y(None, 9, 3), Y(None, 9, 10), Y(2025, 9, 18)],
            date(2027, 6, 1),
            NO_HINT,
            None,
            [date(2025, 9, 3), date(2025, 9, 10), date(2025, 9, 18)],
            id="the cell's full date wins over a file saved much later",
        ),
        pytest.param(
            [Y(None, 11, 20), Y(None, 12, 25), Y(None, 1, 5)],
            date(2026, 3, 1),
            NO_HINT,
            None,
            [date(2025, 11, 20), date(2025, 12, 25), date(2026, 1, 5)],
            id="across new year: 1.5 after 12.25 is the next year's",
        ),
        pytest.param(
            [Y(None, 11, 20), Y(None, 12, 25), Y(None, 1, 5)],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [date(2024, 11, 20), date(2024, 12, 25), date(2025, 1, 5)],
            id="12.25 would pass the file's date: the entries before it move back a year, in order",
        ),
        pytest.param(
            [Y(2025, 12, 18), Y(None, 1, 5)],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [date(2025, 12, 18), None],
            id="no year puts 1.5 after 2025/12/18 and before the file's date: none",
        ),
        pytest.param(
            [Y(None, 12, 28), Y(2026, 1, 5)],
            date(2026, 3, 1),
            NO_HINT,
            None,
            [date(2025, 12, 28), date(2026, 1, 5)],
            id="a month-day before a full date: the latest such day not after it",
        ),
        pytest.param(
            [Y(2025, 11, 28), Y(2025, 10, 27), Y(None, 10, 5)],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [date(2025, 11, 28), date(2025, 10, 27), date(2025, 10, 5)],
            id="newest first (its full dates descend): read backwards",
        ),
        pytest.param(
            [Y(None, 12, 1), Y(None, 11, 5), Y(None, 10, 3)],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [date(2025, 12, 1), date(2025, 11, 5), date(2025, 10, 3)],
            id="newest first (closer together backwards): one year, not three",
        ),
        pytest.param(
            [Y(None, 10, 27), Y(None, 11, 20)],
            date(2027, 3, 1),
            H2,
            None,
            [date(2025, 10, 27), date(2025, 11, 20)],
            id="the sheet's title when the cell says no year",
        ),
        pytest.param(
            [Y(None, 1, 8)],
            date(2026, 3, 1),
            H2,
            None,
            [date(2026, 1, 8)],
            id="a month after the title's half-year is the next year's",
        ),
        pytest.param(
            [Y(None, 1, 3)],
            date(2027, 3, 1),
            NO_HINT,
            date(2025, 12, 20),
            [date(2026, 1, 3)],
            id="then the rows above: the nearest such day",
        ),
        pytest.param(
            [Y(None, 1, 3)],
            date(2027, 3, 1),
            NO_HINT,
            None,
            [date(2027, 1, 3)],
            id="then the file's date: the latest such day not after it",
        ),
        pytest.param(
            [Y(2026, 5, 1)],
            date(2026, 1, 10),
            NO_HINT,
            None,
            [None],
            id="a full date after the file's date: none",
        ),
        pytest.param(
            [Y(None, 2, 29)],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [date(2024, 2, 29)],
            id="2月29日 waits for its leap year",
        ),
        pytest.param(
            [None, Y(None, 9, 10), None],
            date(2025, 12, 20),
            NO_HINT,
            None,
            [None, date(2025, 9, 10), None],
            id="entries without a date stay without one here (remarks.date_entries dates them, marked)",
        ),
    ],
)
def test_years_are_inferred_from_the_cell_the_sheet_and_the_file(written, limit, hint, neighbour, days):
    assert infer_years(written, limit, hint, neighbour) == days
    assert all(d is None or d <= limit for d in days)


@pytest.mark.parametrize(
    ("value", "day"),
    [
        (45918, date(2025, 9, 18)),  # an Excel serial
        (45918.0, date(2025, 9, 18)),
        ("45918", date(2025, 9, 18)),
        ("2025-09-18", date(2025, 9, 18)),
        ("2025/9/18", date(2025, 9, 18)),
        ("2025年9月18日", date(2025, 9, 18)),
        ("9月18日", date(2025, 9, 18)),
        ("12.1", date(2025, 12, 1)),
        ("abc", None),
        (13812345678.0, None),  # a phone, not a serial
    ],
)
def test_a_date_column_cell(value, day):
    assert parse_date(value, FILE_DAY, serials=True) == day


def test_a_date_column_month_day_takes_the_sheets_year():
    assert parse_date("10/27", date(2027, 3, 1), serials=True, hint=H2) == date(2025, 10, 27)
    assert parse_date("10/27", date(2027, 3, 1), serials=True) == date(2026, 10, 27)


def test_the_first_full_date_in_a_sheet_says_the_year_for_the_rows_above_it():
    cells = [None, "10/27 电话", "电话 13812345678", datetime(2027, 1, 1), "2025/11/3 拜访", "2024-01-01"]
    assert first_full_date(cells, FILE_DAY) == date(2025, 11, 3)  # 2027-01-01 is after the file's date
    assert first_full_date(["9.10 电话", 45918], FILE_DAY) is None  # a bare number is no date here


def test_a_date_column_reads_20250918_typed_as_a_number():
    assert parse_date(20250918, FILE_DAY, serials=True) == date(2025, 9, 18)
    assert parse_date(20251399, FILE_DAY, serials=True) is None  # no 13th month: no date, said by the caller
    assert parse_date(45918, FILE_DAY, serials=True) == date(2025, 9, 18)  # an Excel serial still
