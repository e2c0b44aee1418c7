"""The touchpoint rows: type, emotion, summary, next action, contacts, attachments and entry times.

Whether a record is complete, effective-but-incomplete or ineffective is spread evenly in time order, and each
incomplete one misses exactly one visible thing, so the completeness figures hold in every window.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from salesnav.demo import vocab
from salesnav.demo.baseline import (
    BEIJING,
    CLEAN_SOURCE_WEIGHTS,
    COMPLETE_SHARE,
    EFFECTIVE_SHARE,
    EMOTION_WEIGHTS,
    ENTRY_MEDIAN_SECONDS,
    GUESSED_BY_SOURCE,
    GUESSED_SOURCE_WEIGHTS,
    SOURCE_WEIGHTS,
    TYPE_WEIGHTS,
)
from salesnav.demo.plan.records import PlannedTouchpoint
from salesnav.models import CaptureSource, TouchpointType

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_touchpoint_rows(plan: DemoPlan) -> None:
    """Rows in id order; completeness classes spread in time order so every window has the baseline:
    63 % effective (4.2 a rep a week), 31 % complete records."""
    touches = sorted((t for c in plan.custs for t in c.touches), key=lambda t: (t.occurred_at, t.cust.id))
    effective = plan.spread(len(touches), EFFECTIVE_SHARE)
    complete = iter(plan.spread(sum(effective), COMPLETE_SHARE / EFFECTIVE_SHARE))
    for touch, is_effective in zip(touches, effective, strict=True):
        touch.record = ("complete" if next(complete) else "effective") if is_effective else "ineffective"
    for cust in plan.custs:
        deal_products = [d.product for d in cust.deals]
        for touch in cust.touches:
            product = touch.deal.product if touch.deal else plan.rng.choice(deal_products or [plan.product()])
            _touch_row(plan, touch, product)
    _calibrate_entry_times(plan)


def _touch_row(plan: DemoPlan, touch: PlannedTouchpoint, product: str) -> None:
    """One touchpoint. Complete: effective, a summary, an emotion the rep chose, every participant's
    decision role known, and (面访) an attachment. Effective but incomplete: exactly one of those missing.
    Not effective: no next action, no due time or no customer-side participant."""
    rng, cust = plan.rng, touch.cust
    tp_type = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
    touch.emotion = rng.choices(list(EMOTION_WEIGHTS), list(EMOTION_WEIGHTS.values()))[0]
    defect = None
    if touch.record == "effective":
        options = {"emotion": 45, "summary": 15, "role": 30 if cust.roleless else 0}
        if tp_type is TouchpointType.VISIT:
            options["attachment"] = 90
        defect = rng.choices(list(options), list(options.values()))[0]
    elif touch.record == "ineffective":
        defect = rng.choices(("action", "due", "contacts"), (50, 20, 30))[0]
    if touch.record == "complete" or defect in ("summary", "attachment"):
        source = rng.choices(list(CLEAN_SOURCE_WEIGHTS), list(CLEAN_SOURCE_WEIGHTS.values()))[0]
    elif defect == "emotion":
        source = rng.choices(list(GUESSED_SOURCE_WEIGHTS), list(GUESSED_SOURCE_WEIGHTS.values()))[0]
    else:
        source = rng.choices(list(SOURCE_WEIGHTS), list(SOURCE_WEIGHTS.values()))[0]
    if defect == "summary":
        source = CaptureSource.CHAT_BUTTON  # a quick button tap: next action and who, no notes
    guessed = list(GUESSED_BY_SOURCE.get(source, ())) if touch.record != "complete" else []
    if defect == "emotion" and "emotion" not in guessed:
        guessed.append("emotion")
    if defect == "role" or (touch.record == "ineffective" and cust.roleless and rng.random() < 0.3):
        present = [cust.roleless[0], *rng.sample(cust.roled, min(len(cust.roled), rng.choice((0, 1))))]
    elif defect == "contacts":
        present = []
    else:
        present = rng.sample(cust.roled, min(len(cust.roled), rng.choices((1, 2), (70, 30))[0]))
    who = f"{present[0][2]}{present[0][1]}" if present else "相关科室"
    summary = (
        ""
        if defect == "summary"
        else vocab.TOUCH_OPENINGS[tp_type.value].format(who=who, expo=rng.choice(vocab.EXPOS))
        + "，"
        + rng.choice(vocab.TOUCH_TOPICS).format(product=product)
        + "；"
        + rng.choice(vocab.REACTIONS[touch.emotion.value])
        + "。"
    )
    next_action = None if defect == "action" else rng.choice(vocab.NEXT_ACTIONS).format(product=product, who=who)
    due = None
    if defect not in ("action", "due"):
        day = (touch.occurred_at + BEIJING).replace(hour=0, minute=0, second=0) - BEIJING
        due = day + timedelta(days=rng.randint(1, 7), hours=rng.randint(10, 17))
    attachments: list[int] = []
    files = plan.rep_attachments[cust.owner_id]
    if (
        tp_type is TouchpointType.VISIT
        and defect != "attachment"
        and (touch.record == "complete" or rng.random() < 0.5)
    ):
        attachments = rng.sample(files, rng.choice((1, 2)))
    elif tp_type is not TouchpointType.VISIT and rng.random() < 0.08:
        attachments = [files[0]]  # a photo sent over WeChat
    submitted, opened = _entry_times(plan, touch.occurred_at, source)
    plan.rows["touchpoints"].append(
        {
            "id": touch.id,
            "customer_id": cust.id,
            "rep_id": cust.owner_id,
            "opportunity_id": None,
            "type": tp_type,
            "emotion": touch.emotion,
            "summary": summary,
            "next_action": next_action,
            "next_action_due": due,
            "occurred_at": touch.occurred_at,
            "source": source,
            "form_opened_at": opened,
            "submitted_at": submitted,
            "attachments": attachments,
            "guessed_fields": guessed,
            "created_at": submitted,
            "updated_at": submitted,
        }
    )
    if touch.deal is not None:
        plan.updates["touchpoints"].append({"id": touch.id, "opportunity_id": touch.deal.id})
    plan.rows["touchpoint_contacts"].extend({"touchpoint_id": touch.id, "contact_id": c[0]} for c in present)


def _entry_times(plan: DemoPlan, occurred: datetime, source: CaptureSource) -> tuple[datetime, datetime | None]:
    """Submit time and form-open time. Excel imports have no form: they arrive days later in one batch."""
    latest = max(occurred, min(plan.now, occurred + timedelta(days=30)) - timedelta(seconds=30))
    if source is CaptureSource.EXCEL_IMPORT:
        return min(occurred + timedelta(days=plan.rng.randint(1, 10)), latest), None
    submitted = min(occurred + timedelta(minutes=plan.rng.randint(2, 180)), latest)
    seconds = max(20, round(ENTRY_MEDIAN_SECONDS * plan.rng.lognormvariate(0, 0.55)))
    return submitted, submitted - timedelta(seconds=seconds)


def _calibrate_entry_times(plan: DemoPlan) -> None:
    """Scale entry durations so that each 30-day block's median is exactly the article's 6 min 14 s (then
    any 30-day window's median is too, give or take a few seconds)."""
    blocks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in plan.rows["touchpoints"]:
        if row["form_opened_at"] is not None:
            blocks[(plan.day0 - row["occurred_at"]).days // 30].append(row)
    plan.entry_seconds = []
    for rows in blocks.values():
        seconds = [(r["submitted_at"] - r["form_opened_at"]).total_seconds() for r in rows]
        factor = ENTRY_MEDIAN_SECONDS / statistics.median(seconds)
        for row, s in zip(rows, seconds, strict=True):
            row["form_opened_at"] = row["submitted_at"] - timedelta(seconds=round(s * factor))
            plan.entry_seconds.append(round(s * factor))
