"""The Level 1 figures from maintained aggregates: sums per local day × rep, kept current by change markers.

Why: computing the Level 1 page from the records reads months of touchpoints (the 30-day window, the 90-day
decision-chain lookback, eight trend weeks) and costs about a second at a million touchpoints, more as
history grows. Here each whole local day of a window is read from `MetricDayRep` (one row per day and rep:
a 30-day company window is 30 × reps rows however long the history), and a part of a day (today so far, a
window starting mid-day) from the records — both through the same cell functions, the metrics' definitions
(`touchpoint_cells`, `transition_cells`, `part_cells`). A team's figures add up its reps' rows.

How they stay current: triggers (migration 0027) write a `MetricChange` row in the writer's transaction
for every write that can move a cell — the record's rep and moment, and for a touchpoint its customer,
whose coverage it changes for the following lookback days. `refresh` (the clock, every 30 s) recomputes the
marked cells from the records and deletes exactly the markers it read: a change committed meanwhile has its
own marker, read next time. An edit marks the old and the new cell, so moves between days and reps
(an edited date, a reassigned customer or deal), retirements and imports of old history are all folded in.

`rebuild` recomputes every cell (the CLI `salesnav metrics rebuild`, and `refresh` by itself when the
cells were built with another time zone or other metric settings); on PostgreSQL with set-based SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, func, insert, select, text, union
from sqlalchemy.orm import Session

from salesnav.metrics.activity import DECISION_ROLE_COUNT, EMOTION_VALUE, touchpoint_cells
from salesnav.metrics.collaboration import part_cells
from salesnav.metrics.days import Piece, day_of, day_window, midnight, pieces
from salesnav.metrics.pipeline import (
    BaselineGroup,
    Funnel,
    baseline_cells,
    conversion_funnel,
    stage_advancement_deviation,
    transition_cells,
)
from salesnav.metrics.results import Ratio
from salesnav.metrics.scope import Scope, ScopeKind, Window
from salesnav.models import (
    MetricAggregateState,
    MetricChange,
    MetricDayRep,
    MetricFirstTouch,
    MetricStageDay,
    Opportunity,
    StageTransition,
    TicketPart,
    Touchpoint,
    User,
    setting_areas,
)
from salesnav.models.metric_aggregates import CELL_COLUMNS
from salesnav.models.touchpoints import ANY_CONTACT_BIT, CONTACT_ROLE_BITS

STATE_ID = 1
BATCH = 20_000  # markers folded in per transaction
DAYS_PER_QUERY = 31


@dataclass(frozen=True)
class Sums:
    """The sums the Level 1 metrics divide, over some days and reps (the columns of `MetricDayRep`)."""

    touchpoints: float = 0
    effective: float = 0
    quality: float = 0
    stage_changes: float = 0
    compliant_changes: float = 0
    parts_due: float = 0
    parts_on_time: float = 0
    parts_opened: float = 0
    parts_answered: float = 0

    def __add__(self, other: Sums) -> Sums:
        return Sums(*(getattr(self, c) + getattr(other, c) for c in CELL_COLUMNS))


@dataclass(frozen=True)
class Params:
    tz: ZoneInfo
    lookback_days: int
    first_response_hours: int

    @property
    def key(self) -> str:
        return f"tz={self.tz.key};lookback={self.lookback_days};first_response={self.first_response_hours}"


def params(session: Session, tz: ZoneInfo) -> Params:
    area = setting_areas.dashboard(session)
    return Params(tz, area.quality_lookback_days, area.first_response_hours)


def state(session: Session) -> MetricAggregateState | None:
    return session.get(MetricAggregateState, STATE_ID)


def ready(session: Session, tz: ZoneInfo) -> MetricAggregateState | None:
    """The aggregates' state if they were built with the current time zone and settings, else None (then the
    figures are computed from the records)."""
    kept = state(session)
    if kept is None or kept.built_with != params(session, tz).key:
        return None
    return kept


# --- computing cells from the records (the definitions) ------------------------------------------------


def computed_cells(session: Session, rows: Sequence[Piece], scope: Scope, p: Params) -> dict[tuple[int, int], Sums]:
    """Sums per (index of the piece in `rows`, rep in scope), from the records."""
    cells: dict[tuple[int, int], Sums] = defaultdict(Sums)
    for key, t in touchpoint_cells(session, rows, scope, p.tz, p.lookback_days).items():
        cells[key] += Sums(touchpoints=t.touchpoints, effective=t.effective, quality=t.quality)
    for key, s in transition_cells(session, rows, scope).items():
        cells[key] += Sums(stage_changes=s.changes, compliant_changes=s.compliant)
    for key, q in part_cells(session, rows, scope, p.first_response_hours).items():
        cells[key] += Sums(parts_due=q.due, parts_on_time=q.on_time, parts_opened=q.opened, parts_answered=q.answered)
    return dict(cells)


def recompute(session: Session, cells: Iterable[tuple[date, int]], p: Params) -> int:
    """Recompute the given (day, rep) cells from the records; returns how many cells were written or cleared.
    Every rep of a span on every day of it is recomputed (a few cells more than marked, each right): on
    PostgreSQL by the backfill's set-based statement limited to the span and reps, elsewhere by the cell
    functions."""
    by_day: dict[date, set[int]] = defaultdict(set)
    for day, rep in cells:
        by_day[day].add(rep)
    written = 0
    if session.get_bind().dialect.name == "postgresql":
        for chunk in _spans(sorted(by_day), width=366):
            reps = sorted(set().union(*(by_day[d] for d in chunk)))
            first, last = chunk[0], chunk[-1]
            session.execute(
                delete(MetricDayRep).where(
                    MetricDayRep.day >= first, MetricDayRep.day <= last, MetricDayRep.rep_id.in_(reps)
                )
            )
            session.execute(
                text(rebuild_sql(p, limited=True)),
                {
                    "tz": p.tz.key,
                    "hours": p.first_response_hours * 3600,
                    "start": midnight(first, p.tz),
                    "end": midnight(last + timedelta(days=1), p.tz),
                    "look_start": midnight(first - timedelta(days=max(p.lookback_days - 1, 0)), p.tz),
                    "reps": reps,
                },
            )
            written += ((last - first).days + 1) * len(reps)
        return written
    for chunk in _spans(sorted(by_day)):
        reps = sorted(set().union(*(by_day[d] for d in chunk)))
        rows = [pieces(day_window(d, p.tz), p.tz)[0] for d in chunk]
        computed = computed_cells(session, rows, Scope(ScopeKind.TEAM, frozenset(reps)), p)
        # Every rep of the chunk on every day of it is recomputed (a few cells more than marked, each right).
        session.execute(delete(MetricDayRep).where(MetricDayRep.day.in_(chunk), MetricDayRep.rep_id.in_(reps)))
        _insert(session, rows, computed)
        written += len(chunk) * len(reps)
    return written


def _spans(days: list[date], width: int = DAYS_PER_QUERY) -> list[list[date]]:
    """Sorted days in chunks spanning at most `width` calendar days (one query each reads that span)."""
    chunks: list[list[date]] = []
    for day in days:
        if chunks and (day - chunks[-1][0]).days < width:
            chunks[-1].append(day)
        else:
            chunks.append([day])
    return chunks


# --- keeping them current ---------------------------------------------------------------------------------


def refresh(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Fold the pending changes into the cells (or rebuild them when built with other settings); returns the
    markers folded in. Run by the clock every 30 s; a second run at once finds nothing to do."""
    if not _lock(session):
        return 0
    p = params(session, tz)
    if ready(session, tz) is None:
        rebuild(session, now, tz)
        return 0
    folded = 0
    while True:
        markers = session.execute(
            select(MetricChange.id, MetricChange.rep_id, MetricChange.at, MetricChange.customer_id)
            .order_by(MetricChange.id)
            .limit(BATCH)
        ).all()
        if not markers:
            break
        cells = {(day_of(m.at, tz), m.rep_id) for m in markers}
        cells |= _coverage_cells(session, [(m.customer_id, m.at) for m in markers if m.customer_id], p)
        recompute(session, cells, p)
        refresh_first_touches(session, {m.customer_id for m in markers if m.customer_id})
        # A touchpoint's marker names its customer; the others may be a closed deal's closing moment.
        refresh_stage_days(session, {day_of(m.at, tz) for m in markers if not m.customer_id}, p)
        ids = [m.id for m in markers]
        for i in range(0, len(ids), 5000):
            session.execute(delete(MetricChange).where(MetricChange.id.in_(ids[i : i + 5000])))
        folded += len(markers)
        if len(markers) < BATCH:
            break
    _mark_refreshed(session, now, p, rebuilt=False)
    return folded


def _coverage_cells(session: Session, changed: list[tuple[int, datetime]], p: Params) -> set[tuple[date, int]]:
    """The cells whose quality a touchpoint change can move: the customer's live touchpoints on the
    lookback days starting with the changed one's day (their coverage counts that day's contacts)."""
    first: dict[int, date] = {}
    for customer_id, at in changed:
        day = day_of(at, p.tz)
        first[customer_id] = min(day, first.get(customer_id, day))
    cells: set[tuple[date, int]] = set()
    by_day: dict[date, list[int]] = defaultdict(list)
    for customer_id, day in first.items():
        by_day[day].append(customer_id)
    for day, customers in by_day.items():
        start, end = midnight(day, p.tz), midnight(day + timedelta(days=p.lookback_days), p.tz)
        for i in range(0, len(customers), 500):
            rows = session.execute(
                select(Touchpoint.occurred_at, Touchpoint.rep_id).where(
                    Touchpoint.customer_id.in_(customers[i : i + 500]),
                    Touchpoint.occurred_at >= start,
                    Touchpoint.occurred_at < end,
                    Touchpoint.deleted_at.is_(None),
                )
            )
            cells.update((day_of(at, p.tz), rep) for at, rep in rows)
    return cells


def rebuild(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Recompute every cell from the records (after an upgrade, or a change of time zone or metric settings);
    returns the cells written. The markers present before are covered by it and deleted."""
    p = params(session, tz)
    last_marker = session.scalar(select(func.max(MetricChange.id)))
    session.execute(delete(MetricDayRep))
    if session.get_bind().dialect.name == "postgresql":
        _rebuild_postgresql(session, p)
    else:
        _rebuild_cells(session, p)
    session.execute(delete(MetricFirstTouch))
    session.execute(insert(MetricFirstTouch).from_select(["customer_id", "first_at"], _first_touches()))
    session.execute(delete(MetricStageDay))
    refresh_stage_days(session, _closing_days(session, p), p)
    if last_marker is not None:
        session.execute(delete(MetricChange).where(MetricChange.id <= last_marker))
    _mark_refreshed(session, now, p, rebuilt=True)
    return session.scalar(select(func.count()).select_from(MetricDayRep)) or 0


def _rebuild_cells(session: Session, p: Params) -> None:
    """Every day from the first record to the last, for every rep, through the cell functions."""
    for rows, computed in _all_cells(session, p):
        _insert(session, rows, computed)


def _all_cells(session: Session, p: Params) -> Iterator[tuple[list[Piece], dict[tuple[int, int], Sums]]]:
    """The cells of every day from the first record to the last, for every rep, from the records, in chunks."""
    moments = [
        session.execute(select(func.min(c), func.max(c))).one()
        for c in (Touchpoint.occurred_at, StageTransition.occurred_at, TicketPart.due_at, TicketPart.created_at)
    ]
    known = [m for pair in moments for m in pair if m is not None]
    if not known:
        return
    first, last = day_of(min(known), p.tz), day_of(max(known), p.tz)
    reps = frozenset(session.scalars(select(User.id)))
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    for chunk in _spans(days):
        rows = [pieces(day_window(d, p.tz), p.tz)[0] for d in chunk]
        yield rows, computed_cells(session, rows, Scope(ScopeKind.TEAM, reps), p)


def _first_touches(customers: Sequence[int] | None = None) -> Select[int, datetime]:
    """Each customer's first live touchpoint (of `customers`, or of all), from the records."""
    query = select(Touchpoint.customer_id, func.min(Touchpoint.occurred_at)).where(Touchpoint.deleted_at.is_(None))
    if customers is not None:
        query = query.where(Touchpoint.customer_id.in_(customers))
    return query.group_by(Touchpoint.customer_id)


def refresh_first_touches(session: Session, customers: Iterable[int]) -> None:
    """Recompute the first touch of the customers a touchpoint change named (one index probe each)."""
    ordered = sorted(customers)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        session.execute(delete(MetricFirstTouch).where(MetricFirstTouch.customer_id.in_(chunk)))
        session.execute(insert(MetricFirstTouch).from_select(["customer_id", "first_at"], _first_touches(chunk)))


def verify_first_touches(session: Session) -> list[tuple[int, datetime | None, datetime | None]]:
    """The kept first touches against the records: (customer, kept, computed) for each that differs."""
    kept_rows = session.execute(select(MetricFirstTouch.customer_id, MetricFirstTouch.first_at))
    kept: dict[int, datetime] = {c: at for c, at in kept_rows}
    computed: dict[int, datetime] = {c: at for c, at in session.execute(_first_touches())}
    both = sorted(set(kept) | set(computed))
    return [(c, kept.get(c), computed.get(c)) for c in both if kept.get(c) != computed.get(c)]


def _closing_days(session: Session, p: Params) -> list[date]:
    """Every local day from the first deal's closing to the last's."""
    first, last = session.execute(
        select(func.min(Opportunity.closed_at), func.max(Opportunity.closed_at)).where(
            Opportunity.closed_at.is_not(None)
        )
    ).one()
    if first is None or last is None:
        return []
    start, end = day_of(first, p.tz), day_of(last, p.tz)
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


def _stage_day_cells(session: Session, days: Iterable[date], p: Params) -> Iterator[tuple[date, BaselineGroup]]:
    """The baseline groups of the deals closed on each of `days`, from the records (one query per month)."""
    for chunk in _spans(sorted(set(days))):
        rows = [pieces(day_window(d, p.tz), p.tz)[0] for d in chunk]
        for (k, *_), group in baseline_cells(session, rows).items():
            yield rows[k].day, group


def refresh_stage_days(session: Session, days: Iterable[date], p: Params) -> None:
    """Recompute the stage baseline of these closing days from the records."""
    days = sorted(set(days))
    for i in range(0, len(days), 500):
        session.execute(delete(MetricStageDay).where(MetricStageDay.day.in_(days[i : i + 500])))
    values = [
        {
            "day": day,
            "stage_id": g.stage_id,
            "product_line": g.product_line,
            "grade": g.grade,
            "seconds": g.seconds,
            "stays": g.stays,
        }
        for day, g in _stage_day_cells(session, days, p)
    ]
    if values:
        session.execute(insert(MetricStageDay), values)


def verify_stage_days(session: Session, tz: ZoneInfo) -> list[tuple[date, BaselineGroup | None, BaselineGroup | None]]:
    """The kept stage baseline against the records: (day, kept, computed) for each group that differs."""
    p = params(session, tz)

    def key(day: date, g: BaselineGroup) -> tuple[date, int, str, str]:
        return (day, g.stage_id, g.product_line, g.grade or "")

    kept = {
        key(r.day, g): g
        for r in session.scalars(select(MetricStageDay))
        for g in [BaselineGroup(r.stage_id, r.product_line, r.grade, r.seconds, r.stays)]
    }
    computed = {key(day, g): g for day, g in _stage_day_cells(session, _closing_days(session, p), p)}
    out = []
    for k in sorted(set(kept) | set(computed)):
        a, b = kept.get(k), computed.get(k)
        if a is None or b is None or a.stays != b.stays or abs(a.seconds - b.seconds) > 1e-3:
            out.append((k[0], a, b))
    return out


@dataclass(frozen=True)
class Mismatch:
    day: date
    rep_id: int
    kept: Sums
    computed: Sums


def verify(session: Session, tz: ZoneInfo) -> list[Mismatch]:
    """The self-check: every cell as kept against the same cell computed from the records now (after a
    refresh, none should differ). `salesnav metrics verify` runs it; the tests run it after random changes."""
    p = params(session, tz)
    kept = {
        (row.day, row.rep_id): Sums(*(float(getattr(row, c)) for c in CELL_COLUMNS))
        for row in session.scalars(select(MetricDayRep))
    }
    computed: dict[tuple[date, int], Sums] = {}
    for rows, cells in _all_cells(session, p):
        computed.update({(rows[k].day, rep): sums for (k, rep), sums in cells.items()})
    zero = Sums()
    out = []
    for key in sorted(set(kept) | set(computed)):
        a, b = kept.get(key, zero), computed.get(key, zero)
        if any(abs(getattr(a, c) - getattr(b, c)) > 1e-6 for c in CELL_COLUMNS):
            out.append(Mismatch(key[0], key[1], a, b))
    return out


def _insert(session: Session, rows: Sequence[Piece], computed: dict[tuple[int, int], Sums]) -> None:
    values = [
        {"day": rows[k].day, "rep_id": rep, **{c: getattr(s, c) for c in CELL_COLUMNS}}
        for (k, rep), s in computed.items()
    ]
    if values:
        session.execute(insert(MetricDayRep), values)


def _rebuild_postgresql(session: Session, p: Params) -> None:
    """The same cells as `_rebuild_cells`, set-based in one statement (ten million touchpoints in minutes):
    each record's local day from AT TIME ZONE, the quality coverage as a window over each customer's days."""
    session.execute(text(rebuild_sql(p)), {"tz": p.tz.key, "hours": p.first_response_hours * 3600})


def rebuild_sql(p: Params, *, limited: bool = False) -> str:
    """PostgreSQL: INSERT every cell — `limited`: the cells of reps = ANY(:reps) on the local days from :start
    to :end (:look_start opens the first day's lookback) — by the definitions of `touchpoint_cells`,
    `transition_cells` and `part_cells` (effective = `Touchpoint.is_effective`, emotion values `EMOTION_VALUE`,
    role bits `CONTACT_ROLE_BITS`, compliant = checklist complete without override, on time = closed by due)."""
    emotion = " ".join(f"WHEN '{e.value}' THEN {v!r}" for e, v in EMOTION_VALUE.items())
    coverage = " + ".join(f"(CASE WHEN c.roles & {bit} <> 0 THEN 1 ELSE 0 END)" for bit in CONTACT_ROLE_BITS.values())
    lookback = f"INTERVAL '{max(p.lookback_days - 1, 0)} days'"
    zeros = ", ".join(["0"] * 4)

    def only(moment: str, rep: str) -> str:
        return f"AND {moment} >= :start AND {moment} < :end AND {rep} = ANY(:reps)" if limited else ""

    seen = "AND occurred_at >= :look_start AND occurred_at < :end AND customer_id IN (SELECT customer_id FROM tp)"
    # Only constants of ours are formatted in (no input): the time zone and hours are bound parameters.
    return f"""
INSERT INTO metric_day_rep (day, rep_id, {", ".join(CELL_COLUMNS)})
WITH tp AS (
    SELECT (occurred_at AT TIME ZONE :tz)::date AS day, rep_id, customer_id, contact_roles,
           CASE emotion {emotion} ELSE 0.0 END AS emotion,
           (next_action IS NOT NULL AND trim(next_action) <> '' AND next_action_due IS NOT NULL
            AND contact_roles & {ANY_CONTACT_BIT} <> 0) AS effective
    FROM touchpoints WHERE deleted_at IS NULL {only("occurred_at", "rep_id")}
),
daily AS (
    SELECT customer_id, (occurred_at AT TIME ZONE :tz)::date AS day, bit_or(contact_roles) AS roles
    FROM touchpoints WHERE deleted_at IS NULL {seen if limited else ""}
    GROUP BY 1, 2
),
covered AS (
    SELECT customer_id, day,
           bit_or(roles) OVER (PARTITION BY customer_id ORDER BY day RANGE BETWEEN {lookback} PRECEDING AND CURRENT ROW)
               AS roles
    FROM daily
),
per_customer AS (
    SELECT day, rep_id, customer_id, count(*) AS n, count(*) FILTER (WHERE effective) AS e, sum(emotion) AS s
    FROM tp GROUP BY day, rep_id, customer_id
),
cells AS (
    SELECT t.day, t.rep_id, t.n AS touchpoints, t.e AS effective, t.s * ({coverage}) AS quality,
           0 AS stage_changes, 0 AS compliant_changes, 0 AS parts_due, 0 AS parts_on_time, 0 AS parts_opened,
           0 AS parts_answered
    FROM per_customer t JOIN covered c ON c.customer_id = t.customer_id AND c.day = t.day
    UNION ALL
    SELECT (s.occurred_at AT TIME ZONE :tz)::date, o.owner_id, 0, 0, 0, count(*),
           count(*) FILTER (WHERE s.checklist_complete AND s.override_reason IS NULL), {zeros}
    FROM stage_transitions s JOIN opportunities o ON o.id = s.opportunity_id
    WHERE s.from_stage_id IS NOT NULL AND o.deleted_at IS NULL {only("s.occurred_at", "o.owner_id")}
    GROUP BY 1, 2
    UNION ALL
    SELECT (p.due_at AT TIME ZONE :tz)::date, o.owner_id, 0, 0, 0, 0, 0, count(*),
           count(*) FILTER (WHERE p.closed_at IS NOT NULL AND p.closed_at <= p.due_at), 0, 0
    FROM ticket_parts p JOIN collaboration_tickets k ON k.id = p.ticket_id
    JOIN opportunities o ON o.id = k.opportunity_id
    WHERE o.deleted_at IS NULL {only("p.due_at", "o.owner_id")}
    GROUP BY 1, 2
    UNION ALL
    SELECT (p.created_at AT TIME ZONE :tz)::date, o.owner_id, 0, 0, 0, 0, 0, 0, 0, count(*),
           count(*) FILTER (WHERE p.first_valid_response_at IS NOT NULL
                            AND date_part('epoch', p.first_valid_response_at - p.created_at) <= :hours)
    FROM ticket_parts p JOIN collaboration_tickets k ON k.id = p.ticket_id
    JOIN opportunities o ON o.id = k.opportunity_id
    WHERE o.deleted_at IS NULL {only("p.created_at", "o.owner_id")}
    GROUP BY 1, 2
)
SELECT day, rep_id, {", ".join(f"sum({c})" for c in CELL_COLUMNS)}
FROM cells GROUP BY day, rep_id ORDER BY day, rep_id
"""  # noqa: S608


def _mark_refreshed(session: Session, now: datetime, p: Params, *, rebuilt: bool) -> None:
    kept = state(session)
    if kept is None:
        session.add(MetricAggregateState(id=STATE_ID, built_with=p.key, rebuilt_at=now, refreshed_at=now))
    else:
        kept.refreshed_at = now
        if rebuilt:
            kept.built_with, kept.rebuilt_at = p.key, now
    session.flush()


def _lock(session: Session) -> bool:
    """One refresh at a time (the clock's, a CLI rebuild): a PostgreSQL advisory lock for this transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(2710027)")))


# --- reading them -----------------------------------------------------------------------------------------


def sums_by_window(session: Session, windows: Sequence[Window], scope: Scope, tz: ZoneInfo) -> list[Sums] | None:
    """The sums of each window for the reps in scope: whole local days from the cells, parts of days from the
    records. None when the cells are not built for the current settings (compute from the records then)."""
    if ready(session, tz) is None:
        return None
    p = params(session, tz)
    per_window = [pieces(w, tz) for w in windows]
    whole_days = sorted({pc.day for ps in per_window for pc in ps if pc.whole})
    partial = sorted({pc for ps in per_window for pc in ps if not pc.whole}, key=lambda pc: (pc.start, pc.end))
    by_day: dict[date, Sums] = {}
    if whole_days:
        result = session.execute(
            select(MetricDayRep.day, *(func.sum(getattr(MetricDayRep, c)) for c in CELL_COLUMNS))
            .where(
                MetricDayRep.day >= whole_days[0],
                MetricDayRep.day <= whole_days[-1],
                scope.covers(MetricDayRep.rep_id),
            )
            .group_by(MetricDayRep.day)
        )
        by_day = {row[0]: Sums(*(float(v or 0) for v in row[1:])) for row in result}
    by_piece: dict[Piece, Sums] = defaultdict(Sums)
    for (k, _rep), sums in computed_cells(session, partial, scope, p).items():
        by_piece[partial[k]] += sums
    out = []
    for ps in per_window:
        total = Sums()
        for pc in ps:
            total += by_day.get(pc.day, Sums()) if pc.whole else by_piece.get(pc, Sums())
        out.append(total)
    return out


def sums_by_rep(session: Session, window: Window, scope: Scope, tz: ZoneInfo) -> dict[int, Sums] | None:
    """The sums of one window for each rep in scope (a rep without any is left out), as `sums_by_window`
    reads them: whole local days from the cells, parts of days from the records. A team's sums are its
    reps' added up, so a director's view of every team is two queries, not one per team. None when the
    cells are not built for the current settings."""
    if ready(session, tz) is None:
        return None
    p = params(session, tz)
    window_pieces = pieces(window, tz)
    whole_days = [pc.day for pc in window_pieces if pc.whole]
    partial = [pc for pc in window_pieces if not pc.whole]
    out: dict[int, Sums] = defaultdict(Sums)
    if whole_days:
        result = session.execute(
            select(MetricDayRep.rep_id, *(func.sum(getattr(MetricDayRep, c)) for c in CELL_COLUMNS))
            .where(
                MetricDayRep.day >= whole_days[0],
                MetricDayRep.day <= whole_days[-1],
                scope.covers(MetricDayRep.rep_id),
            )
            .group_by(MetricDayRep.rep_id)
        )
        for row in result:
            out[int(row[0])] += Sums(*(float(v or 0) for v in row[1:]))
    for (_k, rep), sums in computed_cells(session, partial, scope, p).items():
        out[rep] += sums
    return dict(out)


def conversion_funnel_of(session: Session, window: Window, scope: Scope, tz: ZoneInfo) -> Funnel | None:
    """`conversion_funnel` applied to the window's new customers only: those whose kept first touch falls in
    the window's whole days, and those touched in its parts of days (today so far) from the records. Every
    lead is among them (a lead's first touch is in the window), and the definition is then applied to the
    records as it stands. None when the aggregates are not built."""
    if ready(session, tz) is None:
        return None
    parts = [
        select(Touchpoint.customer_id).where(
            Touchpoint.occurred_at >= pc.start, Touchpoint.occurred_at < pc.end, Touchpoint.deleted_at.is_(None)
        )
        for pc in pieces(window, tz)
        if not pc.whole
    ]
    candidates: Any = union(
        select(MetricFirstTouch.customer_id).where(
            MetricFirstTouch.first_at >= window.start, MetricFirstTouch.first_at < window.end
        ),
        *parts,
    )
    return conversion_funnel(session, window, scope, candidates=candidates)


def stage_deviation_of(session: Session, window: Window, scope: Scope, tz: ZoneInfo) -> Ratio | None:
    """`stage_advancement_deviation` with its baseline — the stays of the deals closed in the history days
    before the window — read from the kept days of closing (whole days; a part of a day from the records)
    instead of a year of deals' stays. None when the aggregates are not built."""
    if ready(session, tz) is None:
        return None
    history_days = setting_areas.dashboard(session).deviation_history_days
    span = pieces(Window(window.start - timedelta(days=history_days), window.start), tz)
    whole = [pc.day for pc in span if pc.whole]
    groups: dict[tuple[int, str, str | None], BaselineGroup] = {}

    def add(g: BaselineGroup) -> None:
        k = (g.stage_id, g.product_line, g.grade)
        was = groups.get(k)
        groups[k] = g if was is None else BaselineGroup(*k, was.seconds + g.seconds, was.stays + g.stays)

    if whole:
        for stage_id, product_line, grade, seconds, stays in session.execute(
            select(
                MetricStageDay.stage_id,
                MetricStageDay.product_line,
                MetricStageDay.grade,
                func.sum(MetricStageDay.seconds),
                func.sum(MetricStageDay.stays),
            )
            .where(MetricStageDay.day >= whole[0], MetricStageDay.day <= whole[-1])
            .group_by(MetricStageDay.stage_id, MetricStageDay.product_line, MetricStageDay.grade)
        ):
            add(BaselineGroup(int(stage_id), product_line, grade, float(seconds or 0), int(stays or 0)))
    for g in baseline_cells(session, [pc for pc in span if not pc.whole]).values():
        add(g)
    return stage_advancement_deviation(session, window, scope, baseline=list(groups.values()))


# --- the metrics from sums (each as its function in activity.py, pipeline.py, collaboration.py divides) ---


def quality(s: Sums) -> Ratio:
    return Ratio.of(s.quality / DECISION_ROLE_COUNT, s.touchpoints)


def compliance(s: Sums) -> Ratio:
    return Ratio.of(s.compliant_changes, s.stage_changes)


def penetration(s: Sums) -> Ratio:
    return Ratio.of(s.parts_on_time, s.parts_due)


def first_response(s: Sums) -> Ratio:
    return Ratio.of(s.parts_answered, s.parts_opened)


def effective_per_rep_week(s: Sums, window: Window, scope: Scope) -> Ratio:
    return Ratio.of(s.effective, scope.rep_count * window.days / 7)


def visits_per_rep_month(s: Sums, window: Window, scope: Scope) -> Ratio:
    return Ratio.of(s.touchpoints, scope.rep_count * window.days / 30)
