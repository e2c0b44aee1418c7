"""The admin use cases without a browser: history is never rewritten, sync is repeatable and leaves
admin edits alone, handover refusals, the preview keeps nothing, accounts and refusals for non-admins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from salesnav import clock
from salesnav.bot.org_directory import parse_directory
from salesnav.handlers.admin import accounts
from salesnav.handlers.admin import org as org_cases
from salesnav.handlers.admin import rules as rule_cases
from salesnav.handlers.admin import stages as stage_cases
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.opportunities import Evidence, advance_stage, create_from_touchpoint
from salesnav.models import AuditEntry, ChecklistItem, RuleSetting, Stage, StageTransition, User
from salesnav.ports.directory import Directory
from tests import factories as f


def _opportunity(session, org):
    customer = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, customer)
    return create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT", product_line="CT", expected_amount_fen=1_000_000
    )


def test_renaming_a_stage_and_retiring_an_item_keep_history_and_apply_to_the_next_transition(session, frozen_clock):
    org = f.org(session)
    opp = _opportunity(session, org)
    stage = session.scalars(select(Stage).where(Stage.code == "needs_confirmed")).one()
    item = stage.checklist[0]
    advance_stage(
        session, org.rep, opportunity_id=opp.id, to_stage="needs_confirmed", evidence={item.id: Evidence(text="需求")}
    )
    stage_cases.update_stage(session, org.admin, stage.id, name="需求确认（新）", win_probability="25")
    stage_cases.retire_item(session, org.admin, item.id)
    transition = session.scalars(select(StageTransition).where(StageTransition.to_stage_id == stage.id)).one()
    assert transition.to_stage.name == "需求确认（新）" and transition.checklist_complete
    assert session.get(ChecklistItem, item.id).deleted_at is not None  # retired, still there
    added = stage_cases.add_item(session, org.admin, stage.id, name="预算", kind="勾选", required=True)
    assert [i.name for i in stage.checklist if i.deleted_at is None] == ["预算"]
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.actor_id == org.admin.id)) == 3
    assert added.kind.value == "checkbox"


def test_stages_reorder_only_among_open_stages_and_new_ones_go_before_won_and_lost(session):
    org = f.org(session)
    new = stage_cases.add_stage(session, org.admin, name="招标", win_probability="80")
    names = [s.name for s in stage_cases.stages(session)]
    assert names[-3:] == ["招标", "赢单", "输单"]
    stage_cases.move_stage(session, org.admin, new.id, direction="up")
    assert [s.name for s in stage_cases.stages(session)][-4:-2] == ["招标", "合同审批"]
    won = session.scalars(select(Stage).where(Stage.code == "won")).one()
    with pytest.raises(DomainError, match="固定在最后"):
        stage_cases.move_stage(session, org.admin, won.id, direction="up")
    with pytest.raises(DomainError, match="0 到 100"):
        stage_cases.add_stage(session, org.admin, name="x", win_probability="120")


def test_only_admins_may_change_configuration(session):
    org = f.org(session)
    with pytest.raises(Forbidden):
        stage_cases.add_stage(session, org.director, name="招标", win_probability="80")
    with pytest.raises(Forbidden):
        org_cases.hand_over(session, org.manager, leaver_id=org.rep.id, successor_id=org.other_rep.id)


def _directory(session) -> Directory:
    departments = [
        {"id": 1, "name": "企业", "parentid": 0},
        {"id": 10, "name": "销售部", "parentid": 1, "department_leader": ["mgr01"]},
    ]
    users = [
        {"userid": u.wecom_userid, "name": u.name, "main_department": 10, "status": 1, "email": "", "direct_leader": []}
        for u in session.scalars(select(User))
        if u.wecom_userid != "rep03"
    ]
    return parse_directory(departments, users)  # as WeCom's department/list and user/list answer


def test_sync_is_repeatable_and_never_undoes_an_admin_edit(session):
    org = f.org(session)
    org_cases.edit_user(
        session, org.admin, org.rep.id, role="manager", manager_id=org.director.id, email="li@example.test", active=True
    )
    first = org_cases.sync_directory(session, org.admin, _directory(session))
    assert first.users_deactivated == ["吴销售"] and first.departments_updated == ["销售部"]
    second = org_cases.sync_directory(session, org.admin, _directory(session))
    assert second.describe().count(" 0 ") == 6  # nothing left to change
    assert (org.rep.role.value, org.rep.manager_id, org.rep.email) == ("manager", org.director.id, "li@example.test")


def test_edit_user_refuses_a_reporting_cycle_a_bad_email_and_demoting_oneself(session):
    org = f.org(session)
    with pytest.raises(DomainError, match="不能成环"):
        org_cases.edit_user(
            session, org.admin, org.director.id, role="director", manager_id=org.rep.id, email=None, active=True
        )
    with pytest.raises(DomainError, match="邮箱地址格式不正确"):
        org_cases.edit_user(session, org.admin, org.rep.id, role="rep", manager_id=None, email="li@", active=True)
    with pytest.raises(DomainError, match="不能取消自己的管理员角色"):
        org_cases.edit_user(session, org.admin, org.admin.id, role="rep", manager_id=None, email=None, active=True)


def test_handover_refuses_an_inactive_successor_or_the_same_person(session):
    org = f.org(session)
    with pytest.raises(DomainError, match="不能是离职成员本人"):
        org_cases.hand_over(session, org.admin, leaver_id=org.rep.id, successor_id=org.rep.id)
    org.other_rep.active = False
    with pytest.raises(DomainError, match="接手人不存在或已停用"):
        org_cases.hand_over(session, org.admin, leaver_id=org.rep.id, successor_id=org.other_rep.id)


def test_the_preview_keeps_nothing(session, frozen_clock):
    org = f.org(session)
    _opportunity(session, org)
    session.commit()
    frozen_clock.advance(timedelta(hours=30))
    found = {p.code: p for p in rule_cases.preview({"follow_up.overdue_hours": 24}, clock.now())}
    assert (found["follow_up_overdue"].now_count, found["follow_up_overdue"].new_count) == (0, 1)
    off = {p.code: p for p in rule_cases.preview({"follow_up.enabled": False}, clock.now())}
    assert not off["follow_up_overdue"].enabled
    assert session.scalar(select(func.count(RuleSetting.id))) == 0


def test_a_bootstrap_account_signs_in_only_with_its_password(session):
    account = accounts.create_account(session, "boss", "long-enough-password")
    assert account.user.wecom_userid == "local:boss" and account.user.role.value == "admin"
    assert accounts.authenticate(session, "boss", "long-enough-password").id == account.user_id
    with pytest.raises(DomainError, match="用户名或密码不正确"):
        accounts.authenticate(session, "boss", "wrong")
    with pytest.raises(DomainError, match="至少 10 位"):
        accounts.create_account(session, "other", "short")
    with pytest.raises(DomainError, match="已存在"):
        accounts.create_account(session, "boss", "long-enough-password")


def test_a_stage_the_company_added_is_retired_once_no_open_deal_is_in_it(session, frozen_clock):
    org = f.org(session)
    tender = stage_cases.add_stage(session, org.admin, name="招标", win_probability="80")
    opp = _opportunity(session, org)
    on_the_way = ("needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval")
    advance_stage(
        session, org.rep, opportunity_id=opp.id, to_stage="招标", evidence=f.evidence_for(session, org.rep, *on_the_way)
    )
    with pytest.raises(DomainError, match="还有 1 个进行中的商机处于「招标」，请先推进或关闭后再停用"):
        stage_cases.retire_stage(session, org.admin, tender.id)

    lost = session.scalars(select(Stage).where(Stage.code == "lost")).one()
    reason = {item.id: Evidence(text="预算取消") for item in lost.checklist}
    advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="lost", evidence=reason)
    stage_cases.retire_stage(session, org.admin, tender.id)

    assert "招标" not in [s.name for s in stage_cases.stages(session)]
    history = session.scalars(select(StageTransition).where(StageTransition.opportunity_id == opp.id)).all()
    assert [t.to_stage.name for t in history] == ["初步接触", "招标", "输单"]  # the history keeps it
    other = _opportunity(session, org)
    with pytest.raises(DomainError, match="没有名为「招标」的销售阶段"):
        advance_stage(session, org.rep, opportunity_id=other.id, to_stage="招标")
    assert stage_cases.add_stage(session, org.admin, name="招标", win_probability="70").code != tender.code
    retired = session.scalars(select(AuditEntry).where(AuditEntry.action == "retire")).one()
    assert retired.before["name"] == "招标" and retired.after["retired"] is True


def test_built_in_stages_cannot_be_retired(session):
    org = f.org(session)
    sample = session.scalars(select(Stage).where(Stage.code == "sample_test")).one()
    with pytest.raises(DomainError, match="「样品测试」是内置阶段，规则和导入依赖它，不能停用"):
        stage_cases.retire_stage(session, org.admin, sample.id)
    with pytest.raises(Forbidden):
        stage_cases.retire_stage(session, org.director, sample.id)
