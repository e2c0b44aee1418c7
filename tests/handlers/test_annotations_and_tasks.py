"""Annotations (批注) and tasks (待办)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.annotations import add_annotation
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.handlers.tasks import complete_task, create_task
from salesnav.models import Alert, AuditEntry, DomainEvent, TaskStatus
from tests import factories as f

pytestmark = pytest.mark.smoke


def _opportunity(session, org):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    return create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="监护仪", product_line="监护仪", expected_amount_fen=8_000_000
    )


def test_manager_annotates_an_alert_and_the_rep_is_the_recipient(session, frozen_clock):
    org = f.org(session)
    opp = _opportunity(session, org)
    alert = Alert(
        rule="follow_up_overdue",
        idempotency_key="k1",
        subject_type="opportunity",
        subject_id=opp.id,
        title="超过72小时未跟进",
        raised_at=frozen_clock.now(),
        recipient_ids=[org.rep.id, org.manager.id],
    )
    session.add(alert)
    session.flush()
    frozen_clock.advance(timedelta(minutes=5))
    note = add_annotation(session, org.manager, text="今天下午必须给李主任回电", alert_id=alert.id)
    assert note.recipient_id == org.rep.id and note.opportunity_id == opp.id
    assert alert.manager_intervened_at == frozen_clock.now()
    assert session.scalars(select(DomainEvent).where(DomainEvent.kind == "annotation.added")).one()


def test_rep_cannot_annotate_and_empty_annotation_is_refused(session, frozen_clock):
    org = f.org(session)
    opp = _opportunity(session, org)
    with pytest.raises(Forbidden):
        add_annotation(session, org.rep, text="自己批自己", opportunity_id=opp.id)
    with pytest.raises(DomainError, match="不能为空"):
        add_annotation(session, org.manager, text=" ", opportunity_id=opp.id)
    with pytest.raises(NotFound):
        add_annotation(session, org.other_manager, text="不是我的团队", opportunity_id=opp.id)


def test_manager_assigns_a_task_to_a_team_member_who_completes_it(session, frozen_clock):
    org = f.org(session)
    task = create_task(
        session,
        org.manager,
        assignee_id=org.rep.id,
        title="发送CT球管更换成本测算表",
        due_at=frozen_clock.now() + timedelta(hours=5),
    )
    done = complete_task(session, org.rep, task_id=task.id)
    assert done.status is TaskStatus.DONE and done.completed_by_id == org.rep.id
    assert session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "task")).one().after == {"status": "done"}
    with pytest.raises(DomainError, match="已完成"):
        complete_task(session, org.rep, task_id=task.id)


def test_tasks_stay_inside_the_team(session, frozen_clock):
    org = f.org(session)
    with pytest.raises(NotFound):
        create_task(session, org.manager, assignee_id=org.outsider_rep.id, title="越权指派")
    task = create_task(session, org.rep, assignee_id=org.rep.id, title="自己的待办")
    with pytest.raises(NotFound):
        complete_task(session, org.outsider_rep, task_id=task.id)
