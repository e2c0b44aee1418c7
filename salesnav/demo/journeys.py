"""The demo company's 客户旅程 history: three journeys as a company would set them up, lived through by its customers.

Nothing here is written around the rules. The story is played on a frozen clock moved through the past months, and
every moment goes through the use cases the product runs at that moment:

- the admin saves and switches journeys on (`store.save_journey`, `store.set_active`) and archives one
  (`store.remove_journey`);
- a 设备科 contact opens a rep's 雷达 link to the white paper, reads it and downloads it (`radar.open_link`,
  `radar.beacon`, `radar.download`), later opens and reads the case the journey's card sent (the card's own link);
- a deal won is recorded as the customer event the stage move records; the lifecycle job's incremental run looks
  at a customer whose first deal was won (`lifecycle.apply`), which enters them in 新客户试用期;
- each recorded event goes to the journeys as their job takes it (`runner.on_event`), and the clock's
  `advance` runs every step run whose time has come, at that time (conditions time out, waits end, deadlines
  remind);
- the owners finish their steps (`tasks.complete_task`, `collaboration.answer_part`).

The messages these moments queued were delivered then: the outbox rows are marked sent at the time they were
queued (the WeCom emulator is not running while the demo is seeded, and they are history, not news).

Journeys (times are the demo's, counted back from today):

- 白皮书下载后三部门联动 (the article's example): on for 120 days; ~26 hospitals' 设备科 contacts downloaded the white
  paper. The rep's case, marketing's demo and delivery's compatibility report went out together; some were late
  (reminded at the deadline, done before the escalation), a little over half the contacts read the case within 24 h
  (the 趁热约面谈 branch), the others got the nudge. One customer left when their deal was won; the latest ones
  are still in it (a case not read yet, a task open, one step past its deadline).
- 新客户试用期关怀: on for 150 days; every customer whose first deal was won since entered it (the lifecycle job
  saw them enter 新客户试用期): the rep's visit and delivery's training, 30 days' wait, the 满月回访.
- 方案下载后 48 小时跟进: ran from 150 to 40 days ago, then archived; the customers still in it were taken out
  (旅程已归档).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import lifecycle, radar
from salesnav.handlers.collaboration import answer_part
from salesnav.handlers.customer_events import OPPORTUNITY_WON, record_customer_event
from salesnav.handlers.journeys import listening, runner, store
from salesnav.handlers.journeys.examples import ready_journey
from salesnav.handlers.rules.texts import business_tz
from salesnav.handlers.tasks import complete_task
from salesnav.models import (
    Contact,
    Customer,
    CustomerEvent,
    CustomerKind,
    Department,
    DepartmentKind,
    EnrollmentState,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    Material,
    Opportunity,
    OpportunityStatus,
    OutboundMessage,
    OutboundStatus,
    StepRunState,
    Task,
    TaskStatus,
    TicketPart,
    User,
)

WHITEPAPER = "《AI影像辅助诊断白皮书》"
SOLUTION = "《CT球管更换成本测算表》"
CASE = "《三甲医院CT球管落地案例集》"
TRIAL_ON_DAYS = 120
SOLUTION_ARCHIVED_DAYS = 40  # days before today
WHITEPAPER_ENTRIES = 20
SOLUTION_ENTRIES = 10
READ_SHARE = 0.55  # contacts who read the case within 24 h
FIRST_RESPONSE_SHARE = 0.44  # delivery's reports confirmed within 24 h: the company's own rate (the article's 44 %)

TRIAL_NAME = "新客户试用期关怀"
TRIAL_DESCRIPTION = (
    "客户首单赢单、进入新客户试用期后：销售 3 天内回访使用科室，交付部一周内上门培训；满 30 天销售做满月回访。"
)
SOLUTION_NAME = "测算表下载后 48 小时跟进"
SOLUTION_DESCRIPTION = (
    "客户下载《CT球管更换成本测算表》后，销售 48 小时内电话跟进；3 天内再次打开测算表的，约一次方案演示。"
)


def trial_definition() -> dict[str, Any]:
    return {
        "trigger": {"kind": "lifecycle.entered", "filter": {"lifecycle": "trial"}},
        "steps": [
            {
                "key": "first_visit",
                "title": "销售 3 天内回访使用科室",
                "owner": {"type": "rep"},
                "action": {
                    "type": "task",
                    "text": "{客户}刚成为新客户，请在{截止}前回访使用科室，了解设备到货和使用情况。",
                    "sla_hours": 72,
                },
            },
            {
                "key": "training",
                "title": "交付部一周内上门培训",
                "owner": {"type": "department", "value": "delivery"},
                "action": {
                    "type": "task",
                    "text": "为{客户}安排工程师上门做操作培训，{截止}前完成并告知{销售}。",
                    "sla_hours": 120,
                },
            },
            {"key": "month", "title": "等待 30 天", "wait": {"hours": 720}},
            {
                "key": "month_visit",
                "title": "销售满月回访",
                "owner": {"type": "rep"},
                "action": {
                    "type": "task",
                    "text": "{客户}使用已满一个月，请在{截止}前做一次满月回访，收集科室反馈。",
                    "sla_hours": 72,
                },
            },
        ],
        "exit": {"events": []},
        "reentry_days": 365,
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "frequency_cap": {"per_contact_per_day": 3},
    }


def solution_definition() -> dict[str, Any]:
    return {
        "trigger": {"kind": "material.downloaded", "filter": {"material_title": "CT球管更换成本测算表"}},
        "steps": [
            {
                "key": "call",
                "title": "销售 48 小时内电话跟进",
                "owner": {"type": "rep"},
                "action": {
                    "type": "task",
                    "text": "{客户}的{联系人}下载了《CT球管更换成本测算表》，"
                    "请在{截止}前电话跟进，帮对方算清更换成本。",
                    "sla_hours": 48,
                },
            },
            {
                "key": "reopened",
                "title": "客户 3 天内是否再次打开资料",
                "condition": {"event": "material.opened", "within_hours": 72, "then": "demo", "else": "end"},
            },
            {
                "key": "demo",
                "title": "约一次方案演示",
                "owner": {"type": "rep"},
                "action": {
                    "type": "task",
                    "text": "{联系人}又打开了测算表，请在{截止}前约一次方案演示。",
                    "sla_hours": 72,
                },
            },
        ],
        "exit": {"events": [OPPORTUNITY_WON]},
        "reentry_days": 90,
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "frequency_cap": {"per_contact_per_day": 3},
    }


@dataclass
class JourneyHistory:
    """What the story left: per journey name, the enrollments by state."""

    journeys: dict[str, dict[str, int]] = field(default_factory=dict)
    messages: int = 0


@dataclass(order=True)
class _Moment:
    at: datetime
    seq: int
    act: Callable[[], object] = field(compare=False)


class Story:
    """The demo's journeys played forward on a frozen clock, moment by moment (see the module's docstring)."""

    def __init__(self, session: Session, rng: random.Random, now: datetime) -> None:
        self.session, self.rng, self.now = session, rng, now
        self.day0 = now.astimezone(business_tz()).date()
        self.clock = clock.FrozenClock(now)
        self.moments: list[_Moment] = []
        self.seq = itertools.count()
        self.last_event_id = session.scalar(select(func.max(CustomerEvent.id))) or 0
        self.admin_user = self._user("admin")
        self.delivery_head = self._head(DepartmentKind.DELIVERY)
        self.marketing_head = self._head(DepartmentKind.MARKETING)
        self.heard: frozenset[str] | None = None
        self.first_response = itertools.count()
        self.read = itertools.count()

    # --- people and times ---------------------------------------------------------------------------------

    def _user(self, userid: str) -> User:
        return self.session.scalars(select(User).where(User.wecom_userid == userid)).one()

    def _head(self, kind: DepartmentKind) -> User:
        department = self.session.scalars(select(Department).where(Department.kind == kind).order_by(Department.id))
        head_id = next(d.head_id for d in department if d.head_id)
        user = self.session.get(User, head_id)
        assert user is not None
        return user

    def local(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        """A moment `days_ago` days before today at hour:minute business time (moved to the Friday before when it
        falls on a weekend: the demo's customers download at work)."""
        day = self.day0 - timedelta(days=days_ago)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return datetime.combine(day, time(hour, minute), business_tz())

    def days_since(self, material: Material) -> int:
        assert material.published_at is not None
        return (self.day0 - material.published_at.astimezone(business_tz()).date()).days

    def latest_working_moment(self, before: datetime) -> datetime:
        """The latest moment at or before `before` in working hours (09:00–17:00 on a weekday, business time)."""
        local = before.astimezone(business_tz()).replace(second=0, microsecond=0)
        local -= timedelta(minutes=local.minute % 5)
        while local.weekday() >= 5 or not 9 <= local.hour < 17:
            local -= timedelta(minutes=5)
        return local

    def at(self, moment: datetime, act: Callable[[], object]) -> None:
        if moment <= self.now:
            heapq.heappush(self.moments, _Moment(moment, next(self.seq), act))

    # --- the clock: the jobs at their time ------------------------------------------------------------------

    def run(self) -> None:
        previous = clock.use(self.clock)
        try:
            while self.moments:
                moment = heapq.heappop(self.moments)
                self.advance_to(moment.at)
                self.clock.set(moment.at)
                moment.act()
                self.hear()
            self.advance_to(self.now)
            self.clock.set(self.now)
        finally:
            clock.use(previous)

    def advance_to(self, moment: datetime) -> None:
        """The clock's advance job, run at each time a step run came due up to `moment`."""
        while True:
            due = self.session.scalar(
                select(func.min(JourneyStepRun.wake_at)).where(JourneyStepRun.wake_at.is_not(None))
            )
            if due is None or due > moment:
                return
            self.clock.set(due)
            for run_id in runner.due_run_ids(self.session, due):
                runner.advance(self.session, run_id, due)
            self.hear()

    def hear(self) -> None:
        """The journeys' job on every event recorded since it last ran (what the after-commit job does)."""
        events = list(
            self.session.scalars(
                select(CustomerEvent).where(CustomerEvent.id > self.last_event_id).order_by(CustomerEvent.id)
            )
        )
        for event in events:
            self.last_event_id = event.id
            if self.heard is None:
                self.heard = listening.heard_kinds(self.session)
            if event.kind in self.heard:  # the job is queued only for kinds some journey hears
                runner.on_event(self.session, event, self.clock.now())

    def admin(self, change: Callable[[], object]) -> Callable[[], None]:
        """An admin's change of a journey: the kinds heard are read again after it."""

        def act() -> None:
            change()
            self.heard = None

        return act

    # --- what people do -------------------------------------------------------------------------------------

    def share_and_download(self, material: Material, contact: Contact, rep: User, at: datetime) -> None:
        """The rep shares the 雷达 link the day before; the contact opens it, reads, and downloads the file
        (tapping 下载 hides the page: its last beacon reports the reading just before the file is asked for)."""

        def share() -> None:
            link = radar.share_link(self.session, rep, material.id, contact.customer_id, contact_id=contact.id)
            self.at(at - timedelta(minutes=6), lambda: self.open_and_read(link.token, at))

        self.at(at - timedelta(days=1, hours=2), share)

    def open_and_read(self, token: str, download_at: datetime | None, seconds: int = 300) -> None:
        opened = radar.open_link(self.session, token)
        read_until = download_at or self.clock.now() + timedelta(seconds=seconds)

        def finish() -> None:
            radar.beacon(self.session, opened.view_token, seq=1, seconds=seconds, final=True)
            if download_at is not None:
                self.at(download_at, lambda: radar.download(self.session, opened.view_token))

        self.at(read_until - timedelta(seconds=1), finish)

    def finish_step(self, enrollment_id: int, key: str, at: datetime) -> None:
        """The step's owner finishes it at `at`: ticks the task done, or confirms the schedule of the part. Planned
        for after today, it is still open today — unless that would have made it escalate by now: then the owner
        finished it late, an hour before (the demo raises no alerts)."""
        if at > self.now:
            run = self.run_of(enrollment_id, key)
            if run is None or run.sla_due_at is None:
                return
            definition = runner.definition_of(run.enrollment.journey)
            action = definition.step(key).action if definition is not None else None
            if action is None:
                return
            escalates = run.sla_due_at + timedelta(hours=action.escalate_after_hours)
            if escalates > self.now:
                return
            at = max(escalates - timedelta(hours=1), self.clock.now())

        def act() -> None:
            run = self.run_of(enrollment_id, key)
            if run is not None and run.state is StepRunState.HELD and run.wake_at is not None:
                self.at(run.wake_at + self.hours(1, 3), act)  # held for the quiet hours: done once it went out
                return
            if run is None or run.state is not StepRunState.OPEN:
                return
            if run.ticket_part_id is not None:
                part = self.session.get(TicketPart, run.ticket_part_id)
                if part is not None and part.closed_at is None:
                    answer_part(
                        self.session,
                        self.delivery_head,
                        part_id=part.id,
                        text="已排期，兼容性报告随排期一并提交。",
                        schedule_date=self.clock.now() + timedelta(days=3),
                    )
            elif run.task_id is not None:
                task = self.session.get(Task, run.task_id)
                if task is not None and task.status is TaskStatus.OPEN:
                    assignee = self.session.get(User, task.assignee_id)
                    assert assignee is not None
                    complete_task(self.session, assignee, task_id=task.id)

        self.at(at, act)

    def run_of(self, enrollment_id: int, key: str) -> JourneyStepRun | None:
        return self.session.scalars(
            select(JourneyStepRun).where(JourneyStepRun.enrollment_id == enrollment_id, JourneyStepRun.step_key == key)
        ).first()

    def entered(self, journey: Journey, customer_id: int) -> JourneyEnrollment | None:
        return self.session.scalars(
            select(JourneyEnrollment)
            .where(JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.customer_id == customer_id)
            .order_by(JourneyEnrollment.id.desc())
        ).first()

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=round(self.rng.uniform(low, high) * 60))

    def in_time(self) -> bool:
        """Delivery's k-th report: confirmed within 24 h as often as the company's parts are (spread evenly)."""
        k = next(self.first_response)
        return int((k + 1) * FIRST_RESPONSE_SHARE) > int(k * FIRST_RESPONSE_SHARE)

    def reads(self) -> bool:
        k = next(self.read)
        return int((k + 1) * READ_SHARE) > int(k * READ_SHARE)


# --- the three journeys ------------------------------------------------------------------------------------


def _material(session: Session, title: str) -> Material:
    return session.scalars(select(Material).where(Material.title == title)).one()


def _hospital_contacts(session: Session, title_word: str | None) -> list[tuple[Contact, User]]:
    """(contact, the customer's rep) of live hospitals, one contact per customer, by customer id."""
    query = (
        select(Contact, User)
        .join(Customer, Customer.id == Contact.customer_id)
        .join(User, User.id == Customer.owner_id)
        .where(Customer.kind == CustomerKind.HOSPITAL, Customer.deleted_at.is_(None))
        .order_by(Customer.id, Contact.id)
    )
    if title_word:
        query = query.where(Contact.title.contains(title_word))
    seen: set[int] = set()
    out = []
    for contact, rep in session.execute(query).all():
        if contact.customer_id not in seen:
            seen.add(contact.customer_id)
            out.append((contact, rep))
    return out


def _whitepaper(story: Story, pool: list[tuple[Contact, User]]) -> None:
    session = story.session
    journey = ready_journey(session)
    assert journey is not None
    paper = _material(session, WHITEPAPER)
    # Switched on a few days after the case it sends was published.
    on_days = min(story.days_since(paper), story.days_since(_material(session, CASE))) - 3
    won_at = _won_later(session, pool, on_days - 4)
    story.at(
        story.local(on_days, 9, 30), story.admin(lambda: store.set_active(session, story.admin_user, journey.id, True))
    )
    picked = story.rng.sample([p for p in pool if p[0].customer_id not in won_at], WHITEPAPER_ENTRIES - 1)
    # Spread over the months, denser lately; the last three in the latest working hours, still in it today.
    older = len(picked) - 3
    ages = [round((on_days - 5) * (1 - (n / older) ** 0.8)) + 4 for n in range(older)]
    latest = story.latest_working_moment(story.now - timedelta(hours=1))
    times = [story.local(age, story.rng.choice((9, 10, 11, 14, 15, 16)), story.rng.randrange(0, 60, 5)) for age in ages]
    times += [
        story.latest_working_moment(latest - timedelta(hours=26)),
        story.latest_working_moment(latest - timedelta(hours=5)),
        latest,
    ]
    for (contact, rep), at in zip(picked, times, strict=True):
        story.share_and_download(paper, contact, rep, at)
        behind = at == latest  # the latest: marketing and delivery have not got to it yet
        story.at(at + timedelta(seconds=1), _whitepaper_steps(story, journey, contact, rep, at, behind=behind))
    # One customer whose deal was won two days after the download: the won deal ends the journey for them.
    if won_at:
        customer_id, won = min(won_at.items(), key=lambda item: item[1])
        contact, rep = next(p for p in pool if p[0].customer_id == customer_id)
        at = story.local((story.day0 - won.astimezone(business_tz()).date()).days + 1, 10, 15)
        story.share_and_download(paper, contact, rep, at)
        # the deal is won the next day, before marketing and delivery have done theirs: their steps stop there
        story.at(at + timedelta(seconds=1), _whitepaper_steps(story, journey, contact, rep, at, behind=True))

        def won_deal() -> None:
            deal = session.scalars(
                select(Opportunity).where(Opportunity.customer_id == customer_id, Opportunity.closed_at == won)
            ).first()
            record_customer_event(
                session,
                customer_id=customer_id,
                kind=OPPORTUNITY_WON,
                occurred_at=won,
                payload={
                    "opportunity_id": deal.id if deal else None,
                    "amount_fen": deal.expected_amount_fen if deal else 0,
                },
                dedupe_key=f"opportunity:won:{deal.id if deal else customer_id}",
            )

        story.at(won, won_deal)


def _won_later(session: Session, pool: list[tuple[Contact, User]], within_days: int) -> dict[int, datetime]:
    """Customers of the pool with a deal won 20 to `within_days` days ago: when."""
    ids = [contact.customer_id for contact, _ in pool]
    now = clock.now()
    rows = session.execute(
        select(Opportunity.customer_id, func.max(Opportunity.closed_at))
        .where(
            Opportunity.customer_id.in_(ids),
            Opportunity.status == OpportunityStatus.WON,
            Opportunity.closed_at.between(now - timedelta(days=within_days), now - timedelta(days=20)),
        )
        .group_by(Opportunity.customer_id)
    ).all()
    out: dict[int, datetime] = {}
    for customer_id, won in rows:
        if won is None:
            continue
        local = won.astimezone(business_tz())
        if 1 <= local.weekday() <= 4 and 11 <= local.hour < 18:  # the day before was a working day too
            out[customer_id] = won
    return out


def _whitepaper_steps(
    story: Story, journey: Journey, contact: Contact, rep: User, at: datetime, *, behind: bool = False
) -> Callable[[], None]:
    """After the download: who does what when (and whether the contact reads the case in time)."""

    def plan() -> None:
        enrollment = story.entered(journey, contact.customer_id)
        if enrollment is None or enrollment.entered_at != at:
            return
        eid = enrollment.id
        # ① the rep's case: mostly within the 8 h, sometimes late (reminded, done before the escalation)
        late = story.rng.random() < 0.2
        story.finish_step(eid, "send_case", at + (story.hours(9, 20) if late else story.hours(0.5, 6)))
        # ② marketing books the demo; ③ delivery confirms the report's schedule (or its task without a deal)
        if behind:
            story.finish_step(eid, "book_demo", at + timedelta(days=30))
            story.finish_step(eid, "compat_report", at + timedelta(days=30))
        else:
            demo = at + (story.hours(50, 66) if story.rng.random() < 0.15 else story.hours(3, 40))
            story.finish_step(eid, "book_demo", demo)
            story.finish_step(
                eid, "compat_report", at + (story.hours(2, 22) if story.in_time() else story.hours(26, 68))
            )
        # the case read within 24 h (the card's link) → the visit; else the nudge goes at 24 h
        if story.reads():
            read_at = at + story.hours(1, 20)

            def read_case() -> None:
                card = _card_link(story.session, rep, contact.customer_id, at)
                if card is not None:
                    seconds = story.rng.randrange(90, 600, 30)
                    story.open_and_read(card, None, seconds=seconds)
                    visit = story.clock.now() + story.hours(4, 40)
                    read = story.clock.now() + timedelta(seconds=seconds + 1)
                    story.at(read, lambda: story.finish_step(eid, "book_visit", visit))

            story.at(read_at, read_case)

    return plan


def _card_link(session: Session, rep: User, customer_id: int, since: datetime) -> str | None:
    """The 雷达 link of the case the journey's card gave the rep for this customer."""
    for message in session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.recipient_userid == rep.wecom_userid,
            OutboundMessage.msg_type == "textcard",
            OutboundMessage.created_at >= since,
        )
        .order_by(OutboundMessage.id)
    ):
        url = str(message.body.get("url") or "")
        if "/r/" in url:
            token = url.rsplit("/r/", 1)[1]
            if radar.read_link(token).customer_id == customer_id:
                return token
    return None


def _trial(story: Story) -> None:
    """新客户试用期关怀: every customer whose first deal was won since it was switched on."""
    session = story.session
    journey = store.save_journey(
        session, story.admin_user, name=TRIAL_NAME, definition=trial_definition(), description=TRIAL_DESCRIPTION
    )
    on = story.local(TRIAL_ON_DAYS, 10, 0)
    story.at(on, story.admin(lambda: store.set_active(session, story.admin_user, journey.id, True)))
    first_won = session.execute(
        select(Opportunity.customer_id, func.min(Opportunity.closed_at))
        .where(Opportunity.status == OpportunityStatus.WON, Opportunity.closed_at.is_not(None))
        .group_by(Opportunity.customer_id)
    ).all()
    firsts: list[tuple[datetime, int]] = sorted((won, cid) for cid, won in first_won if won is not None)
    for won, customer_id in firsts:
        if won <= on:
            continue
        looked = won + timedelta(minutes=5)  # the lifecycle job's next incremental run

        def look(customer_id: int = customer_id, at: datetime = looked) -> None:
            lifecycle.apply(session, story.clock.now(), [customer_id])
            story.at(at + timedelta(seconds=1), lambda: _trial_steps(story, journey, customer_id, at))

        story.at(looked, look)


def _trial_steps(story: Story, journey: Journey, customer_id: int, at: datetime) -> None:
    enrollment = story.entered(journey, customer_id)
    if enrollment is None or enrollment.entered_at != at:
        return
    eid = enrollment.id
    story.finish_step(eid, "first_visit", at + story.hours(4, 60))
    story.finish_step(
        eid, "training", at + (story.hours(126, 140) if story.rng.random() < 0.15 else story.hours(24, 110))
    )
    month = at + timedelta(hours=720)
    visit = month + story.hours(6, 66)
    story.at(month + timedelta(seconds=1), lambda: story.finish_step(eid, "month_visit", visit))


def _solution(story: Story, pool: list[tuple[Contact, User]], taken: set[int]) -> None:
    """测算表下载后 48 小时跟进: on a few days after the sheet was published, archived SOLUTION_ARCHIVED_DAYS ago."""
    session = story.session
    journey = store.save_journey(
        session,
        story.admin_user,
        name=SOLUTION_NAME,
        definition=solution_definition(),
        description=SOLUTION_DESCRIPTION,
    )
    material = _material(session, SOLUTION)
    start, end = story.days_since(material) - 3, SOLUTION_ARCHIVED_DAYS
    story.at(
        story.local(start, 9, 0), story.admin(lambda: store.set_active(session, story.admin_user, journey.id, True))
    )
    story.at(story.local(end, 17, 30), story.admin(lambda: store.remove_journey(session, story.admin_user, journey.id)))
    picked = story.rng.sample([p for p in pool if p[0].customer_id not in taken], SOLUTION_ENTRIES)
    span = start - end - 2
    for n, (contact, rep) in enumerate(picked):
        age = start - 2 - round(span * (n + 0.5) / len(picked))
        if n >= len(picked) - 2:  # the last two a day before the archiving: still in it then, taken out
            age = end + 1
        at = story.local(age, story.rng.choice((9, 10, 14, 15, 16)), story.rng.randrange(0, 60, 5))
        story.share_and_download(material, contact, rep, at)

        def steps(contact: Contact = contact, rep: User = rep, at: datetime = at) -> None:
            enrollment = story.entered(journey, contact.customer_id)
            if enrollment is None or enrollment.entered_at != at:
                return
            eid = enrollment.id
            story.finish_step(eid, "call", at + story.hours(2, 44))
            if story.rng.random() < 0.5:  # opens the solution again within 3 days: the demo to book
                link = radar.share_link(session, rep, material.id, contact.customer_id, contact_id=contact.id)
                again = at + story.hours(20, 60)
                story.at(again, lambda: story.open_and_read(link.token, None, seconds=240))
                demo = again + story.hours(24, 60)
                story.at(again + timedelta(minutes=5), lambda: story.finish_step(eid, "demo", demo))

        story.at(at + timedelta(seconds=1), steps)


def seed_journeys(session: Session, rng: random.Random, now: datetime) -> JourneyHistory:
    """Play the demo's journey history up to `now` (see the module's docstring); the caller commits."""
    story = Story(session, rng, now)
    pool = _hospital_contacts(session, "设备科")
    _whitepaper(story, pool)
    taken = {contact.customer_id for contact, _ in pool}
    _trial(story)
    _solution(story, _hospital_contacts(session, None), taken)
    story.run()
    # Delivered then: the WeCom emulator is not up while the demo is seeded, and these are history.
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == OutboundStatus.QUEUED)
        .values(status=OutboundStatus.SENT, sent_at=OutboundMessage.created_at, attempts=1, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    history = JourneyHistory()
    for name, state, count in session.execute(
        select(Journey.name, JourneyEnrollment.state, func.count())
        .join(JourneyEnrollment, JourneyEnrollment.journey_id == Journey.id)
        .group_by(Journey.name, JourneyEnrollment.state)
    ):
        history.journeys.setdefault(name, {})[EnrollmentState(state).value] = int(count)
    history.messages = session.scalar(select(func.count()).select_from(OutboundMessage)) or 0
    return history
