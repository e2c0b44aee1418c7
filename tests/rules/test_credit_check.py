"""Rule 4 (大单信用校验): a deal over 500,000 CNY entering 合同审批 needs an on-time payment rate of
85 % over 12 months; below it the attempt is refused, the approval frozen, rep and manager told,
and only a director (or an admin) lifts it, with a reason: at that amount the deal then goes on without a
second check; at another amount it is checked afresh. A finance system that is down makes the approval wait."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.approvals import lift_freeze
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.opportunities import advance_stage
from salesnav.handlers.rules.credit_check import ApprovalFrozen, CreditCheckPending
from salesnav.models import Alert, AlertState, AuditEntry, CreditWaiver, DomainEvent, Opportunity, Payment, Receivable
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal
from tests.rules.conftest import received_texts

RISK = "发票 INV-2025-118（¥120,000.00）2025-10-01 到期，逾期 35 天才回款"


def receivable(session, cust, invoice: str, amount_fen: int, due: date, paid: date | None) -> None:
    r = Receivable(customer_id=cust.id, invoice_no=invoice, amount_fen=amount_fen, due_date=due)
    session.add(r)
    session.flush()
    if paid is not None:
        session.add(
            Payment(
                receivable_id=r.id,
                amount_fen=amount_fen,
                paid_at=datetime.combine(paid, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2),
            )
        )


@pytest.fixture
def big_deal(session, frozen_clock):
    """A 580,000 CNY deal in 商务谈判 whose customer paid 3 of 4 receivables on time (75 %)."""
    org = f.org(session)
    cust, opp = deal(session, org, stage="negotiation")
    receivable(session, cust, "INV-2025-101", 5_000_000, date(2025, 5, 10), date(2025, 5, 9))
    receivable(session, cust, "INV-2025-118", 12_000_000, date(2025, 10, 1), date(2025, 11, 5))
    receivable(session, cust, "INV-2025-130", 8_000_000, date(2025, 12, 20), date(2025, 12, 20))
    receivable(session, cust, "INV-2026-002", 3_000_000, date(2026, 1, 31), date(2026, 1, 15))
    receivable(session, cust, "INV-2024-050", 9_000_000, date(2024, 12, 1), None)  # outside the 12 months
    session.commit()
    return org, opp


def submit(session, actor, opp):
    return advance_stage(
        session,
        actor,
        opportunity_id=opp.id,
        to_stage="合同审批",
        evidence=f.evidence_for(session, actor, "contract_approval"),
    )


def reload(opp_id: int) -> Opportunity:
    with db.transaction() as s:
        opp = s.get(Opportunity, opp_id)
        _ = opp.stage.name
        return opp


def test_low_on_time_rate_refuses_with_risk_points_freezes_and_tells_rep_and_manager(
    big_deal, session, frozen_clock, app
):
    org, opp = big_deal
    with pytest.raises(ApprovalFrozen) as refused:
        submit(session, org.rep, opp)
    session.rollback()  # what every caller does with a refusal
    app.drain()

    assert refused.value.message == (
        "大单信用校验未通过，审批已冻结：客户近 12 个月按时回款率 75.0%，低于 85%（4 笔应收中 1 笔逾期）。"
        f"风险点：{RISK}。如需继续，请联系销售总监解除冻结。"
    )
    assert refused.value.details["risk_points"] == [RISK]
    frozen = reload(opp.id)
    assert frozen.approval_frozen and frozen.stage.name == "商务谈判"
    expected = (
        "【大单信用校验未通过】客户「协和医院」的商机「CT球管更换」（预计 ¥580,000.00）"
        "李销售提交的合同审批已冻结：客户近 12 个月按时回款率 75.0%，低于 85%（4 笔应收中 1 笔逾期）。"
        "\n风险点：\n· " + RISK + "\n请联系销售总监解除冻结。"
    )
    assert received_texts(app, "rep01") == [expected]
    assert received_texts(app, "mgr01") == [expected]

    with pytest.raises(DomainError, match=r"该商机审批已冻结：客户近 12 个月按时回款率 75\.0%"):
        submit(session, org.rep, opp)
    session.rollback()
    app.drain()
    assert len(received_texts(app, "rep01")) == 1  # a second attempt is refused without a second alert


LIFTED = (
    "【审批冻结已解除】销售总监赵总监已解除客户「协和医院」的商机「CT球管更换」（预计 ¥580,000.00）的审批冻结，"
    "理由：客户已签预付款协议，首付30%。可以重新提交合同审批，按此金额不再做信用校验（金额变更后将重新校验）。"
)


def freeze_it(session, org, opp, app) -> None:
    with pytest.raises(ApprovalFrozen):
        submit(session, org.rep, opp)
    session.rollback()  # what every caller does with a refusal
    app.drain()


def test_the_director_above_the_rep_is_told_of_the_freeze_and_how_to_lift_it(big_deal, session, frozen_clock, app):
    org, opp = big_deal
    freeze_it(session, org, opp, app)
    [to_director] = received_texts(app, "dir01")
    assert to_director.startswith("【大单信用校验未通过】客户「协和医院」的商机「CT球管更换」")
    assert to_director.endswith("如确需继续，请点卡片上的「解除冻结」并写明理由，或在商机页面解除。")
    alert = session.scalars(select(Alert).where(Alert.rule == "credit_check")).one()
    assert set(alert.recipient_ids) == {org.rep.id, org.manager.id, org.director.id}


def test_only_a_director_or_an_admin_lifts_the_freeze_with_a_reason_kept_in_the_audit_trail(
    big_deal, session, frozen_clock, app
):
    org, opp = big_deal
    freeze_it(session, org, opp, app)

    for not_a_director in (org.rep, org.manager, org.marketer):
        with pytest.raises(Forbidden, match="只有销售总监或管理员可以解除审批冻结"):
            lift_freeze(session, not_a_director, opportunity_id=opp.id, reason="客户承诺预付")
    with pytest.raises(DomainError, match="请填写解除冻结的理由"):
        lift_freeze(session, org.director, opportunity_id=opp.id, reason="  ")
    with pytest.raises(DomainError, match="理由过长"):
        lift_freeze(session, org.director, opportunity_id=opp.id, reason="长" * 501)

    lifted = lift_freeze(
        session, org.director, opportunity_id=opp.id, reason=" 客户已签预付款协议，首付30% ", channel="test"
    )
    session.commit()
    app.drain()

    assert [u.wecom_userid for u in lifted.told] == ["rep01", "mgr01"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval_unfreeze")).one()
    assert entry.actor_id == org.director.id and entry.after["lift_reason"] == "客户已签预付款协议，首付30%"
    assert entry.after["channel"] == "test" and entry.after["waived_amount_fen"] == 58_000_000
    assert entry.before["reason"].startswith("客户近 12 个月按时回款率 75.0%")
    waiver = session.scalars(select(CreditWaiver)).one()
    assert (waiver.opportunity_id, waiver.amount_fen, waiver.waived_by_id) == (opp.id, 58_000_000, org.director.id)
    alert = session.scalars(select(Alert).where(Alert.rule == "credit_check")).one()
    assert alert.state is AlertState.RESOLVED and alert.resolved_by_id == org.director.id
    assert alert.resolution == "销售总监赵总监解除冻结：客户已签预付款协议，首付30%"
    assert received_texts(app, "rep01")[-1] == LIFTED
    assert received_texts(app, "mgr01")[-1] == LIFTED
    assert len(received_texts(app, "dir01")) == 1  # the freeze; whoever lifted it needs no message about it
    with pytest.raises(DomainError, match="该商机的审批未被冻结") as again:
        lift_freeze(session, org.admin, opportunity_id=opp.id, reason="再解除一次")
    assert again.value.code == "conflict"


def test_an_admin_may_lift_it_too(big_deal, session, frozen_clock, app):
    org, opp = big_deal
    freeze_it(session, org, opp, app)
    lift_freeze(session, org.admin, opportunity_id=opp.id, reason="总监出差，按总监电话指示解除")
    session.commit()
    app.drain()
    assert received_texts(app, "rep01")[-1].startswith("【审批冻结已解除】管理员管理员已解除客户「协和医院」")
    assert not reload(opp.id).approval_frozen


def test_after_a_lift_the_deal_enters_contract_approval_at_that_amount_without_asking_finance_again(
    big_deal, session, frozen_clock, start_app, finance
):
    org, opp = big_deal
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, "on_time_rate": 0.5, "receivables": 2, "late": []}
    freeze_it(session, org, opp, app)
    assert len(finance.requests) == 1
    lift_freeze(session, org.director, opportunity_id=opp.id, reason="客户已签预付款协议，首付30%")
    session.commit()

    submit(session, org.rep, opp)  # the director's decision stands: no second question, no second freeze
    session.commit()
    app.drain()
    assert reload(opp.id).stage.name == "合同审批"
    assert len(finance.requests) == 1
    waived = session.scalars(select(DomainEvent).where(DomainEvent.kind == "credit.check_waived")).one()
    assert waived.payload["waived_by_id"] == org.director.id and waived.payload["amount_fen"] == 58_000_000


def test_a_changed_amount_is_checked_afresh_and_freezes_again(big_deal, session, frozen_clock, app):
    org, opp = big_deal
    freeze_it(session, org, opp, app)
    lift_freeze(session, org.director, opportunity_id=opp.id, reason="客户已签预付款协议，首付30%")
    session.commit()
    app.drain()

    opp = session.get(Opportunity, opp.id)
    opp.expected_amount_fen = 98_000_000  # the deal grew after the director's decision (arranged directly)
    session.commit()
    with pytest.raises(ApprovalFrozen, match="大单信用校验未通过"):
        submit(session, org.rep, opp)
    session.rollback()
    app.drain()

    assert reload(opp.id).approval_frozen and reload(opp.id).stage.name == "商务谈判"
    alerts = session.scalars(select(Alert).where(Alert.rule == "credit_check").order_by(Alert.id)).all()
    assert [(a.state, a.detail["episode"]) for a in alerts] == [
        (AlertState.RESOLVED, "freeze1"),
        (AlertState.OPEN, "freeze2"),
    ]
    told = received_texts(app, "dir01")[-1]
    assert told.startswith("【大单信用校验未通过】客户「协和医院」的商机「CT球管更换」（预计 ¥980,000.00）")


def test_a_good_payer_or_a_small_deal_goes_straight_through(big_deal, session, frozen_clock, app):
    org, _ = big_deal
    _, small = deal(session, org, customer_name="协和医院二部", amount_fen=50_000_000, stage="negotiation")
    receivable(session, small.customer, "INV-X", 1_000_000, date(2025, 12, 1), None)
    session.commit()
    submit(session, org.rep, small)  # exactly 500,000 CNY is not over the threshold
    session.commit()
    assert reload(small.id).stage.name == "合同审批"


def test_the_finance_system_answer_decides_when_configured(big_deal, session, frozen_clock, start_app, finance):
    org, opp = big_deal  # our own receivables say 75 %; the finance system knows better
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, "on_time_rate": 0.9, "receivables": 10, "late": []}
    submit(session, org.rep, opp)
    session.commit()
    assert reload(opp.id).stage.name == "合同审批"
    assert finance.requests[0]["customer_name"] == ["协和医院"] and finance.requests[0]["months"] == ["12"]
    app.drain()


def test_a_finance_system_below_the_rate_freezes_with_its_risk_points(
    big_deal, session, frozen_clock, start_app, finance
):
    org, opp = big_deal
    app = start_app(finance_api_url=finance.url)
    finance.answer = {
        "customer_id": opp.customer_id,
        "on_time_rate": 0.5,
        "receivables": 2,
        "late": [
            {
                "invoice_no": "FIN-9",
                "amount_fen": 30_000_000,
                "due_date": "2026-01-15",
                "paid_on": None,
                "days_late": 46,
            }
        ],
    }
    with pytest.raises(ApprovalFrozen) as refused:
        submit(session, org.rep, opp)
    session.rollback()
    app.drain()
    assert refused.value.details["risk_points"] == [
        "发票 FIN-9（¥300,000.00）2026-01-15 到期，至今未回款，已逾期 46 天"
    ]
    assert reload(opp.id).approval_frozen


def test_a_finance_system_that_is_down_makes_the_approval_wait_and_say_why(
    big_deal, session, frozen_clock, start_app, finance
):
    org, opp = big_deal
    url = finance.url
    finance.stop()  # nothing listens there any more
    app = start_app(finance_api_url=url)
    with pytest.raises(CreditCheckPending) as refused:
        submit(session, org.rep, opp)
    session.rollback()
    app.drain()
    assert refused.value.message == "财务系统无法连接，大单信用校验未完成，合同审批暂缓，请稍后重试"
    after = reload(opp.id)
    assert after.stage.name == "商务谈判" and not after.approval_frozen
    assert received_texts(app, "rep01") == []


def test_a_slow_finance_system_makes_the_approval_wait(big_deal, session, frozen_clock, start_app, finance):
    from salesnav.handlers import rule_settings

    org, opp = big_deal
    rule_settings.update(session, None, "credit.finance_timeout_seconds", 0.3)
    session.commit()
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, "on_time_rate": 1.0, "receivables": 1, "late": []}
    finance.delay = 1.0
    with pytest.raises(CreditCheckPending, match=r"财务系统未在 0\.3 秒内答复"):
        submit(session, org.rep, opp)
    session.rollback()
    finance.delay = 0
    submit(session, org.rep, opp)  # once it answers in time, the same attempt goes through
    session.commit()
    assert reload(opp.id).stage.name == "合同审批"
    app.drain()


GOOD_ANSWER = {"on_time_rate": 1.0, "receivables": 1, "late": []}


def _pending(session, org, opp) -> CreditCheckPending:
    with pytest.raises(CreditCheckPending) as refused:
        submit(session, org.rep, opp)
    session.rollback()
    after = reload(opp.id)
    assert after.stage.name == "商务谈判" and not after.approval_frozen  # held: neither through nor frozen
    return refused.value


@pytest.mark.parametrize("body_only", [False, True], ids=["from-the-status-line", "body-only"])
def test_a_finance_system_trickling_its_answer_is_cut_off_at_the_deadline_and_the_approval_waits(
    big_deal, session, frozen_clock, start_app, finance, body_only
):
    """Seen in production shape: one byte every 2 s held the request for minutes, then let the deal through."""
    import time

    from salesnav.handlers import rule_settings

    org, opp = big_deal
    rule_settings.update(session, None, "credit.finance_timeout_seconds", 1.0)
    session.commit()
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, **GOOD_ANSWER}  # a good answer, if it ever arrived
    finance.trickle, finance.trickle_body_only = 0.2, body_only  # every byte well within any read timeout
    started = time.monotonic()
    refused = _pending(session, org, opp)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"answered after {elapsed:.1f} s"
    assert refused.message == "财务系统未在 1 秒内答复，大单信用校验未完成，合同审批暂缓，请稍后重试"
    assert refused.details["reason"] == "财务系统未在 1 秒内答复"
    app.drain()
    assert received_texts(app, "rep01") == []


def test_through_the_api_a_deal_waiting_on_finance_is_answered_within_seconds_saying_why(
    big_deal, session, frozen_clock, start_app, finance
):
    import time

    from salesnav.handlers import rule_settings

    _, opp = big_deal
    rule_settings.update(session, None, "credit.finance_timeout_seconds", 2.0)
    org, _ = big_deal
    given = f.evidence_for(session, org.rep, "contract_approval")  # the 合同草案 file, uploaded by the rep
    session.commit()
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, **GOOD_ANSWER}
    finance.trickle = 0.5
    client = app.app.test_client()
    token = client.post("/api/v1/auth/login", json={"code": "dev-rep01"}).get_json()["token"]
    started = time.monotonic()
    response = client.post(
        f"/api/v1/opportunities/{opp.id}/advance",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "to_stage": "合同审批",
            "evidence": [{"checklist_item_id": i, "attachment_id": e.attachment_id} for i, e in given.items()],
        },
    )
    elapsed = time.monotonic() - started
    assert elapsed < 3.5, f"answered after {elapsed:.1f} s"
    assert response.status_code == 503, response.get_json()  # the finance system's to answer: retry later
    body = response.get_json()
    assert body["error"] == "credit_check_pending"
    assert body["message"] == "财务系统未在 2 秒内答复，大单信用校验未完成，合同审批暂缓，请稍后重试"
    assert reload(opp.id).stage.name == "商务谈判"


LATE = {"invoice_no": "FIN-9", "amount_fen": 30_000_000, "due_date": "2026-01-15", "paid_on": None, "days_late": 46}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"late": {"x": 1}}, "late"),  # seen: a 500
        ({"on_time_rate": True}, "on_time_rate"),  # seen: read as 1.0 and let through
        ({"on_time_rate": "0.9"}, "on_time_rate"),
        ({"on_time_rate": 1.5}, "on_time_rate"),
        ({"on_time_rate": -0.1}, "on_time_rate"),
        ({"receivables": 10.0}, "receivables"),
        ({"receivables": -1}, "receivables"),
        ({"late": [{**LATE, "amount_fen": -5}]}, "late.0.amount_fen"),
        ({"late": [{**LATE, "amount_fen": "30000000"}]}, "late.0.amount_fen"),
        ({"late": [{**LATE, "due_date": "2026/01/15"}]}, "late.0.due_date"),
        ({"late": [{**LATE, "due_date": "0001-01-01"}]}, "late.0.due_date"),
        ({"late": [{**LATE, "days_late": True}]}, "late.0.days_late"),
        ({"late": [{k: v for k, v in LATE.items() if k != "due_date"}]}, "late.0.due_date"),
        ({"late": [LATE, "INV-1"]}, "late.1"),
        ({"receivables": 0, "late": [LATE]}, "整体"),  # more late entries than receivables
    ],
)
def test_an_answer_breaking_the_finance_contract_holds_the_approval_naming_the_field(
    big_deal, session, frozen_clock, start_app, finance, change, field
):
    org, opp = big_deal
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id, "on_time_rate": 0.9, "receivables": 10, "late": [], **change}
    refused = _pending(session, org, opp)
    assert refused.details["reason"] == f"财务系统返回的数据不符合约定（字段 {field}）"
    app.drain()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"on_time_rate": 0.9, "receivables": 10,', "财务系统返回的数据不是有效的 JSON"),
        (b"<html>502 Bad Gateway</html>", "财务系统返回的数据不是有效的 JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "财务系统返回的数据不是有效的 JSON"),
        (b"[]", "财务系统返回的数据不符合约定（字段 整体）"),
        (b"x" * (1024 * 1024 + 1), "财务系统返回的数据过大，无法识别"),
    ],
    ids=["truncated", "html", "nested-100k", "a-list", "over-1MB"],
)
def test_a_malformed_finance_answer_holds_the_approval_with_a_reason(
    big_deal, session, frozen_clock, start_app, finance, raw, reason
):
    org, opp = big_deal
    app = start_app(finance_api_url=finance.url)
    finance.raw = raw
    assert _pending(session, org, opp).details["reason"] == reason
    app.drain()


def test_an_answer_about_another_customer_holds_the_approval(big_deal, session, frozen_clock, start_app, finance):
    org, opp = big_deal
    app = start_app(finance_api_url=finance.url)
    finance.answer = {"customer_id": opp.customer_id + 1, **GOOD_ANSWER}
    assert _pending(session, org, opp).details["reason"] == "财务系统返回的是另一个客户的数据"
    app.drain()
