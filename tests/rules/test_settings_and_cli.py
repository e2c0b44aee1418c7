"""Rule settings are validated and audited at run time; `salesnav rules list|run` show and run the rules (a command
only queues messages: the running server's workers send them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from salesnav.cli import main
from salesnav.handlers import rule_settings
from salesnav.handlers.errors import DomainError
from salesnav.models import Alert, AuditEntry, OutboundMessage, OutboundStatus
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal
from tests.rules.conftest import free_port, received_texts


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("follow_up.overdue_hours", "七十二", "「超过多少小时未跟进算超时」必须是整数"),
        ("follow_up.overdue_hours", 0, "必须在 1 到 2160 之间"),
        ("follow_up.overdue_hours", 12.5, "必须是整数"),
        ("credit.min_on_time_rate", 1.5, "「最低按时回款率」必须在 0 到 1 之间"),
        ("health.enabled", "maybe", "「客户健康红灯规则开关」只能是开或关"),
        ("follow_up.typo", 1, "没有名为「follow_up.typo」的规则设置"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name(session, key, raw, message):
    with pytest.raises(DomainError, match=message):
        rule_settings.update(session, None, key, raw)


def test_a_setting_change_is_stored_typed_and_audited(session, frozen_clock):
    org = f.org(session)
    assert rule_settings.update(session, org.admin, "follow_up.overdue_hours", "48") == 48
    assert rule_settings.get(session, "follow_up.overdue_hours") == 48
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "rule_setting")).one()
    assert (entry.actor_id, entry.before, entry.after) == (
        org.admin.id,
        {"follow_up.overdue_hours": 72},
        {"follow_up.overdue_hours": 48},
    )


def test_rules_list_shows_each_rule_its_switch_and_settings(session, settings, monkeypatch):
    rule_settings.update(session, None, "health.enabled", False)
    session.commit()
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(main, ["rules", "list"])
    assert result.exit_code == 0, result.output
    assert "follow_up_overdue  跟进超时  [开启]" in result.output
    assert "health_red  客户健康红灯  [关闭]" in result.output
    assert "health.enabled = False（默认 True）" in result.output
    assert "credit.min_on_time_rate = 0.85  最低按时回款率" in result.output


def test_rules_run_at_evaluates_the_time_rules_as_of_that_moment_and_only_queues_what_they_send(
    session, frozen_clock, app, monkeypatch
):
    org = f.org(session)
    deal(session, org)
    session.commit()
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    # The server listens elsewhere: a command that guessed WeCom's address from PORT would reach nothing.
    monkeypatch.setenv("PORT", str(free_port()))
    monkeypatch.delenv("WECOM_API_BASE", raising=False)
    at = (frozen_clock.now() + timedelta(hours=73)).isoformat()
    result = CliRunner().invoke(main, ["rules", "run", "--at", at])
    assert result.exit_code == 0, result.output
    assert "follow_up_overdue:fired 1" in result.output

    queued = outbound_rows()
    assert {m.recipient_userid for m in queued} == {"rep01", "mgr01"}
    workers = "运行中的 worker 进程" if app.settings.redis_url else "运行中的服务（salesnav serve）"
    assert f"已排队 {len(queued)} 条消息，由{workers}发送" in result.output
    # Nothing was sent, nor tried, from the command's process; and the messages are due now, not 73 hours on.
    assert all(
        (m.status, m.attempts, m.last_error, m.next_attempt_at) == (OutboundStatus.QUEUED, 0, None, frozen_clock.now())
        for m in queued
    )
    assert app.emulator.sent(everything=True) == []

    app.run_workers()
    assert {m.status for m in outbound_rows()} == {OutboundStatus.SENT}
    with db.transaction() as s:
        assert s.scalars(select(Alert.rule)).all() == ["follow_up_overdue"]
    assert len(received_texts(app, "rep01")) == 1


def test_rules_run_with_nothing_to_send_says_so(session, settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(main, ["rules", "run"])
    assert result.exit_code == 0, result.output
    assert "没有新的企业微信消息需要发送" in result.output


def outbound_rows() -> list[OutboundMessage]:
    with db.transaction() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_rules_run_refuses_a_time_without_a_zone(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(main, ["rules", "run", "--at", "2026-03-05T10:00"])
    assert result.exit_code != 0 and "请带上时区" in result.output
