"""Level 1's maintained aggregates equal the figures computed from the records, whatever happened to them.

A random sequence of changes through the real use cases — touchpoints logged (today and back-dated),
corrected and retired, deals opened, moved through their stages with and without the checklist, won and
lost, ticket parts answered, a rep's customers and deals handed over, customers regraded, a spreadsheet of
old history imported and undone — with the clock's refresh run at random moments. Afterwards every kept cell,
first touch and stage-baseline day is compared with the same computed from the records (`aggregates.verify`,
the self-check), and the Level 1 metrics read from the aggregates (the funnel and the stage deviation
included) with the same metrics computed from the records, for several windows and scopes.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from salesnav import clock, metrics
from salesnav.handlers.admin.org import hand_over
from salesnav.handlers.collaboration import answer_part
from salesnav.handlers.dashboards.executive import executive_figures, level1_window, trend_weeks
from salesnav.handlers.errors import DomainError
from salesnav.handlers.excel_import import commit
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.handlers.touchpoints import log_touchpoint, update_touchpoint
from salesnav.jobs import queue as jobs_queue
from salesnav.metrics import Scope, Window, aggregates
from salesnav.metrics.days import midnight
from salesnav.models import (
    DecisionRole,
    Emotion,
    MetricChange,
    MetricDayRep,
    MetricStageDay,
    Opportunity,
    OpportunityStatus,
    Role,
    TicketPart,
    Touchpoint,
    User,
)
from salesnav.settings import current_settings
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.metrics import builders

ROLES = (DecisionRole.INFLUENCER, DecisionRole.PURCHASER, DecisionRole.USER, DecisionRole.VETO)
PATH = ["needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval"]
SEEDS = [20261206, 7, 31337]
STEPS = {  # the changes and how often each is drawn
    "log": 30,
    "edit": 12,
    "retire": 5,
    "open_deal": 8,
    "move": 14,
    "answer": 5,
    "hand_over": 1,
    "regrade": 3,
    "import_history": 1,
    "undo_import": 1,
    "tick": 6,
}


@pytest.fixture
def org(session, frozen_clock):
    org = f.org(session)
    session.commit()
    return org


def tz():
    return current_settings().business_tz


class World:
    """The company the random changes act on, and the changes themselves (each through a use case)."""

    def __init__(self, session, org, rng: random.Random, tmp_path: Path) -> None:
        self.session, self.org, self.rng, self.tmp_path = session, org, rng, tmp_path
        self.reps = [org.rep, org.other_rep, org.outsider_rep]
        self.customers = [
            f.customer(session, rep, roles=tuple(rng.sample(ROLES, rng.randint(1, 4))))
            for rep in self.reps
            for _ in range(3)
        ]
        self.imported: list[int] = []
        session.commit()

    def _past(self, days: int = 100):
        return clock.now() - timedelta(days=self.rng.uniform(0, days))

    def _owned(self):
        customer = self.rng.choice(self.customers)
        self.session.refresh(customer)
        return customer, self.session.get(User, customer.owner_id)

    def log(self) -> None:
        customer, owner = self._owned()
        contacts = self.rng.sample(customer.contacts, self.rng.randint(0, len(customer.contacts)))
        effective = self.rng.random() < 0.6
        at = clock.now() if self.rng.random() < 0.3 else self._past()
        log_touchpoint(
            self.session,
            owner,
            customer_id=customer.id,
            type="visit",
            emotion=self.rng.choice(list(Emotion)),
            summary="拜访",
            contact_ids=[c.id for c in contacts],
            next_action="发送报价" if effective else None,
            next_action_due=at + timedelta(days=2) if effective else None,
            occurred_at=at,
        )

    def _touchpoint(self) -> Touchpoint | None:
        live = list(self.session.scalars(select(Touchpoint).where(Touchpoint.deleted_at.is_(None))))
        return self.rng.choice(live) if live else None

    def edit(self) -> None:
        tp = self._touchpoint()
        if tp is None:
            return
        customer = tp.customer
        rep = self.session.get(User, tp.rep_id)
        choice = self.rng.random()
        if choice < 0.4:
            update_touchpoint(self.session, rep, touchpoint_id=tp.id, emotion=self.rng.choice(list(Emotion)))
        elif choice < 0.7:
            contacts = self.rng.sample(customer.contacts, self.rng.randint(0, len(customer.contacts)))
            update_touchpoint(self.session, rep, touchpoint_id=tp.id, contact_ids=[c.id for c in contacts])
        else:
            update_touchpoint(self.session, rep, touchpoint_id=tp.id, next_action=None)

    def retire(self) -> None:
        tp = self._touchpoint()
        if tp is not None:  # no use case retires one touchpoint: what an import's undo does to each
            tp.deleted_at = clock.now()
            self.session.flush()

    def open_deal(self) -> None:
        tp = self._touchpoint()
        if tp is None or tp.opportunity_id is not None:
            return
        rep = self.session.get(User, tp.rep_id)
        create_from_touchpoint(
            self.session,
            rep,
            touchpoint_id=tp.id,
            title="球管更换",
            product_line=self.rng.choice(["CT球管", "超声"]),
            expected_amount_fen=1_000_000,
        )

    def _deal(self) -> Opportunity | None:
        open_deals = list(self.session.scalars(select(Opportunity).where(Opportunity.status == OpportunityStatus.OPEN)))
        return self.rng.choice(open_deals) if open_deals else None

    def move(self) -> None:
        opp = self._deal()
        if opp is None:
            return
        position = PATH.index(opp.stage.code) + 1 if opp.stage.code in PATH else 0
        ending = self.rng.random() < 0.25 or position >= len(PATH)
        target = self.rng.choice(["won", "lost"]) if ending else PATH[position]
        passed = PATH[position:] if ending else []
        kwargs: dict[str, object] = {"override_reasons": {code: "客户催得急" for code in passed}}
        if self.rng.random() < 0.5:
            kwargs["evidence"] = f.evidence_for(self.session, self.org.director, target)
        else:
            kwargs["override_reason"] = "客户催得急"
        if self.rng.random() < 0.3:
            kwargs["occurred_at"] = max(opp.stage_entered_at, self._past(20))
        advance_stage(self.session, self.org.director, opportunity_id=opp.id, to_stage=target, **kwargs)

    def answer(self) -> None:
        parts = list(self.session.scalars(select(TicketPart).where(TicketPart.first_valid_response_at.is_(None))))
        if not parts:
            return
        part = self.rng.choice(parts)
        head = self.org.marketer if part.department_id == self.org.marketing.id else self.org.deliverer
        if part.department_id == self.org.marketing.id:
            answer_part(
                self.session,
                head,
                part_id=part.id,
                text="资料见附件",
                attachment_ids=[f.attachment(self.session, head, "彩页.pdf").id],
            )
        else:
            answer_part(
                self.session, head, part_id=part.id, text="已排期", schedule_date=clock.now() + timedelta(days=3)
            )

    def hand_over(self) -> None:
        leaver = self.rng.choice([r for r in self.reps if r.active])
        successors = [r for r in self.reps if r.active and r.id != leaver.id]
        if not successors:
            return
        hand_over(self.session, self.org.admin, leaver_id=leaver.id, successor_id=self.rng.choice(successors).id)

    def regrade(self) -> None:
        """A customer's grade corrected (the stage baseline compares deals of the same grade)."""
        customer = self.rng.choice(self.customers)
        customer.grade = self.rng.choice(["三甲", "二甲", None])
        self.session.flush()

    def import_history(self) -> None:
        self.session.commit()
        rep = self.rng.choice([r for r in self.reps if r.active])
        imp, _ = commit.start_import(
            self.session, rep, owner=rep, data=sheets.rep_sheet(), filename="客户.xlsx", root=self.tmp_path, tz=tz()
        )
        self.session.commit()
        commit.commit_import(self.session, rep, import_id=imp.id, root=self.tmp_path, tz=tz())
        self.session.commit()
        jobs_queue.backend().drain()
        self.session.expire_all()
        self.imported.append((imp.id, rep.id))

    def undo_import(self) -> None:
        if not self.imported:
            return
        import_id, rep_id = self.imported.pop()
        commit.undo_import(self.session, self.session.get(User, rep_id), import_id=import_id)
        self.session.commit()
        jobs_queue.backend().drain()
        self.session.expire_all()

    def tick(self) -> None:
        clock.use(clock.FrozenClock(clock.now() + timedelta(hours=self.rng.uniform(1, 30))))

    def step(self) -> str:
        return self.run(self.rng.choices(list(STEPS), weights=list(STEPS.values()))[0])

    def run(self, name: str) -> str:
        savepoint = self.session.begin_nested()
        try:
            getattr(self, name)()
        except DomainError:
            savepoint.rollback()  # a change the use case refuses changes nothing
            return f"{name} refused"
        if savepoint.is_active:
            savepoint.commit()
        return name


def assert_aggregates_match_the_records(session) -> None:
    """The self-check finds no cell off, and the Level 1 metrics agree both ways for several windows and scopes."""
    assert aggregates.verify(session, tz()) == []
    assert aggregates.verify_first_touches(session) == []
    assert aggregates.verify_stage_days(session, tz()) == []
    now = clock.now()
    windows = [
        level1_window(now, tz(), 30),
        level1_window(now, tz(), 7),
        *trend_weeks(now, tz()),
        Window(now - timedelta(days=45, hours=5), now - timedelta(days=3, hours=7)),  # mid-day at both ends
    ]
    manager = session.scalars(select(User).where(User.wecom_userid == "mgr01")).one()
    reps = sorted(session.scalars(select(User.id).where(User.role == Role.REP)))
    for scope in (Scope.company(session), Scope.team(session, manager), *(Scope.rep(r) for r in reps)):
        kept = aggregates.sums_by_window(session, windows, scope, tz())
        assert kept is not None
        quality = metrics.activity.touchpoint_quality_by_window(session, windows, scope)
        for window, sums, q in zip(windows, kept, quality, strict=True):
            assert aggregates.quality(sums).numerator == pytest.approx(q.numerator)
            assert aggregates.quality(sums).denominator == q.denominator
            assert aggregates.compliance(sums) == metrics.process_compliance(session, window, scope)
            assert aggregates.penetration(sums) == metrics.collaboration_penetration(session, window, scope)
            assert aggregates.first_response(sums) == metrics.first_response_compliance(session, window, scope)
            assert aggregates.effective_per_rep_week(sums, window, scope) == metrics.effective_touchpoints_per_rep_week(
                session, window, scope
            )
            assert aggregates.visits_per_rep_month(sums, window, scope) == metrics.visits_per_rep_month(
                session, window, scope
            )
            assert aggregates.conversion_funnel_of(session, window, scope, tz()) == metrics.conversion_funnel(
                session, window, scope
            )
            deviation = aggregates.stage_deviation_of(session, window, scope, tz())
            assert deviation is not None
            raw = metrics.stage_advancement_deviation(session, window, scope)
            assert deviation.denominator == raw.denominator
            assert deviation.numerator == pytest.approx(raw.numerator)


@pytest.mark.parametrize("seed", SEEDS)
def test_aggregates_equal_the_records_after_random_changes(session, org, tmp_path, seed):
    rng = random.Random(seed)
    world = World(session, org, rng, tmp_path)
    for _ in range(10):
        world.log()
    aggregates.rebuild(session, clock.now(), tz())  # built once, then only maintained
    done = []
    forced = {
        rng.randrange(0, 35): "import_history",
        rng.randrange(35, 60): "hand_over",
        rng.randrange(60, 70): "regrade",
    }
    for k in range(70):
        done.append(world.run(forced[k]) if k in forced else world.step())
        if rng.random() < 0.2:
            aggregates.refresh(session, clock.now(), tz())
    world.log()  # at least one change after the last refresh
    # Skipping the maintenance is caught: the change's cell differs until the refresh folds it in.
    assert aggregates.verify(session, tz()) != []
    aggregates.refresh(session, clock.now(), tz())
    assert session.scalars(select(MetricChange)).first() is None
    assert_aggregates_match_the_records(session)
    kept = sorted((c.day, c.rep_id, c.touchpoints, c.quality) for c in session.scalars(select(MetricDayRep)))
    aggregates.rebuild(session, clock.now(), tz())  # the backfill (one statement on PostgreSQL) gives the same
    assert aggregates.verify(session, tz()) == []
    rebuilt = sorted((c.day, c.rep_id, c.touchpoints, c.quality) for c in session.scalars(select(MetricDayRep)))
    assert [k[:3] for k in rebuilt] == [k[:3] for k in kept]
    assert {"log", "edit", "move", "open_deal", "import_history", "hand_over", "regrade"} <= set(done), done
    closed = select(Opportunity).where(Opportunity.closed_at.is_not(None), Opportunity.deleted_at.is_(None))
    assert (session.scalars(select(MetricStageDay)).first() is None) == (session.scalars(closed).first() is None)


def test_a_change_is_caught_by_the_self_check_until_the_refresh_folds_it_in(session, org):
    customer = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    f.touchpoint(session, org.rep, customer, clock.now() - timedelta(days=3), contact_ids=[customer.contacts[0].id])
    aggregates.rebuild(session, clock.now(), tz())
    assert aggregates.verify(session, tz()) == []

    # Two days later the purchaser is met: that day's cell, and the coverage of the later days, change.
    f.touchpoint(session, org.rep, customer, clock.now() - timedelta(days=1), contact_ids=[customer.contacts[1].id])
    off = aggregates.verify(session, tz())
    assert [(m.day, m.rep_id) for m in off] == [((clock.now() - timedelta(days=1)).astimezone(tz()).date(), org.rep.id)]
    assert aggregates.refresh(session, clock.now(), tz()) >= 1
    assert aggregates.verify(session, tz()) == []


def test_the_level1_page_reads_the_aggregates_and_shows_what_the_records_say(session, org):
    customer = f.customer(session, org.rep, roles=ROLES)
    for days in (40, 20, 9, 2):
        f.touchpoint(
            session,
            org.rep,
            customer,
            clock.now() - timedelta(days=days),
            contact_ids=[c.id for c in customer.contacts[: 1 + days % 3]],
            emotion="positive",
        )
    raw = executive_figures(session, clock.now(), tz())  # not built yet: from the records
    assert raw.as_of == clock.now()
    aggregates.rebuild(session, clock.now(), tz())
    f.touchpoint(session, org.rep, customer, clock.now() - timedelta(hours=1))  # today: counted live
    kept = executive_figures(session, clock.now(), tz())
    assert kept.visits_per_rep_month.numerator == raw.visits_per_rep_month.numerator + 1
    session.flush()
    clock.use(clock.FrozenClock(clock.now() + timedelta(seconds=30)))
    aggregates.refresh(session, clock.now(), tz())
    fresh = executive_figures(session, clock.now(), tz())
    assert fresh.health == kept.health
    assert fresh.as_of == clock.now()
    assert kept.window_start == midnight((clock.now().astimezone(tz()) - timedelta(days=29)).date(), tz())


def test_the_stage_baseline_follows_a_regrade_and_a_close_after_the_refresh(session, org):
    now = clock.now()
    customer = f.customer(session, org.rep, roles=ROLES)
    path = [("initial_contact", now - timedelta(days=30)), ("needs_confirmed", now - timedelta(days=20))]
    closed = builders.deal(session, org.rep, customer, [*path, ("won", now - timedelta(days=10))])
    still_open = builders.deal(session, org.rep, customer, path)
    aggregates.rebuild(session, now, tz())
    assert aggregates.verify_stage_days(session, tz()) == []
    assert session.scalars(select(MetricStageDay)).first() is not None

    customer.grade = "二甲"  # the closed deal's stays now count for another grade
    session.flush()
    assert aggregates.verify_stage_days(session, tz()) != []
    aggregates.refresh(session, now, tz())
    assert aggregates.verify_stage_days(session, tz()) == []

    advance_stage(session, org.director, opportunity_id=still_open.id, to_stage="lost", override_reason="客户预算取消")
    assert aggregates.verify_stage_days(session, tz()) != []
    aggregates.refresh(session, clock.now(), tz())
    assert aggregates.verify_stage_days(session, tz()) == []
    assert closed.status is OpportunityStatus.WON
