"""A large import is written in lanes of different customers at once (PostgreSQL; one after the other on
SQLite): the records, notes and progress are those of the same file written one chunk at a time, and an
import stopped between two lanes resumes without writing anything twice."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from salesnav.handlers.excel_import import commit
from salesnav.handlers.excel_import.lanes import Turns, lanes_of, run_lanes
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Contact, Customer, ExcelImport, ImportStatus, Opportunity, Touchpoint
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

HEADER = ["客户名称", "联系人", "手机", "拜访日期", "金额", "备注"]


def test_a_customers_rows_stay_in_one_lane_in_the_order_of_the_file():
    customer = dict(enumerate("AABCADBEAFGB"))

    lanes = lanes_of(list(range(12)), customer.__getitem__, 2)

    assert sorted(p for lane in lanes for p in lane) == list(range(12))
    assert all(lane == sorted(lane) for lane in lanes)
    owners = [{customer[p] for p in lane} for lane in lanes]
    assert owners[0].isdisjoint(owners[1])
    assert abs(len(lanes[0]) - len(lanes[1])) <= 4  # A has four rows: the lanes are as even as whole customers allow
    assert lanes_of(list(range(12)), customer.__getitem__, 1) == [list(range(12))]
    assert lanes_of(list(range(12)), customer.__getitem__, 2) == lanes  # the same rows, the same lanes


def test_lanes_publish_in_turn_and_a_failed_lane_lets_the_others_publish():
    published: list[int] = []

    def work(k, rows, turns):
        try:
            if k == 0:
                time.sleep(0.05)  # lane 1 is done first, and waits for its turn
                raise ValueError("lane 0 fails")
            turns.wait(k)
            published.append(k)
        finally:
            turns.done(k)

    for together in (True, False):  # side by side (PostgreSQL), or one after the other (SQLite)
        published.clear()
        with pytest.raises(ValueError, match="lane 0 fails"):
            run_lanes([[0], [1]], work, together=together)
        assert published == [1]

    order: list[int] = []
    threads: set[str] = set()

    def in_turn(k, rows, turns):
        try:
            threads.add(threading.current_thread().name)
            if k == 0:
                time.sleep(0.05)
            turns.wait(k)
            order.append(k)
        finally:
            turns.done(k)

    run_lanes([[0], [1], [2]], in_turn, together=True)
    assert order == [0, 1, 2]
    assert len(threads) == 3


def test_a_lane_gives_up_waiting_for_a_lane_that_never_finishes():
    turns = Turns()
    turns.done(1)  # lane 1 finished, lane 0 never does

    with pytest.raises(TimeoutError):
        turns.wait(2, timeout=0.05)
    turns.wait(0, timeout=0.05)  # the first lane never waits
    turns.done(0)
    turns.wait(2, timeout=0.05)  # lanes 0 and 1 are done: lane 2's turn


def _sheet() -> bytes:
    """Twelve rows of seven customers, some of them on rows far apart (one by its mobile under another
    spelling), a row without a customer, and a row of another rep's customer."""
    rows = [
        ["华山医院", "张主任", 13600000001, "2026/2/2", "30万", "2月2日 拜访，介绍产品"],
        ["瑞金医院", "李科长", 13600000002, "2026/2/3", None, "电话沟通"],
        ["中山医院", "王主任", 13600000003, "2026/2/3", "12万", "2月3日 面谈，报价12万"],
        ["华山医院", "张主任", 13600000001, "2026/2/9", None, "2月9日 电话回访，客户要求演示"],
        ["仁济医院", "赵医生", 13600000004, "2026/2/10", None, "微信发资料"],
        [None, "无名", 13600000009, "2026/2/10", None, "这一行没有客户"],
        ["瑞金医院（本部）", "李科长", 13600000002, "2026/2/11", "20万", "2月11日 面访，预算20万"],
        ["同仁医院", "钱主任", 13600000005, "2026/2/12", None, "电话：下周再约"],
        ["嘉兴市第一人民医院", "孙主任", 13900000071, "2026/2/12", None, "拜访"],
        ["中山医院", "王主任", 13600000003, "2026/2/16", None, "2月16日 电话，等招标"],
        ["新华医院", "周老师", 13600000006, "2026/2/17", "8万", "2月17日 拜访，预算8万"],
        ["华山医院", "张主任", 13600000001, "2026/2/18", None, "2月18日 演示，反馈积极"],
    ]
    return sheets.xlsx({"客户": [HEADER, *rows]})


@pytest.fixture
def small_lanes(monkeypatch):
    """Parts of six rows in two lanes of three: a twelve-row file goes through two parts of two lanes each."""
    monkeypatch.setattr(commit, "LANES", 2)
    monkeypatch.setattr(commit, "CHUNK_ROWS", 3)
    monkeypatch.setattr(commit, "LANE_MIN_ROWS", 1)


def _written(session, imp: ExcelImport):
    """What an import wrote, in words: each customer with its contacts, touchpoints and deals."""
    out = {}
    for customer in session.scalars(select(Customer).where(Customer.id.in_(imp.created_ids["customer"]))):
        contacts = session.scalars(select(Contact.name).where(Contact.customer_id == customer.id)).all()
        touchpoints = session.scalars(
            select(Touchpoint.summary).where(Touchpoint.customer_id == customer.id).order_by(Touchpoint.occurred_at)
        ).all()
        deals = session.scalars(
            select(Opportunity.expected_amount_fen).where(Opportunity.customer_id == customer.id)
        ).all()
        out[customer.name] = (sorted(contacts), list(touchpoints), sorted(deals))
    return out


def _theirs(session, org):
    f.customer(session, org.outsider_rep, name="嘉兴市第一人民医院")
    session.commit()


def test_a_file_written_in_lanes_is_the_file_written_one_chunk_at_a_time(
    session, org, run_import, small_lanes, monkeypatch
):
    _theirs(session, org)
    monkeypatch.setattr(commit, "LANES", 1)
    one_by_one = run_import(org.rep, _sheet())
    expected = _written(session, one_by_one)
    commit.undo_import(session, org.rep, import_id=one_by_one.id)  # its customers gone: filed afresh below
    session.commit()

    monkeypatch.setattr(commit, "LANES", 2)
    in_lanes = run_import(org.rep, _sheet())

    assert in_lanes.status is ImportStatus.DONE
    assert in_lanes.processed_rows == in_lanes.total_rows == 12
    assert (
        in_lanes.counts
        == one_by_one.counts
        == {
            "customers": 6,
            "contacts": 6,
            "touchpoints": 10,
            "opportunities": 4,
            "failed": 2,  # the row without a customer; 嘉兴市第一人民医院 is 吴销售's: a hand-over asked
        }
    )
    assert _written(session, in_lanes) == expected
    assert expected["华山医院"][1] == ["拜访，介绍产品", "电话回访，客户要求演示", "演示，反馈积极"]
    assert set(expected) == {"华山医院", "瑞金医院", "中山医院", "仁济医院", "同仁医院", "新华医院"}
    assert Counter(map(str, in_lanes.notes)) == Counter(map(str, one_by_one.notes))
    assert Counter(map(str, in_lanes.errors)) == Counter(map(str, one_by_one.errors))
    assert in_lanes.created_ids["done"] == []


class _Held:
    """A queue whose jobs wait (SQLite has one writer: a rule job of the lane before must not write while this
    test's job runs in the test's thread, as a worker's would in its turn)."""

    def __init__(self) -> None:
        self.queued: list[jobs_queue.JobCall] = []

    def submit(self, call: jobs_queue.JobCall) -> None:
        self.queued.append(call)

    def drain(self) -> None:
        pass


class _WorkerKilled(BaseException):
    """The worker's process ended mid-job (not an error the job catches: it stays 进行中, to be resumed)."""


def test_an_import_stopped_between_two_lanes_resumes_without_writing_a_row_twice(
    session, org, small_lanes, tmp_path, monkeypatch
):
    _theirs(session, org)
    imp, _ = commit.start_import(
        session, org.rep, owner=org.rep, data=_sheet(), filename="客户.xlsx", root=tmp_path, tz=TZ
    )
    imp.status = ImportStatus.QUEUED  # confirmed: the job is called here rather than by a worker
    session.commit()
    jobs_queue.backend().drain()
    monkeypatch.setattr(jobs_queue, "_backend", _Held())  # the rule jobs wait: nothing else writes meanwhile
    write_wave = commit._write_wave

    def killed_in_lane_1(session_, owner, rows, *args, **kwargs):
        if any(row.customer_name == "瑞金医院" for row in rows):  # lane 1 of the first part
            raise _WorkerKilled
        return write_wave(session_, owner, rows, *args, **kwargs)

    monkeypatch.setattr(commit, "_write_wave", killed_in_lane_1)
    with pytest.raises(_WorkerKilled):
        commit.run_import(imp.id, str(tmp_path), "Asia/Shanghai")
    session.expire_all()
    stopped = session.get(ExcelImport, imp.id)
    assert stopped.status is ImportStatus.RUNNING
    assert 0 < stopped.processed_rows < 6  # lane 0 of the first part is written, and only it
    assert stopped.created_ids["done"]
    assert "瑞金医院" not in {c.name for c in session.scalars(select(Customer))}

    monkeypatch.setattr(commit, "_write_wave", write_wave)
    commit.run_import(imp.id, str(tmp_path), "Asia/Shanghai")
    session.expire_all()
    done = session.get(ExcelImport, imp.id)

    assert done.status is ImportStatus.DONE
    assert done.processed_rows == 12
    names = Counter(c.name for c in session.scalars(select(Customer).where(Customer.owner_id == org.rep.id)))
    assert names == Counter({"华山医院": 1, "瑞金医院": 1, "中山医院": 1, "仁济医院": 1, "同仁医院": 1, "新华医院": 1})
    assert done.counts == {"customers": 6, "contacts": 6, "touchpoints": 10, "opportunities": 4, "failed": 2}
    touchpoints = session.scalars(select(Touchpoint.id).where(Touchpoint.rep_id == org.rep.id)).all()
    assert sorted(touchpoints) == sorted(done.created_ids["touchpoint"])  # every one written once, all undoable
    assert len(done.errors) == 2


def test_lanes_are_used_only_for_a_large_part_of_a_file(session, org, run_import, monkeypatch):
    seen: list[int] = []
    real = commit.lanes_of

    def counted(positions, customer_of, lanes):
        out = real(positions, customer_of, lanes)
        seen.append(len(out))
        return out

    monkeypatch.setattr(commit, "lanes_of", counted)
    monkeypatch.setattr(commit, "LANES", 2)
    monkeypatch.setattr(commit, "LANE_MIN_ROWS", 7)
    run_import(org.rep, _sheet())  # twelve rows: fewer than two lanes of seven
    assert seen == [1]
    seen.clear()
    monkeypatch.setattr(commit, "LANE_MIN_ROWS", 6)
    imp = run_import(
        org.other_rep,
        sheets.xlsx({"客户": [HEADER, *[[f"医院{i}", None, None, "2026/2/2", None, "拜访"] for i in range(12)]]}),
    )
    assert seen == [2]
    assert imp.counts["customers"] == 12
