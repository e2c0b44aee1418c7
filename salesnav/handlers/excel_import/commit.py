"""Import a sheet as one recorded batch (ExcelImport): preview, commit (a job, in chunks, with progress), undo.

Every record is written through the handlers everyone else uses (customers, touchpoints, opportunities),
so the same rules apply: a checklist that blocks the inferred stage keeps the deal at the stage it can
reach, and says so in the import's notes — the rules are never bypassed. A row that fails is rolled back
alone (a savepoint) and listed with its row number and reason; the others go on. The same file imported
twice by the same owner returns the first import and creates nothing; undo retires exactly what the
import created (soft delete, each in the audit trail).

The file is read and parsed once, at the preview: that part of the plan is kept beside the stored file
(imports/<sha256>.plan.json) and serves the confirmation and the job for as long as the column corrections
and the reference day are the same; the customers are matched afresh each time, with the user's decisions.
The handlers' bulk forms write each table in one statement per batch (salesnav/models/bulk.py), and a large
part of a file goes in lanes of different customers at once (lanes.py): 10,000 rows with remarks take about
three seconds on PostgreSQL (bench/excel_import.py).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from salesnav import clock
from salesnav.handlers import customer_events, dashboard_snapshots, rule_settings
from salesnav.handlers.checklists import provided_items, stages_passed
from salesnav.handlers.customers import NewContact, NewCustomer, add_contacts, create_customers
from salesnav.handlers.errors import ChecklistIncomplete, DomainError, Forbidden, NotFound
from salesnav.handlers.excel_import.history import handover_origin
from salesnav.handlers.excel_import.lanes import Turns, lanes_of, run_lanes
from salesnav.handlers.excel_import.plan import (
    DEAL_WORDS_NOTE,
    EXISTING_DEAL_NOTE,
    NO_REMARK_NOTE,
    UNCHECKED_PHONE,
    ImportPlan,
    PlannedRow,
    build_plan,
    keep,
    kept,
    match_plan,
    parse_plan,
    stage_stop_note,
)
from salesnav.handlers.excel_import.reading import Workbook, read_workbook
from salesnav.handlers.excel_import.remarks import Entry
from salesnav.handlers.follow_up_policy import follow_up_policy
from salesnav.handlers.opportunities import NewOpportunity, advance_stage, create_from_touchpoints
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.rules import engine
from salesnav.handlers.scope import can_access_owner
from salesnav.handlers.stages import INITIAL, required_items, stage_by_code
from salesnav.handlers.tasks import create_task
from salesnav.handlers.touchpoints import LoggedTouchpoint, NewTouchpoint, log_touchpoints
from salesnav.jobs import queue as jobs_queue
from salesnav.models import (
    POOL_USERID,
    CaptureSource,
    CollaborationTicket,
    Contact,
    Customer,
    CustomerKind,
    DecisionRole,
    ExcelImport,
    ImportStatus,
    MetricChange,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    StageTransition,
    Task,
    TaskStatus,
    TicketStatus,
    Touchpoint,
    User,
    bulk,
)
from salesnav.models import session as db
from salesnav.text.cn_dates import at_business_day, reference_day

CHUNK_ROWS = 5000  # rows per transaction, written in bulk: progress is visible; a crash resumes after what was written
LANES = 3  # chunks of different customers, written at once on PostgreSQL, each on its own connection (lanes.py)
LANE_MIN_ROWS = 1000  # rows a lane has at least: a part of fewer is written as one chunk
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.DONE)
KINDS = ("customer", "contact", "touchpoint", "opportunity")
MODELS: dict[str, Any] = {
    "customer": Customer,
    "contact": Contact,
    "touchpoint": Touchpoint,
    "opportunity": Opportunity,
}


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _without_gc_pauses(work: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `work` with the cyclic garbage collector paused. Reading, planning and writing a sheet allocate some
    hundred thousand objects that live until the end (cells, planned rows, the rows written), few of them in
    cycles; each of the collector's full passes on the way walks all of them again, and they cost a quarter
    of the import's CPU time (bench/excel_import.py). Reference counting frees memory as usual; the collector
    resumes afterwards (and nested calls leave it to the outermost)."""

    @functools.wraps(work)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not gc.isenabled():
            return work(*args, **kwargs)
        gc.disable()
        try:
            return work(*args, **kwargs)
        finally:
            _to_oldest_generation()
            gc.enable()

    return paused


def _to_oldest_generation() -> None:
    """Move the objects made while the collector was paused straight into its oldest generation. Left in the
    youngest, the first collections after the pause would walk them all, twice (young, then middle: some
    0.3 s for a 10,000-row plan the caller then reads); in the oldest they are walked only by the next full
    collection, as long-lived objects are. (freeze parks every tracked object; unfreeze puts them back into
    the oldest generation without walking them. Done only when nothing else has frozen objects.)"""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def limits(session: Session) -> tuple[int, int]:
    settings = rule_settings.excel_import(session)
    return settings.max_file_mb * 1048576, settings.max_rows


def read(session: Session, data: bytes, filename: str) -> Workbook:
    max_bytes, max_rows = limits(session)
    return read_workbook(data, filename, max_bytes=max_bytes, max_rows=max_rows)


def _check_owner(session: Session, actor: User, owner: User) -> None:
    if owner.deleted_at or not owner.active:
        raise NotFound("导入的归属人不存在或已停用")
    if not can_access_owner(session, actor, owner.id):
        raise Forbidden("只能导入到自己或自己团队成员名下")


@_without_gc_pauses
def preview(
    session: Session,
    actor: User,
    *,
    owner: User,
    data: bytes,
    filename: str,
    tz: tzinfo,
    corrections: dict[str, Any] | None = None,
) -> ImportPlan:
    """The dry run: what the file would become. Writes nothing."""
    _check_owner(session, actor, owner)
    return build_plan(session, owner, read(session, data, filename), corrections=corrections, now=clock.now(), tz=tz)


def _stored_path(root: Path, sha: str) -> Path:
    return root / "imports" / sha


def _kept_path(root: Path, sha: str) -> Path:
    return root / "imports" / f"{sha}.plan.json"


def _keep(root: Path, sha: str, columns: dict[str, Any], plan: ImportPlan) -> None:
    """Keep the file's part of the plan beside the file, for the commit and the job (see `_kept`)."""
    path = _kept_path(root, sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    partial.write_bytes(orjson.dumps({"columns": columns, **keep(plan)}, option=orjson.OPT_NON_STR_KEYS))
    os.replace(partial, path)  # whole or not at all, should a job read it meanwhile


def _kept(root: Path, sha: str, columns: dict[str, Any], reference: date) -> ImportPlan | None:
    """The kept plan, if it was parsed with these column corrections and this reference day (what relative
    dates such as 上周三 resolve against); anything else is parsed again. The last one read stays in memory
    while its file is unchanged (the confirmation and then the job read the same plan)."""
    path = _kept_path(root, sha)
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
        if _LAST_KEPT and _LAST_KEPT[0][0] == stamp:
            data = _LAST_KEPT[0][1]
        else:
            data = orjson.loads(path.read_bytes())
            _LAST_KEPT[:] = [(stamp, data)]
    except (OSError, ValueError):
        return None
    if data.get("columns") != columns or data.get("reference") != reference.isoformat():
        return None
    return kept(data)


_LAST_KEPT: list[tuple[tuple[str, int], dict[str, Any]]] = []


@_without_gc_pauses
def start_import(
    session: Session,
    actor: User,
    *,
    owner: User,
    data: bytes,
    filename: str,
    root: Path,
    tz: tzinfo,
    channel: str = "api",
) -> tuple[ExcelImport, ImportPlan]:
    """Read and plan the file, keep it, and record the import as waiting for the user's confirmation.

    A file this owner already imported (and did not undo) returns that import: nothing new is planned.
    A file that cannot be read raises a FileRejected with a Chinese message, and nothing is written.
    """
    _check_owner(session, actor, owner)
    sha = hashlib.sha256(data).hexdigest()
    workbook = read(session, data, filename)
    reference = reference_day(workbook.file_date, clock.now(), tz)
    plan = match_plan(session, owner, parse_plan(workbook, None, reference), None)
    earlier = session.scalars(
        select(ExcelImport)
        .where(ExcelImport.owner_id == owner.id, ExcelImport.file_sha256 == sha, ExcelImport.status.in_(ACTIVE))
        .order_by(ExcelImport.id)
    ).first()
    if earlier is not None:
        return earlier, plan
    path = _stored_path(root, sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    _keep(root, sha, {}, plan)
    imp = ExcelImport(
        owner_id=owner.id,
        created_by_id=actor.id,
        filename=(filename or "表格")[:255],
        file_sha256=sha,
        size_bytes=len(data),
        status=ImportStatus.PREVIEWED,
        file_date=workbook.file_date,
        total_rows=len(plan.rows),
        corrections={"channel": channel},
        counts=plan.summary(),
        errors=plan.errors,
        message=plan.blocking,  # what must be corrected before it can be confirmed, if anything
    )
    session.add(imp)
    session.flush()
    record_event(session, "excel_import.previewed", "excel_import", imp.id, actor, owner_id=owner.id, sha256=sha)
    return imp, plan


def import_for(session: Session, actor: User, import_id: int) -> ExcelImport:
    imp = session.get(ExcelImport, import_id)
    if imp is None or not (imp.created_by_id == actor.id or can_access_owner(session, actor, imp.owner_id)):
        raise NotFound("导入记录不存在或您无权查看")
    return imp


def plan_of(
    session: Session, imp: ExcelImport, root: Path, tz: tzinfo, corrections: dict[str, Any], *, job: bool = False
) -> ImportPlan:
    """The import's plan with these corrections. The file's part is planned once: the one kept at preview
    (or at an earlier commit) serves while the column corrections and the reference day are the same;
    otherwise the file is read and parsed again, matched, and kept. The customers are matched afresh each
    time (they may have changed since the preview), with the user's match decisions. The job (`job`) takes
    the notes on close spellings within the file from the kept plan rather than working them out again."""
    owner = session.get(User, imp.owner_id)
    assert owner is not None
    columns = corrections.get("columns") or {}
    reference = reference_day(imp.file_date, clock.now(), tz)
    plan = _kept(root, imp.file_sha256, columns, reference)
    if plan is not None:
        return match_plan(session, owner, plan, corrections.get("matches"), similar=not job)
    path = _stored_path(root, imp.file_sha256)
    if not path.exists():
        raise DomainError("导入文件已不在服务器上，请重新上传")
    plan = parse_plan(read(session, path.read_bytes(), imp.filename), columns, reference)
    match_plan(session, owner, plan, corrections.get("matches"))
    _keep(root, imp.file_sha256, columns, plan)
    return plan


def commit_import(
    session: Session,
    actor: User,
    *,
    import_id: int,
    root: Path,
    tz: tzinfo,
    corrections: dict[str, Any] | None = None,
    notify: str | None = None,
) -> ExcelImport:
    """Confirm a previewed import with the user's corrections; the rows are written by a job ("reports" queue)."""
    imp = import_for(session, actor, import_id)
    if imp.status in ACTIVE:
        return imp  # confirming twice, or the same file again: nothing new
    if imp.status is not ImportStatus.PREVIEWED:
        raise DomainError(f"该导入{imp.status.label}，请重新上传文件")
    twin = session.scalars(
        select(ExcelImport).where(
            ExcelImport.owner_id == imp.owner_id,
            ExcelImport.file_sha256 == imp.file_sha256,
            ExcelImport.status.in_(ACTIVE),
            ExcelImport.id != imp.id,
        )
    ).first()
    if twin is not None:
        return twin
    merged = {**imp.corrections, **{k: v for k, v in (corrections or {}).items() if k in ("columns", "matches")}}
    if merged != imp.corrections:
        plan = plan_of(session, imp, root, tz, merged)  # refuses bad corrections before anything is queued
        if plan.blocking:
            raise DomainError(plan.blocking)
        imp.total_rows, imp.counts = len(plan.rows), plan.summary()
    elif imp.message:  # confirmed as previewed: the preview's plan stands (the job plans it again anyway)
        raise DomainError(imp.message)
    imp.corrections = merged
    imp.status = ImportStatus.QUEUED
    session.flush()
    audit(session, actor, "excel_import", imp.id, "commit", {"status": "previewed"}, {"status": "queued"})
    tz_name = getattr(tz, "key", "Asia/Shanghai")
    jobs_queue.enqueue_after_commit(
        session, run_import, imp.id, str(root), tz_name, notify, key=f"excel_import:{imp.id}", queue="reports"
    )
    return imp


@dataclass
class _Progress:
    created: dict[str, list[int]]
    errors: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    new_by_key: dict[str, int] = field(default_factory=dict)  # a customer new in this file, filed once
    followed_up: dict[str, Any] = field(default_factory=dict)  # existing deals' follow-up before we touched them
    processed: int = 0  # rows done (processed_rows): the parts of the file before this one, and this one's done
    done: list[int] = field(default_factory=list)  # the rows (positions in the plan) done of a part partly done

    def lane(self) -> _Progress:
        """A chunk's own progress: what it writes, starting from what the chunks before it filed."""
        return _Progress({k: [] for k in KINDS}, [], [], dict(self.new_by_key), dict(self.followed_up))

    def with_chunk(self, chunk: _Progress, rows: list[int], part: tuple[int, int]) -> _Progress:
        """This progress and a chunk's, once the chunk's rows (`rows` of the part `part`) are written."""
        done = [*self.done, *rows]
        finished = len(done) >= part[1] - part[0]
        return _Progress(
            {k: self.created[k] + chunk.created[k] for k in KINDS},
            self.errors + chunk.errors,
            self.notes + chunk.notes,
            {**self.new_by_key, **chunk.new_by_key},
            {**chunk.followed_up, **self.followed_up},  # a deal's follow-up as it was before the import
            processed=part[1] if finished else part[0] + len(done),
            done=[] if finished else done,
        )

    def adopt(self, other: _Progress) -> None:
        self.__dict__.update(other.__dict__)

    def write(self, imp: ExcelImport) -> None:
        imp.processed_rows = self.processed
        imp.errors = list(self.errors)
        imp.notes = list(self.notes)
        imp.created_ids = {
            **{k: list(v) for k, v in self.created.items()},
            "followed_up": dict(self.followed_up),
            "done": list(self.done),
        }
        imp.counts = {
            "customers": len(self.created["customer"]),
            "contacts": len(self.created["contact"]),
            "touchpoints": len(self.created["touchpoint"]),
            "opportunities": len(self.created["opportunity"]),
            "failed": len(self.errors),
        }


@_without_gc_pauses
def run_import(import_id: int, root: str, tz_name: str, notify: str | None = None) -> None:
    """The job: write the rows part by part (a part: one chunk, or lanes of chunks written at once), updating the
    progress with each chunk; run again after a stop, it writes only the rows no chunk had written."""
    tz = ZoneInfo(tz_name)
    with db.transaction() as session:
        imp = session.get(ExcelImport, import_id)
        if imp is None or imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return
        imp.status, imp.started_at = ImportStatus.RUNNING, imp.started_at or clock.now()
        state = _Progress(
            {k: list(imp.created_ids.get(k, [])) for k in KINDS},
            list(imp.errors if imp.processed_rows else []),
            list(imp.notes),
            followed_up=dict(imp.created_ids.get("followed_up", {})),
            processed=imp.processed_rows,
            done=list(imp.created_ids.get("done", [])),
        )
        start = imp.processed_rows
    try:
        with db.transaction() as session:
            imp = session.get(ExcelImport, import_id)
            assert imp is not None
            plan = plan_of(session, imp, Path(root), tz, imp.corrections, job=True)
        if start == 0:
            state.notes.extend(plan.sheet_notes)  # the rows left out (合计, 小计), said once
        together = db.get_engine().dialect.name == "postgresql"  # SQLite has one writer: one lane after the other
        offset = start - len(state.done)  # a part partly written (a resumed import) starts again, its done rows left
        while offset < len(plan.rows):
            part = (offset, min(offset + CHUNK_ROWS * LANES, len(plan.rows)))
            _run_part(import_id, plan, part, state, tz, together=together)
            offset = part[1]
    except Exception as exc:
        with db.transaction() as session:
            imp = session.get(ExcelImport, import_id)
            assert imp is not None
            imp.status, imp.finished_at = ImportStatus.FAILED, clock.now()
            imp.message = exc.message if isinstance(exc, DomainError) else "导入中断，已写入的部分可整体撤销"
            _notify(session, notify, imp)
        if isinstance(exc, DomainError):
            return
        raise
    with db.transaction() as session:
        imp = session.get(ExcelImport, import_id)
        assert imp is not None
        imp.status, imp.finished_at = ImportStatus.DONE, clock.now()
        # The tables grew by the import's history: the next fold of the figures plans with today's sizes.
        bulk.analyze(session, Customer, Contact, Touchpoint, Opportunity, StageTransition, MetricChange)
        record_event(session, "excel_import.done", "excel_import", imp.id, None, counts=imp.counts)
        dashboard_snapshots.drop(session)  # the import wrote into past weeks: the kept figures are out of date
        _notify(session, notify, imp)  # 「导入完成」 first, then what to do about the silent deals it brought
        _silent_digest(session, imp)
    _kept_path(Path(root), imp.file_sha256).unlink(missing_ok=True)  # done: nothing will plan this import again


def _silent_digest(session: Session, imp: ExcelImport) -> None:
    """One message to the rep for the imported deals that came in already silent past the follow-up limit —
    not an alert per deal; the follow-up rule leaves them alone for follow_up.import_grace_hours."""
    ids = list(imp.created_ids.get("opportunity", []))
    owner = session.get(User, imp.owner_id)
    if not ids or owner is None:
        return
    policy, now = follow_up_policy(session), clock.now()
    silent = session.scalar(
        select(func.count(Opportunity.id)).where(
            bulk.among(Opportunity.id, ids),
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.last_follow_up_at < policy.silent_before(now),
        )
    )
    if not silent:
        return
    grace = rule_settings.follow_up(session).import_grace_hours
    text = (
        f"{silent} 个导入的商机已超过 {policy.overdue_hours} 小时未跟进（来自「{imp.filename}」）。"
        f"请尽快联系客户并记录触点；导入后 {grace} 小时内不逐个预警，之后仍未跟进的将按跟进超时规则提醒您和主管。"
    )
    engine.tell(session, owner, text, key=f"excel_import:{imp.id}:silent")
    record_event(session, "excel_import.silent_digest", "excel_import", imp.id, None, silent=silent)


def _notify(session: Session, notify: str | None, imp: ExcelImport) -> None:
    if notify:  # a channel's hook, e.g. the bot telling the rep in chat that the import is done
        jobs_queue.resolve(notify)(session, imp)


def _run_part(
    import_id: int, plan: ImportPlan, part: tuple[int, int], state: _Progress, tz: tzinfo, *, together: bool
) -> None:
    """Write the rows of one part of the file (`part`: positions in the plan), those not done yet: as one
    chunk, or when it is large in lanes of different customers, each a chunk (lanes.py) — written at once
    (`together`) or one after the other, with the same result."""
    done = set(state.done)
    todo = [i for i in range(*part) if i not in done]
    lanes = max(1, min(LANES, len(todo) // LANE_MIN_ROWS))
    chunks = lanes_of(todo, lambda i: _customer_of(plan.rows[i]), lanes)

    def chunk(k: int, rows: list[int], turns: Turns) -> None:
        try:
            _run_chunk(import_id, plan, rows, part, state, tz, lambda: turns.wait(k))
        finally:
            turns.done(k)  # however it ended: the lanes after it publish all the same

    run_lanes(chunks, chunk, together=together)


def _run_chunk(
    import_id: int,
    plan: ImportPlan,
    positions: list[int],
    part: tuple[int, int],
    state: _Progress,
    tz: tzinfo,
    my_turn: Callable[[], None],
) -> None:
    """One transaction: the rows at `positions`, and the import's progress with them (published in turn)."""
    rows = [plan.rows[i] for i in positions]
    chunk = state.lane()
    with db.transaction() as session:
        bulk.without_jit(session)
        # What the import created, its notes and errors so far are in `state`, and are written afresh below:
        # not read back (thousands of ids and notes, every chunk).
        imp = session.get(
            ExcelImport,
            import_id,
            options=[defer(ExcelImport.created_ids), defer(ExcelImport.errors), defer(ExcelImport.notes)],
        )
        assert imp is not None
        owner = session.get(User, imp.owner_id)
        assert owner is not None
        good = []
        handovers: dict[int, list[PlannedRow]] = {}
        for row in rows:
            if row.error:
                chunk.errors.append({"sheet": row.sheet, "row": row.row, "reason": row.error})
                continue
            if row.written:  # a row not written (handed over, left to its owner) has its reason, not notes
                chunk.notes.extend(_note(row, text) for text in row.notes)
                good.append(row)
            elif row.choice == "handover":
                handovers.setdefault(row.match.customer_id, []).append(row)  # type: ignore[arg-type]
            else:
                chunk.errors.append({"sheet": row.sheet, "row": row.row, "reason": _taken_reason(row, "未导入")})
        _ask_handovers(session, imp, owner, handovers, chunk)
        stages = _Stages(session)
        for wave in _waves(good):
            _write_wave(session, owner, wave, plan, chunk, stages, tz)
        # The customers this chunk filed, as customer events: one statement, in the chunk's transaction.
        customer_events.record_imported(session, import_id, chunk.created["customer"])
        my_turn()  # the chunks before it have published (or failed): `state` holds what they wrote
        published = state.with_chunk(chunk, positions, part)
        published.write(imp)
    state.adopt(published)  # committed: the chunks after it start from it


def _taken_reason(row: PlannedRow, what: str) -> str:
    name = row.match.candidates[0].name if row.match.candidates else row.customer_name
    return f"客户「{name}」归属{row.match.owner_name}，{what}"


def _ask_handovers(
    session: Session, imp: ExcelImport, owner: User, handovers: dict[int, list[PlannedRow]], state: _Progress
) -> None:
    """A hand-over asked for another rep's customer: a task for that rep's manager (else the rep), once per
    customer and import, and one message to each such manager naming the customers; the rows are listed as
    not written, with why."""
    asked: dict[int, tuple[User, list[str]]] = {}
    for customer_id, rows in handovers.items():
        customer = session.get(Customer, customer_id)
        holder = session.get(User, customer.owner_id) if customer else None
        if customer is None or holder is None:
            continue
        if holder.wecom_userid == POOL_USERID:  # in the public pool: no one to ask, the rep may claim it
            for row in rows:
                reason = _taken_reason(row, "请先在公海领取（发送「公海」查看）后重新导入，暂未写入")
                state.errors.append({"sheet": row.sheet, "row": row.row, "reason": reason})
            continue
        decider = (session.get(User, holder.manager_id) if holder.manager_id else None) or holder
        lines = "、".join(str(r.row) for r in rows)
        try:
            create_task(
                session,
                None,
                assignee_id=decider.id,
                title=f"{owner.name}申请转交客户「{customer.name}」",
                detail=(
                    f"{owner.name}导入的表格「{imp.filename}」第 {lines} 行是客户「{customer.name}」"
                    f"（现归属{holder.name}）的跟进记录。同意转交后，{owner.name}可重新导入这些记录。"
                ),
                origin=handover_origin(imp.id),
                subject_type="customer",
                subject_id=customer.id,
            )
            what = f"已向{decider.name}申请转交，暂未写入"
            asked.setdefault(decider.id, (decider, []))[1].append(f"「{customer.name}」（{holder.name}）")
        except DomainError:
            what = "转交申请未能发出（处理人已停用），暂未写入"
        for row in rows:
            state.errors.append({"sheet": row.sheet, "row": row.row, "reason": _taken_reason(row, what)})
    for decider, names in asked.values():
        listed = "、".join(names[:5]) + (f"等 {len(names)} 个客户" if len(names) > 5 else "")
        engine.tell(
            session,
            decider,
            f"{owner.name}导入表格「{imp.filename}」时，有客户已归属其他同事：{listed}。"
            f"{owner.name}申请转交，请在待办中处理；同意前这些记录不会写入。",
            key=f"excel_import:{imp.id}:handover:{decider.id}:{min(handovers)}",
        )


def _guess_kind(row: PlannedRow) -> CustomerKind:
    if row.kind and CustomerKind.from_label(row.kind):
        return CustomerKind.from_label(row.kind)  # type: ignore[return-value]
    name = row.customer_name
    if any(w in name for w in ("医院", "卫生院", "诊所", "卫生服务中心", "医疗中心", "院")):
        return CustomerKind.HOSPITAL
    if any(w in name for w in ("公司", "经销", "贸易", "医药", "商行")):
        return CustomerKind.DISTRIBUTOR
    return CustomerKind.OTHER


def _customer_of(row: PlannedRow) -> tuple[str, Any]:
    return ("id", row.match.customer_id) if row.match.customer_id else ("key", row.key)


def _waves(rows: list[PlannedRow]) -> list[list[PlannedRow]]:
    """Rows in waves where no customer appears twice: the n-th row of each customer goes in wave n.

    Within a wave the rows are independent and are written in bulk; a later row of the same customer
    sees what the earlier one wrote (its contact, its new deal), exactly as when rows went one by one.
    """
    seen: dict[tuple[str, Any], int] = {}
    waves: list[list[PlannedRow]] = []
    for row in rows:
        n = seen.get(_customer_of(row), 0)
        seen[_customer_of(row)] = n + 1
        if n == len(waves):
            waves.append([])
        waves[n].append(row)
    return waves


class _Stages:
    """The stages, loaded once per chunk rather than once per row."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_code: dict[str, Stage] = {}

    def get(self, code: str) -> Stage:
        if code not in self.by_code:
            self.by_code[code] = stage_by_code(self.session, code)
        return self.by_code[code]


class _RowsFailed(Exception):
    def __init__(self, failed: dict[int, str]) -> None:
        super().__init__(f"{len(failed)} rows failed")
        self.failed = failed  # id(row) → the reason shown to the user


@dataclass
class _WaveResult:
    created: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    notes: list[dict[str, Any]] = field(default_factory=list)
    new_by_key: dict[str, int] = field(default_factory=dict)
    followed_up: dict[str, Any] = field(default_factory=dict)


def _write_wave(
    session: Session,
    owner: User,
    rows: list[PlannedRow],
    plan: ImportPlan,
    state: _Progress,
    stages: _Stages,
    tz: tzinfo,
) -> None:
    """Write a wave in bulk inside one savepoint. A row the handlers refuse is listed with its reason and the
    wave is written again without it, so a failed row leaves nothing behind and never stops the others."""
    rows = list(rows)
    while rows:
        pending = list(session.info.get(jobs_queue._PENDING, []))
        result = _WaveResult()
        try:
            with session.begin_nested():
                _apply_wave(session, owner, rows, plan, state, result, stages, tz)
        except _RowsFailed as failed:
            session.info[jobs_queue._PENDING] = pending  # the rolled-back rows' rule jobs go too
            for row in rows:
                if id(row) in failed.failed:
                    state.errors.append({"sheet": row.sheet, "row": row.row, "reason": failed.failed[id(row)]})
            rows = [row for row in rows if id(row) not in failed.failed]
            continue
        for kind in KINDS:
            state.created[kind].extend(result.created[kind])
        state.notes.extend(result.notes)
        state.new_by_key.update(result.new_by_key)
        for key, value in result.followed_up.items():
            state.followed_up.setdefault(key, value)
        return


@dataclass
class _RowWork:
    row: PlannedRow
    customer_id: int = 0
    contact_id: int | None = None
    entries: list[tuple[Entry, list[str], datetime]] = field(default_factory=list)
    deal_at: int | None = None  # index of the entry whose touchpoint opens the deal
    target: str | None = None
    amount: int | None = None
    touchpoints: list[LoggedTouchpoint] = field(default_factory=list)
    opportunity_id: int | None = None
    deal_id: int | None = None  # the id taken for the deal its remarks open, if any
    linked: bool = False  # a touchpoint followed up a deal the customer already has

    @property
    def reached_at(self) -> datetime | None:
        """When the deal reached its stage: the last entry that speaks of that stage, else the last entry."""
        said = [moment for entry, _, moment in self.entries if entry.stage == self.target]
        moments = said or [moment for _, _, moment in self.entries]
        return moments[-1] if moments else None


def _apply_wave(
    session: Session,
    owner: User,
    rows: list[PlannedRow],
    plan: ImportPlan,
    state: _Progress,
    result: _WaveResult,
    stages: _Stages,
    tz: tzinfo,
) -> None:
    failed: dict[int, str] = {}
    work = [_RowWork(row) for row in rows]

    # Customers: new ones filed in one go; existing ones have their open deals' follow-up remembered for undo.
    known = {**state.new_by_key}
    new_rows = [w for w in work if not w.row.match.customer_id and w.row.key not in known]
    filed = create_customers(
        session,
        owner,
        [
            NewCustomer(name=w.row.customer_name, kind=_guess_kind(w.row), grade=w.row.grade, region=w.row.region)
            for w in new_rows
        ],
    )
    for w, customer in zip(new_rows, filed, strict=True):
        if isinstance(customer, DomainError):
            failed[id(w.row)] = customer.message
            continue
        result.new_by_key[w.row.key] = customer.id
        if customer.created:  # else the rep's customer of that very name: not the import's to undo
            result.created["customer"].append(customer.id)
    known.update(result.new_by_key)
    fresh = set(known.values())
    for w in work:
        w.customer_id = w.row.match.customer_id or known.get(w.row.key, 0)
    _remember_follow_up(session, [w.customer_id for w in work if w.customer_id not in fresh], state, result)
    _raise_if(failed)

    _contacts(session, owner, work, result, failed)
    _raise_if(failed)

    # Touchpoints up to the one that opens a deal, then the deals, then the touchpoints after them. The deals'
    # ids are taken first: a touchpoint that opens one is written linked to it (the link checked at commit).
    now = clock.now()
    for w in work:
        _plan_entries(w, plan, tz, now)
    opening = [w for w in work if w.deal_at is not None]
    if opening:
        bulk.defer_deal_links(session)
        for w, deal_id in zip(opening, bulk.take_ids(session, Opportunity.__table__, len(opening)), strict=True):
            w.deal_id = deal_id
    first = [(w, i) for w in work for i in range(len(w.entries)) if w.deal_at is None or i <= w.deal_at]
    _log(session, owner, first, result, failed)
    _raise_if(failed)
    deals = []
    for w in opening:
        touchpoint = w.touchpoints[w.deal_at]  # type: ignore[index]
        if touchpoint.opportunity_id != w.deal_id:  # it follows up a deal the customer already has
            if EXISTING_DEAL_NOTE not in w.row.notes:  # (the preview said so, as a rule when it could tell)
                result.notes.append(_note(w.row, EXISTING_DEAL_NOTE))
            w.target = None
            continue
        deals.append(w)
    opened = create_from_touchpoints(
        session,
        owner,
        [
            NewOpportunity(
                id=w.deal_id,
                touchpoint_id=w.touchpoints[w.deal_at].id,  # type: ignore[index]
                title=f"{w.row.customer_name} {w.row.product or '待定产品'}"[:200],
                product_line=w.row.product or "待定",
                expected_amount_fen=w.amount,  # type: ignore[arg-type]
                at_touchpoint_time=True,
            )
            for w in deals
        ],
    )
    for w, opp_id in zip(deals, opened, strict=True):
        if isinstance(opp_id, DomainError):
            failed[id(w.row)] = opp_id.message
        else:
            w.opportunity_id = opp_id
            result.created["opportunity"].append(opp_id)
    _raise_if(failed)
    rest = [(w, i) for w in work if w.deal_at is not None for i in range(w.deal_at + 1, len(w.entries))]
    _log(session, owner, rest, result, failed)
    _raise_if(failed)

    for w in work:
        if w.row.match.how == "taken":
            result.notes.append(_note(w.row, _taken_reason(w.row, "备注已记在该客户名下（未新增联系人、未建商机）")))
        elif w.amount is not None and not w.entries and NO_REMARK_NOTE not in w.row.notes:
            result.notes.append(_note(w.row, NO_REMARK_NOTE))
        if w.target and w.amount is None and not w.linked and not w.row.stage_text:
            said = DEAL_WORDS_NOTE.format(stage=stages.get(w.target).name)
            if said not in w.row.notes:  # the preview said it already for a new customer
                result.notes.append(_note(w.row, said))
    _reach(
        session,
        owner,
        [w for w in work if w.opportunity_id is not None and w.target and w.target != INITIAL],
        result,
        stages,
    )


def _raise_if(failed: dict[int, str]) -> None:
    if failed:
        raise _RowsFailed(failed)


def _note(row: PlannedRow, text: str) -> dict[str, Any]:
    return {"sheet": row.sheet, "row": row.row, "note": text}


def _plan_entries(w: _RowWork, plan: ImportPlan, tz: tzinfo, now: datetime) -> None:
    """Each remark entry's moment and guesses, and which entry opens the deal: the first that speaks of one,
    else (an amount or a 阶段 column says there is a deal) the first entry. An entry the plan could not date
    is written at the file's date, its date marked as a guess (the preview said so)."""
    row = w.row
    w.target, w.amount = row.stage, row.deal_amount_fen
    if row.match.how == "taken" or row.no_deal:  # another rep's customer (their deals are theirs), a closed
        w.target = w.amount = None  # stage: touchpoints only, and the preview said why
    elif w.amount is not None and w.target is None:
        w.target = INITIAL
    for entry in row.entries:  # already in the order of their days (plan: never out of order)
        guessed = list(entry.guessed)
        if entry.day is None and "occurred_at" not in guessed:
            guessed.append("occurred_at")
        day = entry.day or plan.reference
        if w.deal_at is None and w.amount is not None and entry.stage is not None:
            w.deal_at = len(w.entries)
        w.entries.append((entry, guessed, at_business_day(day, tz, now)))
    w.entries.sort(key=lambda item: item[2])
    if w.deal_at is None and w.amount is not None and w.entries:
        w.deal_at = 0
    if w.deal_at is not None:
        entry, guessed, moment = w.entries[w.deal_at]
        extra = ["opportunity.amount"] if not row.amount_fen else []
        extra += ["opportunity.stage"] if row.stage_guessed else []
        extra += [] if row.product else ["opportunity.product_line"]
        w.entries[w.deal_at] = (entry, guessed + extra, moment)


def _log(
    session: Session,
    owner: User,
    items: list[tuple[_RowWork, int]],
    result: _WaveResult,
    failed: dict[int, str],
) -> None:
    logged = log_touchpoints(
        session,
        owner,
        shared=frozenset(w.customer_id for w, _ in items if w.row.match.how == "taken"),
        specs=[
            NewTouchpoint(
                customer_id=w.customer_id,
                type=w.entries[i][0].touchpoint_type,
                emotion=w.entries[i][0].emotion,
                summary=w.entries[i][0].text,
                contact_ids=[w.contact_id] if w.contact_id else None,
                occurred_at=w.entries[i][2],
                source=CaptureSource.EXCEL_IMPORT,
                guessed_fields=w.entries[i][1],
                opens_deal=w.deal_id if i == w.deal_at else None,
            )
            for w, i in items
        ],
    )
    for (w, _), touchpoint in zip(items, logged, strict=True):
        if isinstance(touchpoint, DomainError):
            failed.setdefault(id(w.row), touchpoint.message)
            continue
        w.touchpoints.append(touchpoint)
        result.created["touchpoint"].append(touchpoint.id)
        w.linked = w.linked or (w.opportunity_id is None and touchpoint.opportunity_id not in (None, w.deal_id))


def _contacts(session: Session, owner: User, work: list[_RowWork], result: _WaveResult, failed: dict[int, str]) -> None:
    """The row's contact: one the customer already has (same phone, or same name where a phone is missing),
    else a new one. A wave holds each customer once, so the customers' contacts are loaded in one query."""
    wanted = [w for w in work if w.row.contact_name or w.row.phone]
    existing: dict[int, list[Contact]] = {}
    ids = list({w.customer_id for w in wanted})
    if ids:
        for contact in session.scalars(
            select(Contact)
            .where(bulk.among(Contact.customer_id, ids), Contact.deleted_at.is_(None))
            .order_by(Contact.id)
        ):
            existing.setdefault(contact.customer_id, []).append(contact)
    new: list[_RowWork] = []
    for w in wanted:
        if w.row.match.how == "taken":  # another rep's customer: its known contact only, none added
            w.contact_id = next((c.id for c in existing.get(w.customer_id, []) if c.phone == w.row.phone_e164), None)
            continue
        row, e164 = w.row, w.row.phone_e164
        for contact in existing.get(w.customer_id, []):
            if (e164 and contact.phone == e164) or (
                row.contact_name and contact.name == row.contact_name and (not e164 or not contact.phone)
            ):
                w.contact_id = contact.id
                break
        else:
            new.append(w)
    added = add_contacts(
        session,
        owner,
        [
            NewContact(
                customer_id=w.customer_id,
                name=w.row.contact_name or "未留姓名",
                title=_title(w.row),
                phone=w.row.phone_e164,
                decision_role=(DecisionRole.from_label(w.row.role) if w.row.role else None),
            )
            for w in new
        ],
    )
    for w, contact_id in zip(new, added, strict=True):
        if isinstance(contact_id, DomainError):
            failed[id(w.row)] = contact_id.message
        else:
            w.contact_id = contact_id
            result.created["contact"].append(contact_id)


def _title(row: PlannedRow) -> str | None:
    """The contact's 职务, and a phone that is neither a mobile nor a landline kept after it as text."""
    if not row.phone or row.phone_e164:
        return row.title
    return "；".join(filter(None, [row.title, f"{UNCHECKED_PHONE}{row.phone}"]))[:100]


def _remember_follow_up(session: Session, customer_ids: list[int], state: _Progress, result: _WaveResult) -> None:
    """Imported touchpoints on existing customers follow up their open deals; undo must put that back."""
    ids = list(set(customer_ids))
    if not ids:
        return
    for opp in session.scalars(
        select(Opportunity).where(
            bulk.among(Opportunity.customer_id, ids),
            Opportunity.deleted_at.is_(None),
            Opportunity.status == OpportunityStatus.OPEN,
        )
    ):
        if str(opp.id) not in state.followed_up:
            result.followed_up.setdefault(
                str(opp.id),
                {"last_touchpoint_id": opp.last_touchpoint_id, "last_follow_up_at": opp.last_follow_up_at.isoformat()},
            )


def _reach(session: Session, owner: User, work: list[_RowWork], result: _WaveResult, stages: _Stages) -> None:
    """Advance each new deal to its inferred stage, or the furthest stage before it whose checklist allows it —
    never past a rule. The checklists are read for all the deals at once; advance_stage does the rest."""
    by_target: dict[str, list[_RowWork]] = {}
    for w in work:
        by_target.setdefault(w.target, []).append(w)  # type: ignore[arg-type]
    for code, group in by_target.items():
        target = stages.get(code)
        start = stages.get(INITIAL)  # new deals all start at the first stage
        candidates = session.scalars(
            select(Stage)
            .where(
                Stage.deleted_at.is_(None),
                Stage.outcome == StageOutcome.OPEN,
                Stage.position > start.position,
                Stage.position <= target.position,
            )
            .order_by(Stage.position.desc())
        ).all()
        refused: dict[int, str] = {}  # the first refusal of each deal, the furthest stage's: the one the note says
        waiting = list(group)
        # The evidence the deals have, read once for the group (trying a stage adds none): what each stage's
        # checklist lacks is then worked out here, as missing_items would for each stage on the way.
        provided = provided_items(session, [w.opportunity_id for w in group])  # type: ignore[misc]
        for stage in candidates:
            path = [*stages_passed(session, start, stage), stage]  # every checklist on the way counts
            required = [(step.name, required_items(step)) for step in path]
            # What the checklists refuse, worked out once for each set of evidence (an import's new deals
            # mostly have none: one answer for thousands of deals). None: nothing lacking.
            verdicts: dict[frozenset[int], str | None] = {}
            still = []
            for w in waiting:
                opp_id = w.opportunity_id
                assert opp_id is not None
                have = frozenset(provided[opp_id])
                if have not in verdicts:
                    gaps = {
                        name: lacking
                        for name, items in required
                        if (lacking := [item.name for item in items if item.id not in have])
                    }
                    flat = [item for items in gaps.values() for item in items]
                    verdicts[have] = ChecklistIncomplete(stage.name, flat, gaps).message if gaps else None
                if (verdict := verdicts[have]) is not None:
                    refused.setdefault(id(w), verdict)
                    still.append(w)
                    continue
                try:
                    with session.begin_nested():
                        advance_stage(
                            session, owner, opportunity_id=opp_id, to_stage=stage.code, occurred_at=w.reached_at
                        )
                except DomainError as exc:
                    refused.setdefault(id(w), exc.message)
                    still.append(w)
                    continue
                if stage.id != target.id:
                    _say(w.row, stage_stop_note(w.row, target.name, refused[id(w)], stage.name, at_start=False), result)
            waiting = still
        for w in waiting:  # refused every stage: still where it started
            if id(w) in refused:
                _say(w.row, stage_stop_note(w.row, target.name, refused[id(w)], start.name, at_start=True), result)


def _say(row: PlannedRow, note: str, result: _WaveResult) -> None:
    """A row's note from the commit, unless the preview said it already (it is among the row's notes)."""
    if note not in row.notes:
        result.notes.append(_note(row, note))


def undo_import(session: Session, actor: User, *, import_id: int) -> ExcelImport:
    """Retire exactly what the import created (soft delete, audited); a second undo changes nothing."""
    imp = import_for(session, actor, import_id)
    if imp.status is ImportStatus.UNDONE:
        return imp
    if imp.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise DomainError("导入还在进行中，完成后才能撤销")
    if imp.status is ImportStatus.PREVIEWED:
        raise DomainError("该导入尚未确认，没有需要撤销的数据")
    now = clock.now()
    retired: dict[str, int] = {}
    touchpoint_ids = set(imp.created_ids.get("touchpoint", []))
    for kind in ("touchpoint", "opportunity", "contact", "customer"):
        ids = list(imp.created_ids.get(kind, []))
        model = MODELS[kind]
        retired[kind] = 0
        for start in range(0, len(ids), 500):
            for record in session.scalars(select(model).where(bulk.among(model.id, ids[start : start + 500]))):
                if record.deleted_at is not None:
                    continue
                record.deleted_at = now
                retired[kind] += 1
                audit(
                    session,
                    actor,
                    kind,
                    record.id,
                    "retire",
                    {"deleted_at": None},
                    {"deleted_at": now.isoformat(), "excel_import_id": imp.id},
                )
    withdrawn: dict[int, list[str]] = {}  # each manager asked → the hand-overs no longer asked of them
    for task in session.scalars(  # the hand-overs it asked for: no longer asked
        select(Task).where(Task.origin == handover_origin(imp.id), Task.status == TaskStatus.OPEN)
    ):
        task.status = TaskStatus.CANCELLED
        audit(
            session,
            actor,
            "task",
            task.id,
            "cancel",
            {"status": "open"},
            {"status": "cancelled", "excel_import_id": imp.id},
        )
        withdrawn.setdefault(task.assignee_id, []).append(task.title)
    _tell_withdrawn(session, imp, withdrawn)
    opp_ids = list(imp.created_ids.get("opportunity", []))
    if opp_ids:
        for ticket in session.scalars(
            select(CollaborationTicket).where(
                CollaborationTicket.opportunity_id.in_(opp_ids), CollaborationTicket.status == TicketStatus.OPEN
            )
        ):
            ticket.status, ticket.closed_at = TicketStatus.CLOSED, now
            audit(
                session,
                actor,
                "collaboration_ticket",
                ticket.id,
                "close",
                {"status": "open"},
                {"status": "closed", "excel_import_id": imp.id},
            )
    for opp_id, before in (imp.created_ids.get("followed_up") or {}).items():
        opp = session.get(Opportunity, int(opp_id))
        if opp is not None and opp.last_touchpoint_id in touchpoint_ids:
            after = {
                "last_touchpoint_id": opp.last_touchpoint_id,
                "last_follow_up_at": opp.last_follow_up_at.isoformat(),
            }
            opp.last_touchpoint_id = before["last_touchpoint_id"]
            opp.last_follow_up_at = datetime.fromisoformat(before["last_follow_up_at"])
            audit(session, actor, "opportunity", opp.id, "follow_up_restored", after, before)
    before_status = imp.status.value
    imp.status, imp.undone_at, imp.undone_by_id = ImportStatus.UNDONE, now, actor.id
    session.flush()
    audit(
        session,
        actor,
        "excel_import",
        imp.id,
        "undo",
        {"status": before_status},
        {"status": "undone", "retired": retired},
    )
    record_event(session, "excel_import.undone", "excel_import", imp.id, actor, retired=retired)
    dashboard_snapshots.drop(session)
    return imp


def _tell_withdrawn(session: Session, imp: ExcelImport, withdrawn: dict[int, list[str]]) -> None:
    """Each manager who was told of a hand-over request in chat hears that it is withdrawn (its task is gone
    from their 待办): otherwise the message asking them stays the last word."""
    owner = session.get(User, imp.owner_id)
    for assignee_id, titles in withdrawn.items():
        decider = session.get(User, assignee_id)
        if decider is None or owner is None:
            continue
        listed = "、".join(titles[:5]) + (f"等 {len(titles)} 项" if len(titles) > 5 else "")
        engine.tell(
            session,
            decider,
            f"{owner.name}已撤销表格「{imp.filename}」的导入，之前的转交申请已撤回，无需处理：{listed}。",
            key=f"excel_import:{imp.id}:withdrawn:{assignee_id}",
        )


def progress(imp: ExcelImport) -> dict[str, Any]:
    percent = (
        100
        if imp.status is ImportStatus.DONE
        else (int(imp.processed_rows * 100 / imp.total_rows) if imp.total_rows else 0)
    )
    return {
        "id": imp.id,
        "status": imp.status.value,
        "status_label": imp.status.label,
        "filename": imp.filename,
        "total_rows": imp.total_rows,
        "processed_rows": imp.processed_rows,
        "percent": percent,
        "counts": imp.counts,
        "errors": imp.errors,
        "notes": imp.notes,
        "message": imp.message,
    }
