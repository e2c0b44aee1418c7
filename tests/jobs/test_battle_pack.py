"""The 10:00 battle pack job: once per rep per working day, whatever the clocks do; read back from WeCom."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from redis import Redis
from sqlalchemy import select

from salesnav.cli import main
from salesnav.handlers import rule_settings
from salesnav.jobs import battle_pack
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership, RedisLeadership
from salesnav.models import OutboundMessage, Role
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat
from tests.bot.conftest import LiveApp, serve
from tests.handlers.battle_pack.arrange import customer, local, material, next_action, open_deal
from tests.rules.conftest import free_port

MONDAY = date(2026, 3, 2)
JOB = next(p for p in PERIODIC if p.id == "battle_pack.send_due")
REPS = ["rep01", "rep02", "rep03"]


@pytest.fixture
def app(settings, database) -> Iterator[LiveApp]:
    if settings.redis_url:
        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(MONDAY, 9))
    org = f.org(session)
    now = frozen_clock.now()
    huashan = customer(session, org.rep, "华山医院", contact=("李总", "设备科"))
    ct = open_deal(
        session,
        org.rep,
        huashan,
        product_line="CT球管",
        stage="negotiation",
        amount_yuan=500_000,
        stage_entered_at=now - timedelta(days=2),
    )
    next_action(
        session,
        org.rep,
        huashan,
        at=now - timedelta(hours=1),
        action="发送CT球管更换成本测算表",
        due=local(MONDAY, 15),
        opp=ct,
    )
    material(session, "CT球管竞品对比白皮书", product_line="CT球管", published_at=now - timedelta(days=3))
    retired = f.user(session, "rep99", Role.REP, org.sales, org.manager, name="已离职销售")
    retired.active = False
    session.commit()
    return org


def packs() -> dict[str, list[str]]:
    """Battle-pack outbox rows by recipient: their idempotency keys."""
    with db.transaction() as session:
        rows = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.idempotency_key.like("battle_pack:%"))
            .order_by(OutboundMessage.id)
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.recipient_userid, []).append(row.idempotency_key or "")
        return found


def received(app: LiveApp, userid: str) -> list[str]:
    return [m["payload"]["content"] for m in app.emulator.sent(userid) if m["msgtype"] == "markdown"]


def test_at_ten_every_active_rep_gets_one_pack_read_back_from_wecom(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 9, 59))
    assert battle_pack.send_due() == 0
    frozen_clock.set(local(MONDAY, 10))
    assert battle_pack.send_due() == 3
    app.drain()

    assert sorted(packs()) == REPS  # not the managers, not the inactive rep99
    [text] = received(app, "rep01")
    assert text.startswith("**今日作战包** · 3月2日 周一\n李销售，今天最重要的 1 件事：")
    assert ">1. 李总(华山医院设备科)需在15:00前发送CT球管更换成本测算表" in text
    assert "**可复用素材**：「CT球管竞品对比白皮书」" in text
    assert received(app, "rep02")[0].startswith("**今日作战包** · 3月2日 周一\n周销售，今天没有到期的待办")
    assert received(app, "mgr01") == [] and received(app, "rep99") == []

    frozen_clock.set(local(MONDAY, 10, 1))
    assert battle_pack.send_due() == 0


def test_two_clocks_sharing_redis_send_exactly_one_pack_per_rep(app, org, frozen_clock, redis_url):
    redis = Redis.from_url(redis_url)
    first = Clock(RedisLeadership(redis, ttl_ms=120_000), periodic=[JOB])
    second = Clock(RedisLeadership(redis, ttl_ms=120_000), periodic=[JOB])
    frozen_clock.set(local(MONDAY, 9, 58))
    for _ in range(5):  # 09:58 … 10:02
        first.tick(JOB)
        second.tick(JOB)
        app.drain()
        frozen_clock.advance(timedelta(minutes=1))

    assert len(first.fired) == 5 and second.fired == []
    assert packs() == {u: [f"battle_pack:{_id(u)}:2026-03-02"] for u in REPS}
    assert all(len(received(app, u)) == 1 for u in REPS)


def test_two_job_runs_at_the_same_moment_queue_one_pack_per_rep(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 10))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        barrier.wait()
        results.append(battle_pack.run(frozen_clock.now()).queued)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.drain()

    assert sorted(results) in ([0, 3], [1, 2], [3, 0]) and sum(results) == 3
    assert all(len(keys) == 1 for keys in packs().values()) and sorted(packs()) == REPS
    assert all(len(received(app, u)) == 1 for u in REPS)


def test_a_clock_restarted_at_ten_past_one_minute_sends_nothing_more(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 10))
    Clock(LocalLeadership(), periodic=[JOB]).tick(JOB)
    app.drain()
    # The process restarts: a fresh queue backend and a fresh clock, ticking at 10:01.
    jobs_queue.configure(app.settings.redis_url)
    frozen_clock.set(local(MONDAY, 10, 1))
    restarted = Clock(LocalLeadership(), periodic=[JOB])
    restarted.tick(JOB)
    app.drain()

    assert restarted.fired == [JOB.id]
    assert all(len(received(app, u)) == 1 for u in REPS) and len(packs()) == 3


def test_a_clock_down_at_ten_catches_up_that_day_but_never_sends_yesterdays_pack(app, org, frozen_clock):
    clock = Clock(LocalLeadership(), periodic=[JOB])
    frozen_clock.set(local(MONDAY, 13, 27))  # first tick of the day, long after 10:00
    clock.tick(JOB)
    app.drain()
    assert all(len(received(app, u)) == 1 for u in REPS)

    # Down all of Tuesday; back on Wednesday at 09:30, then 10:00.
    wednesday = MONDAY + timedelta(days=2)
    frozen_clock.set(local(wednesday, 9, 30))
    clock.tick(JOB)
    app.drain()
    assert all(len(received(app, u)) == 1 for u in REPS)
    frozen_clock.set(local(wednesday, 10))
    clock.tick(JOB)
    app.drain()

    keys = packs()["rep01"]
    assert keys == [f"battle_pack:{org.rep.id}:2026-03-02", f"battle_pack:{org.rep.id}:2026-03-04"]
    assert received(app, "rep01")[1].startswith("**今日作战包** · 3月4日 周三")


def test_a_first_start_in_the_evening_sends_no_pack_that_night_and_the_next_working_morning_does(
    app, org, frozen_clock
):
    clock = Clock(LocalLeadership(), periodic=[JOB])
    frozen_clock.set(local(MONDAY, 22, 21))  # the server's very first tick
    clock.tick(JOB)
    app.drain()
    assert packs() == {} and received(app, "rep01") == []
    assert battle_pack.run(frozen_clock.now()).reason == "已过 18:00，今日作战包不再补发，下个工作日 10:00 发送"

    frozen_clock.set(local(MONDAY + timedelta(days=1), 9, 59))
    clock.tick(JOB)
    app.drain()
    assert received(app, "rep01") == []
    frozen_clock.set(local(MONDAY + timedelta(days=1), 10))
    clock.tick(JOB)
    app.drain()
    [text] = received(app, "rep01")
    assert text.startswith("**今日作战包** · 3月3日 周二")
    assert all(len(received(app, u)) == 1 for u in REPS)


def test_asked_for_in_the_evening_the_pack_is_not_called_todays(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 22, 21))
    Chat(app, "rep01").click("BATTLE_PACK")
    [text] = received(app, "rep01")
    assert text.startswith("**我的作战包** · 3月2日 周一（截至 22:21）") and "今日作战包" not in text


def test_no_pack_on_national_day_or_a_weekend_and_one_on_the_adjusted_working_saturday(app, org, frozen_clock):
    frozen_clock.set(local(date(2026, 10, 1), 10, 5))
    report = battle_pack.run(frozen_clock.now())
    assert (report.queued, report.reason) == (0, "2026-10-01 国庆节，非工作日不发送作战包")
    frozen_clock.set(local(date(2026, 3, 7), 10, 5))
    assert battle_pack.run(frozen_clock.now()).reason == "2026-03-07 周末，非工作日不发送作战包"

    saturday = date(2026, 10, 10)  # 调休: a working Saturday after the National Day week
    frozen_clock.set(local(saturday, 10, 5))
    report = battle_pack.run(frozen_clock.now())
    assert (report.day_text, report.queued) == ("2026-10-10 调休上班", 3)
    app.drain()
    assert received(app, "rep01")[0].startswith("**今日作战包** · 10月10日 周六")


def test_the_hour_and_the_calendar_are_run_time_settings(app, org, session, frozen_clock):
    rule_settings.update(session, org.admin, "battle_pack.hour", "9")
    rule_settings.update(session, org.admin, "battle_pack.chinese_calendar", "关")
    session.commit()
    frozen_clock.set(local(MONDAY, 9))
    assert battle_pack.send_due() == 3
    frozen_clock.set(local(date(2026, 10, 1), 9))  # a Thursday: Monday–Friday counts it as a working day
    assert battle_pack.send_due() == 3


def test_the_menu_button_returns_the_current_pack_on_demand(app, org, frozen_clock):
    frozen_clock.set(local(MONDAY, 10, 32))
    Chat(app, "rep01").click("BATTLE_PACK")

    [text] = received(app, "rep01")
    assert text.startswith("**今日作战包** · 3月2日 周一（截至 10:32）")
    assert "李总(华山医院设备科)需在15:00前发送CT球管更换成本测算表" in text
    assert packs() == {}  # on demand is not the daily push: 10:00 still sends it


def test_the_cli_queues_a_days_packs_once_for_the_running_server_and_refuses_holidays_and_bad_dates(
    app, org, frozen_clock, monkeypatch
):
    frozen_clock.set(local(MONDAY, 8))  # before 10:00: the operator's explicit order sends anyway
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("PORT", str(free_port()))  # the server is elsewhere: a guessed WeCom address reaches nothing
    monkeypatch.delenv("WECOM_API_BASE", raising=False)
    first = CliRunner().invoke(main, ["battle-pack", "send"])
    again = CliRunner().invoke(main, ["battle-pack", "send", "--date", "2026-03-02"])
    holiday = CliRunner().invoke(main, ["battle-pack", "send", "--date", "2026-02-17"])
    bad = CliRunner().invoke(main, ["battle-pack", "send", "--date", "3月2日"])

    assert first.exit_code == 0 and "2026-03-02 工作日：已排队 3 份作战包" in first.output, first.output
    workers = "运行中的 worker 进程" if app.settings.redis_url else "运行中的服务（salesnav serve）"
    assert f"已排队 3 条消息，由{workers}发送" in first.output
    assert again.exit_code == 0 and "已排队 0 份作战包" in again.output
    assert "没有新的企业微信消息需要发送" in again.output
    assert holiday.exit_code != 0 and "2026-02-17 春节，非工作日不发送作战包" in holiday.output
    assert bad.exit_code != 0 and "日期格式应为 YYYY-MM-DD" in bad.output
    with db.transaction() as session:  # queued, due now, and not sent nor tried from the command's process
        rows = session.scalars(select(OutboundMessage)).all()
        assert [(r.status.value, r.attempts, r.next_attempt_at) for r in rows] == [("queued", 0, local(MONDAY, 8))] * 3
    assert app.emulator.sent(everything=True) == []

    app.run_workers()
    assert all(len(received(app, u)) == 1 for u in REPS)


def _id(userid: str) -> int:
    with db.transaction() as session:
        from salesnav.models import User

        return session.scalars(select(User.id).where(User.wecom_userid == userid)).one()
