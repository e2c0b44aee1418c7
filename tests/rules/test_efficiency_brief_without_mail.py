"""Without a mail server the efficiency brief is not e-mailed, and the department head is never told it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav import clock
from salesnav.jobs.rules import run_scan
from salesnav.settings import SmtpSettings
from tests.rules.conftest import received_texts
from tests.rules.test_collaboration_overdue import collaboration_alerts, overdue_delivery  # noqa: F401


@pytest.fixture
def app(start_app):  # no SMTP_HOST: the embedded default
    return start_app(smtp=SmtpSettings())


def test_without_smtp_the_head_is_warned_in_wecom_and_no_mail_is_claimed(overdue_delivery, frozen_clock, app):  # noqa: F811
    frozen_clock.advance(timedelta(hours=24, minutes=30))
    run_scan(clock.now())
    app.drain()

    [warning] = received_texts(app, "dlv01")
    assert warning.startswith("【效能预警简报】交付部的协同任务") and warning.endswith("请尽快安排处理。")
    assert "邮箱" not in warning and "邮件" not in warning
    [alert] = collaboration_alerts()
    assert "emailed_at" not in alert.detail
