"""`salesnav deals unfreeze ID --reason TEXT --as USERID`: an operator lifts a credit freeze in a director's (or an
admin's) name, through `lift_freeze`; the command only queues the news, which the running service delivers."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from salesnav.cli import main
from salesnav.models import AuditEntry, Opportunity, OutboundMessage, OutboundStatus
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import frozen_deal
from tests.rules.conftest import received_texts

REASON = "客户已签预付款协议，首付30%"


@pytest.fixture
def frozen(session, frozen_clock, app, monkeypatch) -> tuple[f.Org, int]:
    org = f.org(session)
    session.commit()
    opp_id = frozen_deal(session, org, app.drain)
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("REDIS_URL", app.settings.redis_url)
    return org, opp_id


def _unfreeze(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["deals", "unfreeze", *args])


def _frozen(opp_id: int) -> bool:
    with db.transaction() as s:
        return s.get(Opportunity, opp_id).approval_frozen


def test_an_operator_lifts_the_freeze_as_the_director_and_only_queues_the_news(frozen, app):
    org, opp_id = frozen
    already = len(received_texts(app, "rep01"))

    result = _unfreeze(str(opp_id), "--reason", REASON, "--as", "dir01")

    assert result.exit_code == 0, result.output
    lifted, queued_line = result.output.splitlines()
    assert lifted == (
        "已解除客户「协和医院」的商机「CT球管更换」的审批冻结，理由已记录，已通知李销售、钱主管。"
        "按 ¥580,000.00 重新提交合同审批时不再做信用校验（金额变更后将重新校验）。"
    )
    assert queued_line.startswith("已排队 2 条消息，由运行中的")  # the server or the rq workers send them
    assert not _frozen(opp_id)
    with db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval_unfreeze")).one()
        assert (entry.actor_id, entry.after["lift_reason"], entry.after["channel"]) == (org.director.id, REASON, "cli")
        queued = s.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key.like("credit_waiver:%"))).all()
        assert sorted((m.recipient_userid, m.status) for m in queued) == [
            ("mgr01", OutboundStatus.QUEUED),
            ("rep01", OutboundStatus.QUEUED),
        ]
    assert len(received_texts(app, "rep01")) == already  # the command talked to no WeCom

    app.run_workers()  # back in the service: its workers (or its clock's outbox flush) send what is due
    assert received_texts(app, "rep01")[-1].startswith("【审批冻结已解除】销售总监赵总监已解除客户「协和医院」")
    assert received_texts(app, "mgr01")[-1] == received_texts(app, "rep01")[-1]


def test_an_admin_may_be_named_too(frozen):
    _, opp_id = frozen
    result = _unfreeze(str(opp_id), "--reason", "按总监电话指示解除", "--as", "admin")
    assert result.exit_code == 0, result.output
    assert not _frozen(opp_id)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reason", REASON, "--as", "mgr01"], "只有销售总监或管理员可以解除审批冻结"),
        (["--reason", REASON, "--as", "rep01"], "只有销售总监或管理员可以解除审批冻结"),
        (["--reason", REASON, "--as", "nobody"], "找不到企业微信账号为「nobody」的在职成员"),
        (["--as", "dir01"], "请用 --reason 写明解除冻结的理由"),
        (["--reason", "  ", "--as", "dir01"], "请用 --reason 写明解除冻结的理由"),
        (["--reason", REASON], "请用 --as 指定做出决定的销售总监或管理员（企业微信账号）"),
    ],
)
def test_a_refusal_is_in_chinese_and_changes_nothing(frozen, args, message):
    _, opp_id = frozen
    result = _unfreeze(str(opp_id), *args)
    assert result.exit_code == 1 and result.output == f"错误：{message}\n"
    assert _frozen(opp_id)


def test_a_deal_that_is_not_frozen_or_not_there_is_refused(frozen):
    _, opp_id = frozen
    assert _unfreeze(str(opp_id), "--reason", REASON, "--as", "dir01").exit_code == 0
    again = _unfreeze(str(opp_id), "--reason", REASON, "--as", "dir01")
    assert again.exit_code == 1 and "该商机的审批未被冻结（可能已被解除）" in again.output
    missing = _unfreeze("987654", "--reason", REASON, "--as", "dir01")
    assert missing.exit_code == 1 and "商机不存在或您无权查看" in missing.output
