"""A remark cell as reps write it → its dated entries: each entry its own words at its own date, the year
inferred from the cell, the sheet and the file, never after the file's date and never out of order; an entry
that no date fits is kept, marked as a guess (occurred_at) and said in a note — never silently dated today.

Each row of the tables is (the cell, then each entry as (date, its words, whether the date is a guess)),
worked out by hand; the file was saved on Sat 2025-12-20 unless the row says otherwise."""

from __future__ import annotations

from datetime import date

import pytest

from salesnav.handlers.excel_import.remarks import date_entries, split_entries
from salesnav.text.cn_dates import YearHint, title_hint

FILE_DAY = date(2025, 12, 20)
D = date


def read(cell: str, limit: date = FILE_DAY, hint: YearHint | None = None, row_day: date | None = None):
    entries = split_entries(cell, limit)
    notes = date_entries(entries, limit, hint or YearHint(), None, row_day)
    return [(e.day, e.text, "occurred_at" in e.guessed) for e in entries], notes


@pytest.mark.parametrize(
    ("cell", "entries"),
    [
        pytest.param(
            "9月3日 面谈张主任，介绍公司；9.10 电话沟通需求；2025/9/18 微信发送资料",
            [
                (D(2025, 9, 3), "面谈张主任，介绍公司", False),
                (D(2025, 9, 10), "电话沟通需求", False),
                (D(2025, 9, 18), "微信发送资料", False),
            ],
            id="Chinese, dots and slashes in one cell",
        ),
        pytest.param(
            "9.10 电话沟通，客户要求报价",
            [(D(2025, 9, 10), "电话沟通，客户要求报价", False)],
            id="a compact date at the start; the comma inside is the entry's own",
        ),
        pytest.param(
            "11.20 面访张主任；11/28 电话跟进报价",
            [(D(2025, 11, 20), "面访张主任", False), (D(2025, 11, 28), "电话跟进报价", False)],
            id="dots then slashes after ；",
        ),
        pytest.param(
            "10/27 再次电话，约面访\n11.3 面访",
            [(D(2025, 10, 27), "再次电话，约面访", False), (D(2025, 11, 3), "面访", False)],
            id="a new line starts an entry",
        ),
        pytest.param(
            "2025-09-18 拜访；2025.10.8 电话；2025年11月2日 微信",
            [(D(2025, 9, 18), "拜访", False), (D(2025, 10, 8), "电话", False), (D(2025, 11, 2), "微信", False)],
            id="ISO, dots and Chinese with the year",
        ),
        pytest.param(
            "25年9月18日 拜访；9月20号 电话",
            [(D(2025, 9, 18), "拜访", False), (D(2025, 9, 20), "电话", False)],
            id="a two-digit year with 年, and 号",
        ),
        pytest.param(
            "1、9月3日 面谈；2、9月10日 电话",
            [(D(2025, 9, 3), "面谈", False), (D(2025, 9, 10), "电话", False)],
            id="a numbered list (1、2、): the marks belong to neither entry",
        ),
        pytest.param(
            "1.9月3日面谈 2.9月10日电话",
            [(D(2025, 9, 3), "面谈", False), (D(2025, 9, 10), "电话", False)],
            id="a numbered list (1. 2.) is not 1月9日",
        ),
        pytest.param(
            "①9.3 面谈②9.10 电话",
            [(D(2025, 9, 3), "面谈", False), (D(2025, 9, 10), "电话", False)],
            id="circled numbers",
        ),
        pytest.param(
            "9月3日（周三）面谈；9月10日 周三 电话",
            [(D(2025, 9, 3), "面谈", False), (D(2025, 9, 10), "电话", False)],
            id="the weekday after a date is part of it",
        ),
        pytest.param(
            "【9.3】面谈【9.10】电话",
            [(D(2025, 9, 3), "面谈", False), (D(2025, 9, 10), "电话", False)],
            id="dates in 【】 brackets",
        ),
        pytest.param(
            "9.10-9.12 参加学术会；9.15 电话",
            [(D(2025, 9, 10), "参加学术会", False), (D(2025, 9, 15), "电话", False)],
            id="a range is dated at its start",
        ),
        pytest.param(
            "9.3 电话，要了 1.5T 磁共振和 3.0 版软件的资料",
            [(D(2025, 9, 3), "电话，要了 1.5T 磁共振和 3.0 版软件的资料", False)],
            id="quantities and versions after a space are no dates",
        ),
        pytest.param(
            "9.3 电话沟通，约定 9月20日 面访",
            [(D(2025, 9, 3), "电话沟通，约定 9月20日 面访", False)],
            id="a planned date inside an entry does not start one",
        ),
        pytest.param(
            "9.3 加了微信，手机 138.1234.5678",
            [(D(2025, 9, 3), "加了微信，手机 138.1234.5678", False)],
            id="a phone written in groups is no date",
        ),
        pytest.param(
            "9.3 电话，9月底前要报价；10.15之前回复",
            [(D(2025, 9, 3), "电话，9月底前要报价；10.15之前回复", False)],
            id="a deadline inside an entry does not start one",
        ),
        pytest.param(
            "９．１０ 电话；９月１２日 拜访",
            [(D(2025, 9, 10), "电话", False), (D(2025, 9, 12), "拜访", False)],
            id="full-width digits typed with a Chinese IME",
        ),
        pytest.param(
            "上周三 电话回访；昨天 微信确认",
            [(D(2025, 12, 10), "电话回访", False), (D(2025, 12, 19), "微信确认", False)],
            id="relative words count from the file's date",
        ),
        pytest.param(
            "前天 电话；上月15号 拜访",
            [(D(2025, 12, 18), "电话", False), (D(2025, 11, 15), "拜访", False)],
            id="前天 and 上月15号",
        ),
        pytest.param(
            "12.1 电话；11.5 拜访；10.3 面谈",
            [(D(2025, 12, 1), "电话", False), (D(2025, 11, 5), "拜访", False), (D(2025, 10, 3), "面谈", False)],
            id="a cell written newest first stays in one year",
        ),
        pytest.param(
            "11.20 面访；12.25 电话；1.5 拜访",
            [(D(2024, 11, 20), "面访", False), (D(2024, 12, 25), "电话", False), (D(2025, 1, 5), "拜访", False)],
            id="forward across new year, before the file's date",
        ),
        pytest.param(
            "20250918 微信发资料；9/3/2025 面谈；10.27.2025 电话",
            [(D(2025, 9, 18), "微信发资料", False), (D(2025, 9, 3), "面谈", False), (D(2025, 10, 27), "电话", False)],
            id="compact 20250918 and month-first 9/3/2025 are full dates",
        ),
        pytest.param(
            "11.20 面访；28号 电话；3号 微信报价，约在5号楼见面",
            [
                (D(2025, 11, 20), "面访", False),
                (D(2025, 11, 28), "电话", False),
                (D(2025, 12, 3), "微信报价，约在5号楼见面", False),
            ],
            id="a day alone takes the month of the entry above, the next month when it comes earlier",
        ),
        pytest.param(
            "9.10 电话；15号前回复报价",
            [(D(2025, 9, 10), "电话；15号前回复报价", False)],
            id="a day alone before 前 is a deadline inside the entry",
        ),
    ],
)
def test_each_dated_entry_is_its_own_touchpoint_at_its_date(cell, entries):
    assert read(cell) == (entries, [])


def test_the_issue_19_cell_in_its_sheet_runs_forward_in_2025():
    cell = "9月3日 面谈…；9.10 电话…；2025/9/18 微信…"
    got, notes = read(cell, limit=D(2026, 3, 2), hint=title_hint(["2025年下半年客户跟进表"]))
    assert [day for day, _, _ in got] == [D(2025, 9, 3), D(2025, 9, 10), D(2025, 9, 18)] and notes == []


@pytest.mark.parametrize(
    ("cell", "row_day", "entries", "notes"),
    [
        pytest.param(
            "展会认识，留了名片",
            None,
            [(None, "展会认识，留了名片", True)],
            ["备注「展会认识，留了名片」没有日期，已保留并标为日期待定（暂记为文件日期 2025-12-20）"],
            id="no date anywhere: kept, marked, said",
        ),
        pytest.param(
            "电话沟通，对方要求演示",
            D(2025, 10, 30),
            [(D(2025, 10, 30), "电话沟通，对方要求演示", True)],
            [],
            id="the row's date column dates an undated entry (marked)",
        ),
        pytest.param(
            "报价9.5万，客户嫌贵；9.12 再谈，降到 8.8万",
            None,
            [(D(2025, 9, 12), "报价9.5万，客户嫌贵", True), (D(2025, 9, 12), "再谈，降到 8.8万", False)],
            ["备注「报价9.5万，客户嫌贵」没有日期，按同一格里相邻记录的日期记为 2025-09-12（推测）"],
            id="amounts are no dates; the undated head takes its neighbour's date, marked and said",
        ),
        pytest.param(
            "上个月 拜访过一次；昨天 电话",
            None,
            [(D(2025, 11, 1), "拜访过一次", True), (D(2025, 12, 19), "电话", False)],
            ["备注「拜访过一次」只写了大概时间，记为 2025-11-01（推测）"],
            id="上个月 alone: its first day, marked and said",
        ),
        pytest.param(
            "2025年9月 拜访了两次；9月中旬 电话",
            None,
            [(D(2025, 9, 1), "拜访了两次", True), (D(2025, 9, 15), "电话", True)],
            [
                "备注「拜访了两次」只写了大概时间，记为 2025-09-01（推测）",
                "备注「电话」只写了大概时间，记为 2025-09-15（推测）",
            ],
            id="only a month (and its part): a day in it, marked and said",
        ),
        pytest.param(
            "半个月前 拜访过；昨天 电话",
            None,
            [(D(2025, 12, 5), "拜访过", True), (D(2025, 12, 19), "电话", False)],
            ["备注「拜访过」只写了大概时间，记为 2025-12-05（推测）"],
            id="半个月前: about then, marked and said",
        ),
        pytest.param(
            "2025/12/18 电话；1.5 拜访",
            None,
            [(D(2025, 12, 18), "电话", False), (D(2025, 12, 18), "拜访", True)],
            [
                "备注「拜访」写的日期「1月5日」在文件日期之前找不到与前后记录顺序一致的年份，未按该日期记录，"
                "按同一格里相邻记录的日期记为 2025-12-18（推测）"
            ],
            id="a month-day no year fits after the entry above: dated like it, marked and said",
        ),
        pytest.param(
            "2026/2/1 拜访",
            None,
            [(None, "拜访", True)],
            [
                "备注「拜访」写的日期「2026年2月1日」晚于文件日期 2025-12-20，未按该日期记录，"
                "已保留并标为日期待定（暂记为文件日期 2025-12-20）"
            ],
            id="a date after the file's date is not used",
        ),
    ],
)
def test_an_entry_without_a_usable_date_is_kept_marked_and_said(cell, row_day, entries, notes):
    assert read(cell, row_day=row_day) == (entries, notes)


def test_a_day_alone_first_in_its_cell_takes_the_file_dates_month_and_says_so():
    got, notes = read("15号 电话沟通需求；20号 面访")
    assert got == [(D(2025, 12, 15), "电话沟通需求", True), (D(2025, 12, 20), "面访", True)]
    assert notes == [
        "备注「电话沟通需求」只写了15号，按文件日期推测月份，记为 2025-12-15（推测）",
        "备注「面访」只写了20号，按文件日期推测月份，记为 2025-12-20（推测）",
    ]


def test_a_day_alone_after_the_file_days_date_is_last_month():
    got, notes = read("25号 电话沟通需求")
    assert got == [(D(2025, 11, 25), "电话沟通需求", True)]
    assert notes == ["备注「电话沟通需求」只写了25号，按文件日期推测月份，记为 2025-11-25（推测）"]


@pytest.mark.parametrize("cell", ["无", "暂无", "/", "-", "——", "N/A", "无。", " 未跟进 "])
def test_a_remark_that_says_there_is_nothing_makes_no_touchpoint(cell):
    assert split_entries(cell, D(2025, 12, 1)) == []


@pytest.mark.parametrize("cell", ["无法联系上主任", "空调科室的采购", "9.10 无人接听"])
def test_a_remark_that_only_starts_like_nothing_is_kept(cell):
    assert split_entries(cell, D(2025, 12, 1)) != []
