"""Chinese dates, numerals and amounts as reps write them: every spelling read, years inferred from the evidence,
never after the file's date, never out of order."""

from __future__ import annotations

from datetime import date

import pytest

from salesnav.text.cn_dates import (
    DATE_PATTERN,
    DayMention,
    YearHint,
    amount_fen,
    cn_number,
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
    ],
)
def test_each_spelling_of_a_date_is_read(text, found):
    assert mentions(text)[0] == found


@pytest.mark.parametrize("text", ["报价3.5万", "3.5万 报价", "单价 2.5元", "13/45 电话", "9.10%的折扣"])
def test_amounts_and_impossible_days_are_not_dates(text):
    assert [m for m in mentions(text) if m is not None] == []


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
