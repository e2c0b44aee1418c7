"""The journeys' runner: customers enter on an event, their steps run, wait, branch, fall late and end.

Two ways in, both jobs (salesnav/jobs/journeys.py):
- `on_event(session, event, now)` — a customer event that some active journey hears: it takes the customer out of
  the journeys whose exit it is, settles the conditions waiting for it, and enters the customer into the journeys
  it triggers (filtered on the customer's tag, lifecycle stage, the contact's title, the material, the payload),
  running the first steps at once — the rep's message leaves in the same unit of work as the entry.
- `advance(session, run_id, now)` — a step run whose `wake_at` has come (`due_run_ids`: an indexed range on
  wake_at, so the clock's cost follows the steps due, not the customers enrolled): a step held for quiet hours or
  the frequency cap goes out, a wait ends, a condition times out (the else branch), an SLA reminds its owner, then
  escalates to the owner's manager as an alert of the rule machinery (rule `journey_sla`, the 批注 card).

What makes a re-run harmless: one enrollment per (journey, entry event) and one active per (journey, customer);
one run per (enrollment, step key); every state change is a guarded UPDATE (of two workers one wins); every message
an outbox row keyed by run and recipient; the escalation an alert keyed by run.

An action step does not hold the flow: the rep's card, marketing's task and delivery's ticket part go out one after
the other at once, each with its own deadline; the journey completes when its flow reached the end and every step is
done (handlers/journeys/progress.py). Waits and conditions hold the flow.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from salesnav.handlers import lifecycle, radar, tags, ticket_notices
from salesnav.handlers.customer_events import kind_label
from salesnav.handlers.errors import DomainError
from salesnav.handlers.journeys import owners as owner_rules
from salesnav.handlers.journeys import progress
from salesnav.handlers.journeys.definition import (
    END,
    PLACEHOLDER,
    DefinitionError,
    JourneyDefinition,
    QuietHours,
    Step,
    TriggerFilter,
    parse_definition,
)
from salesnav.handlers.journeys.store import department_named
from salesnav.handlers.records import record_event
from salesnav.handlers.rules import engine
from salesnav.handlers.rules.texts import business_tz, local_time
from salesnav.handlers.tasks import create_task
from salesnav.handlers.working_time import rule_time
from salesnav.models import (
    CollaborationTicket,
    Contact,
    Customer,
    CustomerEvent,
    DomainEvent,
    EnrollmentState,
    HoldReason,
    Journey,
    JourneyEnrollment,
    JourneyMessageCount,
    JourneyStepRun,
    Material,
    Opportunity,
    OpportunityStatus,
    StepRunState,
    Task,
    TaskStatus,
    TicketPart,
    User,
)
from salesnav.ports import notifications
from salesnav.settings import current_settings

log = logging.getLogger(__name__)

SLA_RULE = progress.SLA_RULE
MESSAGE_KINDS = frozenset({"message", "card", "email"})  # what the frequency cap counts
BATCH = 1000
MAX_CHAIN = 64  # steps run in one go at most (a definition has no cycle; this only bounds a broken one)


# --- definitions, parsed once per (journey, version) --------------------------------------------------------

_parsed: dict[tuple[int, int], tuple[dict[str, Any], JourneyDefinition]] = {}


def definition_of(journey: Journey) -> JourneyDefinition | None:
    """The journey's definition (parsed once per version); None when the stored one no longer validates."""
    key = (journey.id, journey.version)
    cached = _parsed.get(key)
    if cached is not None and cached[0] == journey.definition:  # the same JSON (ids are reused in tests)
        return cached[1]
    try:
        found = parse_definition(journey.definition)
    except DefinitionError:
        log.warning("journey %s v%s has an invalid definition; it runs nothing", journey.id, journey.version)
        return None
    if len(_parsed) > 1000:
        _parsed.clear()
    _parsed[key] = (journey.definition, found)
    return found


# --- what an event does ----------------------------------------------------------------------------------


@dataclass
class Reaction:
    entered: list[int] = field(default_factory=list)  # enrollment ids
    refused: list[tuple[int, str]] = field(default_factory=list)  # (journey id, why)
    exited: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)  # condition runs decided by this event


def on_event(session: Session, event: CustomerEvent, now: datetime) -> Reaction:
    """Everything the journeys do on one customer event; safe to run twice for the same event."""
    reaction = Reaction()
    active = list(
        session.scalars(
            select(JourneyEnrollment).where(
                JourneyEnrollment.customer_id == event.customer_id,
                JourneyEnrollment.state == EnrollmentState.ACTIVE,
            )
        )
    )
    leave_and_settle(session, event, active, now, reaction)
    for journey, definition in journeys_entered_by(session, event):
        entered, why = enter(session, journey, definition, event, now)
        if entered is not None:
            reaction.entered.append(entered.id)
        elif why:
            reaction.refused.append((journey.id, why))
    return reaction


def leave_and_settle(
    session: Session, event: CustomerEvent, active: list[JourneyEnrollment], now: datetime, reaction: Reaction
) -> None:
    """The event on the customer's active enrollments: out of the journeys whose exit it is, conditions settled."""
    for enrollment in active:
        if enrollment.state is not EnrollmentState.ACTIVE:
            continue
        definition = definition_of(enrollment.journey)
        if definition is None:
            continue
        if event.kind in definition.exit.events and event.occurred_at >= enrollment.entered_at:
            if exit_enrollment(session, enrollment, now, f"客户{kind_label(event.kind)}"):
                reaction.exited.append(enrollment.id)
            continue
        reaction.settled += settle_conditions(session, enrollment, definition, event, now)


def journeys_entered_by(session: Session, event: CustomerEvent) -> list[tuple[Journey, JourneyDefinition]]:
    """The active journeys the event triggers whose filter the event and its customer pass, by journey id."""
    held: list[Journey] | None = session.info.get(_HELD_JOURNEYS)
    if held is not None:
        journeys = [j for j in held if j.trigger_kind == event.kind and j.active]
    else:
        journeys = list(
            session.scalars(
                select(Journey)
                .where(Journey.trigger_kind == event.kind, Journey.active.is_(True), Journey.deleted_at.is_(None))
                .order_by(Journey.id)
            )
        )
    found = []
    for journey in journeys:
        definition = definition_of(journey)
        if definition is None or definition.trigger.kind != event.kind:
            continue
        if matches(session, definition.trigger.filter, event):
            found.append((journey, definition))
    return found


def on_events(session: Session, events: list[CustomerEvent], now: datetime) -> Reaction:
    """What `on_event` does for each event of a batch, in their order, with a few statements for the whole batch:
    the active enrollments of the batch's customers read once, and the entries decided together (`enter_many`).
    A customer with several events in the batch has them taken one by one by `on_event` (an event may then see
    the enrollment an earlier one made, or left); so does an entry into a journey `enter_many` does not carry
    (`set_based`)."""
    reaction = Reaction()
    seen: dict[int, int] = {}
    for event in events:
        seen[event.customer_id] = seen.get(event.customer_id, 0) + 1
    alone = [e for e in events if seen[e.customer_id] == 1]
    active: dict[int, list[JourneyEnrollment]] = {}
    if alone:
        for enrollment in session.scalars(
            select(JourneyEnrollment).where(
                JourneyEnrollment.customer_id.in_({e.customer_id for e in alone}),
                JourneyEnrollment.state == EnrollmentState.ACTIVE,
            )
        ):
            active.setdefault(enrollment.customer_id, []).append(enrollment)
    together: list[tuple[Journey, JourneyDefinition, CustomerEvent]] = []
    for event in events:
        if seen[event.customer_id] > 1:
            one = on_event(session, event, now)
            reaction.entered += one.entered
            reaction.refused += one.refused
            reaction.exited += one.exited
            reaction.settled += one.settled
            continue
        leave_and_settle(session, event, active.get(event.customer_id, []), now, reaction)
        for journey, definition in journeys_entered_by(session, event):
            if set_based(definition):
                together.append((journey, definition, event))
                continue
            entered, why = enter(session, journey, definition, event, now)
            if entered is not None:
                reaction.entered.append(entered.id)
            elif why:
                reaction.refused.append((journey.id, why))
    enter_many(session, together, now, reaction)
    return reaction


_HELD_JOURNEYS = "salesnav_journeys_held"


_HELD = "salesnav_journeys_held_rows"


def hold_for_batch(session: Session, events: list[CustomerEvent]) -> None:
    """For a batch of events in one unit of work: read the journeys, the events' customers, their reps and the
    events' contacts once,
    and keep them in the session (its identity map holds objects weakly: without this, each event would read
    them again; with it, an entry finds them there)."""
    session.info[_HELD_JOURNEYS] = list(
        session.scalars(select(Journey).where(Journey.deleted_at.is_(None)).order_by(Journey.id))
    )
    customers = list(session.scalars(select(Customer).where(Customer.id.in_({e.customer_id for e in events}))))
    reps = {c.owner_id for c in customers if c.owner_id is not None}
    contacts = {e.contact_id for e in events if e.contact_id is not None}
    held: list[Any] = [*customers, *session.scalars(select(User).where(User.id.in_(reps)))]
    if contacts:  # an entry's message names the contact
        held += session.scalars(select(Contact).where(Contact.id.in_(contacts)))
    session.info[_HELD] = held


def matches(session: Session, wanted: TriggerFilter, event: CustomerEvent) -> bool:
    """Whether the event and its customer pass the trigger's filter."""
    payload = event.payload or {}
    for key, value in wanted.payload.items():
        if key not in payload or str(payload[key]) != str(value):
            return False
    if wanted.contact_title:
        contact = session.get(Contact, event.contact_id) if event.contact_id else None
        if contact is None or wanted.contact_title not in (contact.title or ""):
            return False
    if wanted.material_title and wanted.material_title not in material_title_of(session, payload):
        return False
    if wanted.tag or wanted.lifecycle:
        customer = session.get(Customer, event.customer_id)
        if customer is None:
            return False
        if wanted.tag and wanted.tag not in customer_tags(session, customer):
            return False
        if wanted.lifecycle and wanted.lifecycle != customer_lifecycle(session, customer):
            return False
    return True


def material_title_of(session: Session, payload: dict[str, Any]) -> str:
    material_id = payload.get("material_id")
    if isinstance(material_id, int) and (material := session.get(Material, material_id)) is not None:
        return material.title
    return str(payload.get("material_title") or payload.get("title") or "")


def customer_tags(session: Session, customer: Customer) -> set[str]:
    """The customer's tags, by code and by label (a filter may name either)."""
    held = tags.customer_tags(session, customer.id)
    return {t.code for t in held} | {t.label for t in held}


def customer_lifecycle(session: Session, customer: Customer) -> str | None:
    """The customer's lifecycle stage code (trial, renewal, churn_risk) or None."""
    stage = lifecycle.customer_lifecycle(session, customer.id)
    return stage.value if stage is not None else None


# --- entering ----------------------------------------------------------------------------------------------


def enter(
    session: Session, journey: Journey, definition: JourneyDefinition, event: CustomerEvent, now: datetime
) -> tuple[JourneyEnrollment | None, str]:
    """Enter the event's customer, run the first steps; (None, why) when refused, (None, "") when already done."""
    customer_id = event.customer_id
    # The customer's enrollments in this journey, newest first, in one read: whether this event entered them
    # already (the job ran twice), and the last one (in it still, or within the re-entry window).
    before = session.execute(
        select(JourneyEnrollment.entry_event_id, JourneyEnrollment.state, JourneyEnrollment.entered_at)
        .where(JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.customer_id == customer_id)
        .order_by(JourneyEnrollment.entered_at.desc(), JourneyEnrollment.id.desc())
    ).all()
    verdict = entry_verdict(before, event, definition, now)
    if verdict is not None:
        return None, refuse(session, journey, event, verdict) if verdict else ""
    enrollment = _insert_guarded(session, JourneyEnrollment(**enrollment_values(journey, definition, event, now)))
    if enrollment is None:
        return None, ""  # a concurrent twin entered them (the unique keys decided)
    start_step(session, enrollment, definition, definition.first(), now)
    return enrollment, ""


def entry_verdict(
    before: Sequence[Any], event: CustomerEvent, definition: JourneyDefinition, now: datetime
) -> str | None:
    """Whether the event's customer may enter, given their enrollments in the journey (entry_event_id, state,
    entered_at; newest first): None yes, "" when this event entered them already (a re-run), else why not."""
    if any(row.entry_event_id == event.id for row in before):
        return ""
    last = before[0] if before else None
    if last is not None and last.state == EnrollmentState.ACTIVE:
        return "客户已在该旅程中"
    if last is not None and definition.reentry_days and now < last.entered_at + timedelta(days=definition.reentry_days):
        return f"客户 {definition.reentry_days} 天内已进入过该旅程（{local_time(last.entered_at)}）"
    return None


def enrollment_values(
    journey: Journey, definition: JourneyDefinition, event: CustomerEvent, now: datetime
) -> dict[str, Any]:
    return {
        "journey_id": journey.id,
        "journey_version": journey.version,
        "customer_id": event.customer_id,
        "contact_id": event.contact_id,
        "entry_event_id": event.id,
        "entered_at": now,
        "state": EnrollmentState.ACTIVE,
        "current_step": definition.first(),
        "created_at": now,
        "updated_at": now,
    }


def set_based(definition: JourneyDefinition) -> bool:
    """Whether `enter_many` carries an entry into this journey: its first step a message to the customer's rep (no
    deadline, no material) going on to a wait or a condition — the common journey, whose entry sends one message
    and begins one wait. Any other first steps (tasks, ticket parts, cards, e-mails, deadlines, a flow that ends at
    once) are entered one by one by `enter`, as they have more to do."""
    first = definition.step(definition.first())
    action = first.action
    if action is None or action.type != "message" or action.sla_hours or action.material_id:
        return False
    if first.owner is None or first.owner.type != "rep":
        return False
    following = definition.following(first.key)
    if following == END:
        return False
    then = definition.step(following)
    return then.wait is not None or then.condition is not None


def enter_many(
    session: Session,
    candidates: list[tuple[Journey, JourneyDefinition, CustomerEvent]],
    now: datetime,
    reaction: Reaction,
) -> None:
    """`enter` and `start_step` for many (journey, event) pairs of `set_based` journeys at once, each customer once
    in each journey (on_events sees to it), with the same rules: `entry_verdict` (a re-run, in the journey already,
    the re-entry window), quiet hours (`quiet_until`), the frequency cap (`take_message_slots`), the owners
    (`owner_rules.owners`), the message (`message_text`, `message_key`), the wait (`new_run`). Statements for the
    whole batch: one read of the pairs' enrollments; one INSERT ... ON CONFLICT DO NOTHING RETURNING of the
    enrollments (a concurrent twin's keep theirs); one of the frequency counts (per cap); one of the step runs; one
    of the messages (tell_all: the outbox's rows, delivered by a few jobs, a member's in order); the enrollments'
    current step at flush."""
    if not candidates:
        return
    before: dict[tuple[int, int], list[Any]] = {}
    for row in session.execute(
        select(
            JourneyEnrollment.journey_id,
            JourneyEnrollment.customer_id,
            JourneyEnrollment.entry_event_id,
            JourneyEnrollment.state,
            JourneyEnrollment.entered_at,
        )
        .where(
            JourneyEnrollment.journey_id.in_({journey.id for journey, _, _ in candidates}),
            JourneyEnrollment.customer_id.in_({event.customer_id for _, _, event in candidates}),
        )
        .order_by(JourneyEnrollment.entered_at.desc(), JourneyEnrollment.id.desc())
    ):
        before.setdefault((row.journey_id, row.customer_id), []).append(row)
    entering = []
    refusals: list[tuple[Journey, CustomerEvent, str]] = []
    for journey, definition, event in candidates:
        verdict = entry_verdict(before.get((journey.id, event.customer_id), []), event, definition, now)
        if verdict is None:
            entering.append((journey, definition, event))
        elif verdict:
            refusals.append((journey, event, verdict))
    refuse_all(session, refusals)
    reaction.refused += [(journey.id, why) for journey, _, why in refusals]
    if not entering:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(JourneyEnrollment)
        .values([enrollment_values(journey, definition, event, now) for journey, definition, event in entering])
        .on_conflict_do_nothing()
        .returning(JourneyEnrollment)
    )
    enrolled = {(e.journey_id, e.entry_event_id): e for e in session.scalars(statement)}
    # Each entry's first step: held for quiet hours, held for the frequency cap, or its message going out.
    firsts = []
    for journey, definition, event in entering:
        enrollment = enrolled.get((journey.id, event.id))
        if enrollment is None:
            continue  # a concurrent twin entered them (the unique keys decided)
        reaction.entered.append(enrollment.id)
        step = definition.step(definition.first())
        firsts.append((enrollment, definition, step, new_run(enrollment, step, now)))
    if not firsts:
        return
    capped = [
        (i, audience_of(enrollment), cap)
        for i, (enrollment, definition, step, _) in enumerate(firsts)
        if (cap := message_cap(definition, step)) is not None
    ]
    quiet = {
        i: opens
        for i, (_, d, _, _) in enumerate(firsts)
        if d.quiet_hours and (opens := quiet_until(d.quiet_hours, now))
    }
    wanted = [(i, audience, cap) for i, audience, cap in capped if i not in quiet]
    slots = dict(
        zip(
            [i for i, _, _ in wanted],
            take_message_slots(session, [(a, c) for _, a, c in wanted], business_day(now)),
            strict=True,
        )
    )
    runs: list[JourneyStepRun] = []
    going: list[tuple[JourneyStepRun, JourneyEnrollment, Step, list[User]]] = []
    for i, (enrollment, definition, step, run) in enumerate(firsts):
        runs.append(run)
        if i in quiet:
            hold(run, HoldReason.QUIET_HOURS, quiet[i])
            continue
        if not slots.get(i, True):
            hold(run, HoldReason.FREQUENCY_CAP, next_business_day(now))
            continue
        assert step.owner is not None
        going_out(run, now)
        people = owner_rules.owners(session, step.owner, enrollment.customer)
        if not people:
            no_owner(run, step.owner)
            continue
        sent(run, people[0], None, now)
        going.append((run, enrollment, step, people))
        following = definition.step(definition.following(step.key))
        enrollment.current_step = following.key
        runs.append(new_run(enrollment, following, now))  # a wait or a condition: the flow waits there
    columns = [a.key for a in sa_inspect(JourneyStepRun).column_attrs if a.key != "id"]
    ids = {
        (row.enrollment_id, row.step_key): row.id
        for row in session.execute(
            insert(JourneyStepRun)
            .values([{key: getattr(run, key) for key in columns} for run in runs])
            .returning(JourneyStepRun.id, JourneyStepRun.enrollment_id, JourneyStepRun.step_key)
        )
    }
    texts: list[tuple[User | None, str, str]] = []
    for run, enrollment, step, people in going:
        run.id = ids[(run.enrollment_id, run.step_key)]
        assert step.action is not None
        text = render(step.action.text, enrollment, enrollment.customer, None, None, None)
        content = message_text(enrollment.journey.name, step, text, None, None, None)
        texts += [(person, content, message_key(run, person)) for person in people]
    engine.tell_all(session, texts)


ENTRY_REFUSED = "journey.entry_refused"  # the domain event of a refused entry: journey, customer, event, why


def refuse(session: Session, journey: Journey, event: CustomerEvent, why: str) -> str:
    refuse_all(session, [(journey, event, why)])
    return why


def refuse_all(session: Session, refusals: Sequence[tuple[Journey, CustomerEvent, str]]) -> None:
    """Record why each event's customer was not entered into the journey: once per journey and event, so that
    the job taken again (a retry, a resent batch) records nothing more."""
    recorded = refused_before(session, [(journey, event) for journey, event, _ in refusals])
    for journey, event, why in refusals:
        if (journey.id, event.id) not in recorded:
            record_event(
                session,
                ENTRY_REFUSED,
                "journey",
                journey.id,
                None,
                customer_id=event.customer_id,
                event_id=event.id,
                why=why,
            )


def refused_before(session: Session, pairs: Sequence[tuple[Journey, CustomerEvent]]) -> set[tuple[int, int]]:
    """The (journey id, event id) pairs among `pairs` whose refusal is already recorded, in one read: a refusal
    comes after its event was recorded, so only the refusals since the earliest of them are looked at (the
    events' index on kind and time)."""
    if not pairs:
        return set()
    event_id = DomainEvent.payload["event_id"].as_integer()
    rows = session.execute(
        select(DomainEvent.subject_id, event_id).where(
            DomainEvent.kind == ENTRY_REFUSED,
            DomainEvent.occurred_at >= min(event.recorded_at for _, event in pairs),
            DomainEvent.subject_type == "journey",
            DomainEvent.subject_id.in_({journey.id for journey, _ in pairs}),
            event_id.in_({event.id for _, event in pairs}),
        )
    )
    return {(journey_id, found) for journey_id, found in rows}


def _insert_guarded(session: Session, row: Any) -> Any:
    """Add a row whose unique keys may already be taken by a concurrent twin: the row as stored, or None when they
    were taken. On PostgreSQL one INSERT ... ON CONFLICT DO NOTHING RETURNING (no savepoint round trips): the row
    comes back as the session's object, in the same statement."""
    if session.get_bind().dialect.name == "sqlite":
        session.add(row)  # SQLite serialises writers; the checks before this were made under its lock
        session.flush()
        return row
    kind = type(row)
    values = {attr.key: getattr(row, attr.key) for attr in sa_inspect(kind).column_attrs if attr.key in row.__dict__}
    statement = postgresql.insert(kind).values(**values).on_conflict_do_nothing().returning(kind)
    return session.scalars(statement).first()


# --- steps ---------------------------------------------------------------------------------------------------


def start_step(
    session: Session, enrollment: JourneyEnrollment, definition: JourneyDefinition, key: str, now: datetime
) -> None:
    """Run the flow from step `key` until it waits, holds or ends."""
    for _ in range(MAX_CHAIN):
        if enrollment.state is not EnrollmentState.ACTIVE:
            return
        if key == END:
            end_flow(session, enrollment, now)
            return
        step = definition.step(key)
        enrollment.current_step = key
        run = new_run(enrollment, step, now)
        exists = (
            session.scalars(
                select(JourneyStepRun.id).where(
                    JourneyStepRun.enrollment_id == enrollment.id, JourneyStepRun.step_key == key
                )
            ).first()
            if session.get_bind().dialect.name == "sqlite"  # elsewhere the unique key and a savepoint decide
            else None
        )
        if exists is not None or (run := _insert_guarded(session, run)) is None:
            return  # this step ran already: whoever ran it carried the flow on
        following = execute(session, run, enrollment, definition, step, now)
        if following is None:
            return
        key = following
    log.error("journey enrollment %s: flow too long, stopped at %s", enrollment.id, key)


def new_run(enrollment: JourneyEnrollment, step: Step, now: datetime) -> JourneyStepRun:
    """A step's run as it is inserted: pending, or a wait or condition already begun (`execute` then changes
    nothing: no UPDATE)."""
    run = JourneyStepRun(
        enrollment_id=enrollment.id,
        journey_id=enrollment.journey_id,
        step_key=step.key,
        step_kind=step.kind,
        state=StepRunState.PENDING,
        due_at=now,
        wake_at=None,
        held_count=0,
        detail={},
        created_at=now,
        updated_at=now,
    )
    if step.wait is not None or step.condition is not None:
        waiting(run, step, now)
    return run


def end_flow(session: Session, enrollment: JourneyEnrollment, now: datetime) -> None:
    enrollment.current_step = None
    enrollment.flow_ended_at = enrollment.flow_ended_at or now
    progress.maybe_complete(session, enrollment, now)


def execute(
    session: Session,
    run: JourneyStepRun,
    enrollment: JourneyEnrollment,
    definition: JourneyDefinition,
    step: Step,
    now: datetime,
) -> str | None:
    """Run a due step; answers the step the flow goes on to now, or None when it waits here."""
    if step.wait is not None or step.condition is not None:
        waiting(run, step, now)
        session.flush()
        return None
    assert step.action is not None
    if definition.quiet_hours is not None and (opens := quiet_until(definition.quiet_hours, now)) is not None:
        hold(run, HoldReason.QUIET_HOURS, opens)
        session.flush()
        return None
    if (cap := message_cap(definition, step)) is not None:
        audience = audience_of(enrollment)
        if not take_message_slot(session, audience, business_day(now), cap):
            hold(run, HoldReason.FREQUENCY_CAP, next_business_day(now))
            session.flush()
            return None
    dispatch(session, run, enrollment, definition, step, now)
    return definition.following(step.key)


def waiting(run: JourneyStepRun, step: Step, now: datetime) -> None:
    """A wait or a condition begins: the run waits until its time (a condition: for its event, until then)."""
    run.state, run.started_at = StepRunState.WAITING, now
    if step.wait is not None:
        run.wake_at = now + timedelta(hours=step.wait.hours)
    elif step.condition is not None:
        run.waiting_for = step.condition.event
        run.wake_at = now + timedelta(hours=step.condition.within_hours)


def hold(run: JourneyStepRun, reason: HoldReason, until: datetime) -> None:
    run.state, run.hold_reason, run.wake_at = StepRunState.HELD, reason, until
    run.held_count = (run.held_count or 0) + 1
    run.detail = {**run.detail, "held_until": until.isoformat(), "held_for": reason.label}


# --- quiet hours and the frequency cap ----------------------------------------------------------------------


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """When the quiet window that `now` falls in ends (business time); None outside it."""
    tz = business_tz()
    local = now.astimezone(tz)
    moment = local.timetz().replace(tzinfo=None)
    start, end = quiet.start, quiet.end
    today_end = datetime.combine(local.date(), end, tz)
    if start < end:
        return today_end if start <= moment < end else None
    if moment >= start:
        return today_end + timedelta(days=1)
    return today_end if moment < end else None


def business_day(now: datetime) -> date:
    return now.astimezone(business_tz()).date()


def next_business_day(now: datetime) -> datetime:
    """Midnight that starts the next day, business time (quiet hours then still apply when it goes)."""
    tz = business_tz()
    return datetime.combine(business_day(now) + timedelta(days=1), datetime.min.time(), tz)


def message_cap(definition: JourneyDefinition, step: Step) -> int | None:
    """The frequency cap the step's message counts against; None when it counts against none."""
    if definition.frequency_cap is None or step.kind not in MESSAGE_KINDS:
        return None
    return definition.frequency_cap.per_contact_per_day


def audience_of(enrollment: JourneyEnrollment) -> str:
    return f"contact:{enrollment.contact_id}" if enrollment.contact_id else f"customer:{enrollment.customer_id}"


def take_message_slot(session: Session, audience: str, day: date, cap: int) -> bool:
    """Count one journey message for `audience` on `day` unless `cap` are counted already (one atomic statement:
    two workers never both take the last slot)."""
    return take_message_slots(session, [(audience, cap)], day)[0]


def take_message_slots(session: Session, wanted: Sequence[tuple[str, int]], day: date) -> list[bool]:
    """`take_message_slot` for many (audience, cap) at once, in their order: one atomic statement for the distinct
    audiences of one cap (an audience named again takes its next slot in a statement after)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(JourneyMessageCount)
    table = JourneyMessageCount.__table__
    rounds: dict[tuple[int, int], list[int]] = {}
    named: Counter[str] = Counter()
    for index, (audience, cap) in enumerate(wanted):
        rounds.setdefault((named[audience], cap), []).append(index)
        named[audience] += 1
    taken = [False] * len(wanted)
    for (_, cap), indexes in sorted(rounds.items()):
        statement = (
            insert.values([{"audience": wanted[i][0], "day": day, "sent": 1} for i in indexes])
            .on_conflict_do_update(
                index_elements=[table.c.audience, table.c.day],
                set_={"sent": table.c.sent + 1},
                where=table.c.sent < cap,
            )
            .returning(table.c.audience)
        )
        counted = set(session.execute(statement).scalars())
        for i in indexes:
            taken[i] = wanted[i][0] in counted
    return taken


def messages_counted(session: Session, audience: str, day: date) -> int:
    return (
        session.scalar(
            select(JourneyMessageCount.sent).where(
                JourneyMessageCount.audience == audience, JourneyMessageCount.day == day
            )
        )
        or 0
    )


# --- actions ----------------------------------------------------------------------------------------------------


def dispatch(
    session: Session,
    run: JourneyStepRun,
    enrollment: JourneyEnrollment,
    definition: JourneyDefinition,
    step: Step,
    now: datetime,
) -> None:
    """Carry out an action step: message, card, task, ticket part or e-mail, to its owners."""
    action, owner = step.action, step.owner
    assert action is not None and owner is not None
    customer = enrollment.customer
    going_out(run, now)
    with session.no_autoflush:  # the run's changes go in with the first message's row: one UPDATE, not three
        people = owner_rules.owners(session, owner, customer)
        if not people:
            no_owner(run, owner)
            session.flush()
            return
        primary = people[0]
        sla_due = rule_time(session).after(now, action.sla_hours) if action.sla_hours else None
        sent(run, primary, sla_due, now)
        material = session.get(Material, action.material_id) if action.material_id else None
        link = material_link(session, material, enrollment, customer.owner)
    text = render(action.text, enrollment, customer, material, link, sla_due)
    journey_name = enrollment.journey.name
    kind = action.type
    if kind == "ticket_part":
        part = open_part(session, run, enrollment, step, text, now)
        if part is not None:
            run.ticket_part_id, run.sla_due_at = part.id, part.due_at
            run.state, run.outcome, run.wake_at = StepRunState.OPEN, "part_opened", None
            session.flush()
            return  # the collaboration machinery reminds before its deadline and briefs the head when late
        run.detail = {**run.detail, "note": "客户暂无进行中的商机，协同任务改为待办"}
        kind = "task"
    if kind == "task":
        assignee = primary
        if owner.type == "department":
            department = department_named(session, owner.value)
            head = department.head if department is not None else None
            assignee = head if head is not None and owner_rules.live(head) else primary
            run.owner_id = assignee.id
        task = create_task(
            session,
            None,
            assignee_id=assignee.id,
            title=f"{step.title}：{customer.name}"[:300],
            detail=text,
            due_at=sla_due,
            origin="journey",
            subject_type=progress.RUN_SUBJECT,
            subject_id=run.id,
        )
        run.task_id = task.id
        deadline = f"，截止 {local_time(sla_due)}" if sla_due else ""
        for person in [assignee, *[p for p in people if p.id != assignee.id]]:
            engine.tell(
                session,
                person,
                f"【客户旅程·{journey_name}】新待办：{step.title}（客户「{customer.name}」{deadline}）\n{text}",
                key=f"journey:{run.id}:task:{person.wecom_userid}",
            )
    elif kind == "card" and link:
        for person in people:
            notifications.notify(
                session,
                notifications.CardToMember(
                    person.wecom_userid,
                    f"【客户旅程】{step.title}",
                    text + (f"\n截止 {local_time(sla_due)}" if sla_due else ""),
                    link,
                    button="打开素材",
                    key=f"journey:{run.id}:card:{person.wecom_userid}",
                ),
            )
    elif kind in ("message", "card"):
        for person in people:
            engine.tell(
                session,
                person,
                message_text(journey_name, step, text, material, link, sla_due),
                key=message_key(run, person),
            )
    elif kind == "email":
        subject = render(action.subject, enrollment, customer, material, link, sla_due) if action.subject else None
        send_email(session, run, people, step, text, journey_name, customer, subject)
    if sla_due is not None:
        if run.task_id is None and kind in ("message", "card", "email"):
            # Finished by its task, as every step with a deadline is: the owner marks it done.
            task = create_task(
                session,
                None,
                assignee_id=primary.id,
                title=f"{step.title}：{customer.name}"[:300],
                detail=text,
                due_at=sla_due,
                origin="journey",
                subject_type=progress.RUN_SUBJECT,
                subject_id=run.id,
            )
            run.task_id = task.id
    session.flush()


def going_out(run: JourneyStepRun, now: datetime) -> None:
    """An action step is carried out now (no longer held)."""
    run.started_at, run.hold_reason, run.wake_at = now, None, None


def sent(run: JourneyStepRun, primary: User, sla_due: datetime | None, now: datetime) -> None:
    """What the step is once its action went out: done, or open until its owner finishes it."""
    run.owner_id, run.sla_due_at = primary.id, sla_due
    if sla_due is None:
        run.state, run.outcome, run.done_at = StepRunState.DONE, "sent", now
    else:
        run.state, run.outcome, run.wake_at = StepRunState.OPEN, "sent", sla_due


def no_owner(run: JourneyStepRun, owner: Any) -> None:
    run.state, run.outcome = StepRunState.FAILED, "no_owner"
    run.detail = {**run.detail, "why": f"找不到负责人（{owner.label()}）"}


def message_text(
    journey_name: str, step: Step, text: str, material: Material | None, link: str | None, sla_due: datetime | None
) -> str:
    extra = f"\n素材：{titled(material)}{(' ' + link) if link else ''}" if material is not None else ""
    deadline = f"\n截止 {local_time(sla_due)}" if sla_due else ""
    return f"【客户旅程·{journey_name}】{step.title}\n{text}{extra}{deadline}"


def message_key(run: JourneyStepRun, person: User) -> str:
    return f"journey:{run.id}:msg:{person.wecom_userid}"


def send_email(
    session: Session,
    run: JourneyStepRun,
    people: list[User],
    step: Step,
    text: str,
    journey_name: str,
    customer: Customer,
    subject: str | None = None,
) -> None:
    """An e-mail to the owners who have an address (after commit, SMTP); the others get the text in WeCom."""
    subject = subject or f"【客户旅程·{journey_name}】{step.title}：{customer.name}"
    addressed = [p for p in people if p.email]
    if addressed and current_settings().smtp.host:
        html = "<html><body>" + "".join(f"<p>{_escape(line)}</p>" for line in text.splitlines()) + "</body></html>"
        notifications.notify(
            session, notifications.EmailBrief(tuple(p.email for p in addressed if p.email), subject, text, html)
        )
        run.detail = {**run.detail, "emailed_to": [p.email for p in addressed]}
        people = [p for p in people if not p.email]
    for person in people:
        engine.tell(session, person, f"{subject}\n{text}", key=f"journey:{run.id}:mail:{person.wecom_userid}")


def _escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_part(
    session: Session, run: JourneyStepRun, enrollment: JourneyEnrollment, step: Step, text: str, now: datetime
) -> TicketPart | None:
    """The department's part on a collaboration ticket of the customer's latest open deal; None without a deal."""
    assert step.action is not None and step.owner is not None and step.action.sla_hours
    department = department_named(session, step.owner.value)
    opp = session.scalars(
        select(Opportunity)
        .where(
            Opportunity.customer_id == enrollment.customer_id,
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
        )
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
    ).first()
    if department is None or opp is None:
        return None
    reason = f"客户旅程「{enrollment.journey.name}」"[:200]
    ticket = CollaborationTicket(opportunity_id=opp.id, opened_by_id=opp.owner_id, reason=reason, opened_at=now)
    session.add(ticket)
    session.flush()
    sla = ceil(step.action.sla_hours)
    part = TicketPart(
        ticket_id=ticket.id,
        department_id=department.id,
        request=text[:2000],
        sla_hours=sla,
        due_at=rule_time(session).after(now, sla),
        created_at=now,
    )
    session.add(part)
    session.flush()
    record_event(
        session,
        "collaboration.ticket_opened",
        "ticket",
        ticket.id,
        None,
        opportunity_id=opp.id,
        part_ids=[part.id],
        journey_run_id=run.id,
    )
    ticket_notices.notify_opened(session, part)
    return part


def material_link(session: Session, material: Material | None, enrollment: JourneyEnrollment, rep: User) -> str | None:
    """A tracked 雷达 link of the material for the customer's contact, shared in the rep's name (the rep hears when
    it is opened, read, downloaded; the journey's conditions hear it too); the material's page when the link cannot
    be made (a material not published yet)."""
    if material is None:
        return None
    try:
        return radar.share_link(session, rep, material.id, enrollment.customer_id, contact_id=enrollment.contact_id).url
    except DomainError:
        base = current_settings().public_url
        return f"{base}/materials/{material.id}" if base else None


def titled(material: Material) -> str:
    """《title》, once (the library's titles may carry their brackets already)."""
    return f"《{material.title.strip().removeprefix('《').removesuffix('》')}》"


def render(
    template: str,
    enrollment: JourneyEnrollment,
    customer: Customer,
    material: Material | None,
    link: str | None,
    sla_due: datetime | None,
) -> str:
    contact = enrollment.contact
    values = {
        "客户": customer.name,
        "联系人": (contact.name + (f"（{contact.title}）" if contact.title else "")) if contact else "客户联系人",
        "销售": customer.owner.name,
        "素材": titled(material) if material else "资料",
        "链接": link or "",
        "截止": local_time(sla_due) if sla_due else "尽快",
        "旅程": enrollment.journey.name,
    }
    return re.sub(PLACEHOLDER, lambda m: values.get(m.group(1), m.group(0)), template).strip()


# --- advancing what is due --------------------------------------------------------------------------------------


def due_run_ids(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Runs the runner must look at now, the longest due first (ix_journey_step_runs_wake_at: only these are read)."""
    return list(
        session.scalars(
            select(JourneyStepRun.id)
            .where(JourneyStepRun.wake_at.is_not(None), JourneyStepRun.wake_at <= now)
            .order_by(JourneyStepRun.wake_at)
            .limit(limit)
        )
    )


def advance(session: Session, run_id: int, now: datetime) -> str | None:
    """Act on one due run; answers what was done, None when it was not due (any more)."""
    claimed = session.execute(
        update(JourneyStepRun)
        .where(JourneyStepRun.id == run_id, JourneyStepRun.wake_at.is_not(None), JourneyStepRun.wake_at <= now)
        .values(wake_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return None  # another worker has it, or it is not due any more
    run = session.get(JourneyStepRun, run_id, populate_existing=True)
    assert run is not None
    enrollment = run.enrollment
    if enrollment.state is not EnrollmentState.ACTIVE and run.state is not StepRunState.OPEN:
        return None
    definition = definition_of(enrollment.journey)
    if definition is None or not definition.has_step(run.step_key):
        run.state, run.outcome = StepRunState.CANCELLED, "step_removed"
        run.detail = {**run.detail, "why": "旅程已修改，该步骤已不存在"}
        session.flush()
        progress.maybe_complete(session, enrollment, now)
        return "cancelled"
    step = definition.step(run.step_key)
    if run.state in (StepRunState.PENDING, StepRunState.HELD):
        following = execute(session, run, enrollment, definition, step, now)
        if following is not None:
            start_step(session, enrollment, definition, following, now)
        return "held" if run.state is StepRunState.HELD else "ran"
    if run.state is StepRunState.WAITING and step.wait is not None:
        run.state, run.done_at, run.outcome = StepRunState.DONE, now, "waited"
        session.flush()
        start_step(session, enrollment, definition, definition.following(run.step_key), now)
        return "waited"
    if run.state is StepRunState.WAITING and step.condition is not None:
        happened = condition_event(session, run, enrollment, step)
        decide(session, run, enrollment, definition, step, now, taken=happened is not None)
        return "then" if happened is not None else "else"
    if run.state is StepRunState.OPEN and step.action is not None and run.sla_due_at is not None:
        return sla_tick(session, run, enrollment, step, now)
    # The step was changed into another kind since this run began (a new version): it ends here.
    run.state, run.outcome, run.wake_at = StepRunState.CANCELLED, "step_changed", None
    run.detail = {**run.detail, "why": "旅程已修改，该步骤已改为其他类型"}
    session.flush()
    progress.maybe_complete(session, enrollment, now)
    return "cancelled"


def condition_event(
    session: Session, run: JourneyStepRun, enrollment: JourneyEnrollment, step: Step
) -> CustomerEvent | None:
    """The event the condition waits for, if it happened within its time (ix_customer_events_customer_occurred)."""
    assert step.condition is not None and run.started_at is not None
    return session.scalars(
        select(CustomerEvent)
        .where(
            CustomerEvent.customer_id == enrollment.customer_id,
            CustomerEvent.kind == step.condition.event,
            CustomerEvent.occurred_at >= run.started_at,
            CustomerEvent.occurred_at <= run.started_at + timedelta(hours=step.condition.within_hours),
        )
        .order_by(CustomerEvent.occurred_at)
        .limit(1)
    ).first()


def decide(
    session: Session,
    run: JourneyStepRun,
    enrollment: JourneyEnrollment,
    definition: JourneyDefinition,
    step: Step,
    now: datetime,
    *,
    taken: bool,
) -> None:
    assert step.condition is not None
    run.state, run.done_at, run.wake_at = StepRunState.DONE, now, None
    run.outcome = "then" if taken else "else"
    session.flush()
    start_step(session, enrollment, definition, step.condition.then if taken else step.condition.else_, now)


def settle_conditions(
    session: Session, enrollment: JourneyEnrollment, definition: JourneyDefinition, event: CustomerEvent, now: datetime
) -> list[int]:
    """Conditions of this enrollment waiting for this event's kind, decided now (the then branch)."""
    settled: list[int] = []
    if not any(step.condition is not None for step in definition.steps):
        return settled  # a journey without conditions has none waiting: no read
    waiting = session.scalars(
        select(JourneyStepRun).where(
            JourneyStepRun.enrollment_id == enrollment.id,
            JourneyStepRun.state == StepRunState.WAITING,
            JourneyStepRun.waiting_for == event.kind,
        )
    ).all()
    for run in waiting:
        if not definition.has_step(run.step_key):
            continue
        step = definition.step(run.step_key)
        if step.condition is None or run.started_at is None:
            continue
        if not run.started_at <= event.occurred_at <= run.started_at + timedelta(hours=step.condition.within_hours):
            continue
        claimed = session.execute(
            update(JourneyStepRun)
            .where(JourneyStepRun.id == run.id, JourneyStepRun.state == StepRunState.WAITING)
            .values(wake_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            continue
        session.refresh(run)
        if run.state is not StepRunState.WAITING:
            continue
        decide(session, run, enrollment, definition, step, now, taken=True)
        settled.append(run.id)
    return settled


# --- deadlines: the reminder at the SLA, the escalation after -------------------------------------------------


def sla_tick(session: Session, run: JourneyStepRun, enrollment: JourneyEnrollment, step: Step, now: datetime) -> str:
    assert step.action is not None and run.sla_due_at is not None
    owner = session.get(User, run.owner_id) if run.owner_id else None
    customer = enrollment.customer
    escalate_at = run.sla_due_at + timedelta(hours=step.action.escalate_after_hours)
    if run.reminded_at is None:
        run.reminded_at = now
        run.wake_at = escalate_at
        session.flush()
        engine.tell(
            session,
            owner,
            f"【客户旅程提醒】「{step.title}」（客户「{customer.name}」）已到截止时间 {local_time(run.sla_due_at)}，"
            f"请尽快完成并在待办里点完成；{local_time(escalate_at)} 仍未完成将告知您的上级。",
            key=f"journey:{run.id}:remind",
        )
        return "reminded"
    if run.escalated_at is None:
        run.escalated_at = now
        session.flush()
        boss = owner_rules.escalation_target(session, owner) if owner is not None else None
        late = f"已超过截止时间 {local_time(run.sla_due_at)}"
        title = f"客户旅程步骤超时：{step.title}"
        alert = engine.raise_alert(
            session,
            rule=SLA_RULE,
            subject_type="customer",
            subject_id=customer.id,
            episode=progress.escalation_episode(run.id),
            title=f"{title}（{customer.name}）"[:300],
            now=now,
            detail={"journey_id": enrollment.journey_id, "run_id": run.id, "step_key": run.step_key},
            recipient_ids=[boss.id] if boss else [],
        )
        if alert is not None and boss is not None:
            engine.notify(
                session,
                alert,
                boss,
                f"【客户旅程升级】{owner.name if owner else '负责人'}负责的「{step.title}」（客户「{customer.name}」，"
                f"旅程「{enrollment.journey.name}」）{late}仍未完成，请督促。",
                tag="escalated",
            )
        return "escalated"
    return "idle"


# --- leaving -----------------------------------------------------------------------------------------------------


def exit_enrollment(session: Session, enrollment: JourneyEnrollment, now: datetime, reason: str) -> bool:
    """Take the customer out: unfinished steps cancelled (their open tasks too, and the manager's alerts for the
    late ones resolved); False when already out."""
    changed = session.execute(
        update(JourneyEnrollment)
        .where(JourneyEnrollment.id == enrollment.id, JourneyEnrollment.state == EnrollmentState.ACTIVE)
        .values(
            state=EnrollmentState.EXITED, exited_at=now, exit_reason=reason[:200], current_step=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return False
    session.refresh(enrollment)
    runs = session.scalars(
        select(JourneyStepRun).where(
            JourneyStepRun.enrollment_id == enrollment.id, JourneyStepRun.state.in_(progress.UNFINISHED)
        )
    ).all()
    for run in runs:
        run.state, run.wake_at, run.outcome = StepRunState.CANCELLED, None, "exited"
        progress.settle_escalation(session, run, now, f"客户已退出旅程（{reason}）")
        if run.task_id is not None:
            task = session.get(Task, run.task_id)
            if task is not None and task.status is TaskStatus.OPEN:
                task.status = TaskStatus.CANCELLED
    session.flush()
    return True
