"""Read a rep's free text: summary, next action and its due time ("下一步：下周二送样").

Dates and clock times are understood once, by `salesnav.voice.draft` (the same reading a voice note
gets), in the business time zone; a day without a time means the end of the working day there. The
chat shows the action without its date phrase, next to the resolved due time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from salesnav.voice.draft import due_from, strip_when

_NEXT_STEP = re.compile(r"下一步(?:计划|动作)?\s*[:：,，]?\s*")
_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]")


@dataclass(frozen=True)
class NextStep:
    summary: str
    action: str | None
    due: datetime | None  # aware, UTC


def parse_due(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, str]:
    """The deadline `text` names as an aware UTC datetime, and the text without its date phrase."""
    due = due_from(text, now, tz)
    if due is None:
        return None, text
    return due.astimezone(UTC), strip_when(text)


def split_next_step(text: str, now: datetime, tz: ZoneInfo) -> NextStep:
    """Summary and next action from one message.

    "下一步…" marks the action explicitly; otherwise the clause holding a date phrase is the action.
    Without either there is no next action and the whole text is the summary.
    """
    text = (text or "").strip()
    marker = _NEXT_STEP.search(text)
    if marker:
        action_text = text[marker.end() :].strip()
        summary = text[: marker.start()].strip(" ，,。；;")
        due, action = parse_due(action_text, now, tz)
        return NextStep(summary or text, action or action_text or None, due)
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    for clause in clauses:
        due, action = parse_due(clause, now, tz)
        if due is not None:
            return NextStep(text, action or clause, due)
    return NextStep(text, None, None)
