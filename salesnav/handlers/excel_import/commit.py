"""Import a sheet as one recorded batch (ExcelImport): preview, commit (a job, in chunks, with progress), undo.

Every record is written through the handlers everyone else uses (customers, touchpoints, opportunities),
so the same rules apply: a checklist that blocks the inferred stage keeps the deal at the stage it can
reach, and says so in the import's notes — the rules are never bypassed. A row that fails is rolled back
alone (a savepoint) and listed with its row number and reason; the others go on. The same file imported
twice by the same owner returns the first import and creates nothing; undo retires exactly what the
import created (soft delete, each in the audit trail).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.access import can_access_owner
from salesnav.handlers.customers import add_contact, create_customer
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.excel_import.dates import at_business_day
from salesnav.handlers.excel_import.matching import normalise_phone
from salesnav.handlers.excel_import.plan import ImportPlan, PlannedRow, build_plan
from salesnav.handlers.excel_import.reading import Workbook, read_workbook
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.stages import INITIAL, stage_by_code
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.jobs import queue as jobs_queue
from salesnav.models import (
    CaptureSource,
    CollaborationTicket,
    Contact,
    Customer,
    CustomerKind,
    DecisionRole,
    ExcelImport,
    ImportStatus,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    TicketStatus,
    Touchpoint,
    User,
)
from salesnav.models import session as db

CHUNK_ROWS = 200  # rows per transaction: progress is visible, and a crash resumes from the last chunk
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.DONE)
KINDS = ("customer", "contact", "touchpoint", "opportunity")
MODELS: dict[str, Any] = {
    "customer": Customer,
    "contact": Contact,
    "touchpoint": Touchpoint,
    "opportunity": Opportunity,
}


def limits(session: Session) -> tuple[int, int]:
    return (
        int(float(rule_settings.get(session, "excel_import.max_file_mb")) * 1048576),
        int(rule_settings.get(session, "excel_import.max_rows")),
    )


def read(session: Session, data: bytes, filename: str) -> Workbook:
    max_bytes, max_rows = limits(session)
    return read_workbook(data, filename, max_bytes=max_bytes, max_rows=max_rows)


def _check_owner(session: Session, actor: User, owner: User) -> None:
    if owner.deleted_at or not owner.active:
        raise NotFound("导入的归属人不存在或已停用")
    if not can_access_owner(session, actor, owner.id):
        raise Forbidden("只能导入到自己或自己团队成员名下")


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
    plan = build_plan(session, owner, workbook, corrections=None, now=clock.now(), tz=tz)
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


def plan_of(session: Session, imp: ExcelImport, root: Path, tz: tzinfo, corrections: dict[str, Any]) -> ImportPlan:
    path = _stored_path(root, imp.file_sha256)
    if not path.exists():
        raise DomainError("导入文件已不在服务器上，请重新上传")
    owner = session.get(User, imp.owner_id)
    assert owner is not None
    return build_plan(
        session, owner, read(session, path.read_bytes(), imp.filename), corrections=corrections, now=clock.now(), tz=tz
    )


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
    plan = plan_of(session, imp, root, tz, merged)  # refuses bad corrections before anything is queued
    if plan.blocking:
        raise DomainError(plan.blocking)
    imp.corrections = merged
    imp.status = ImportStatus.QUEUED
    imp.total_rows = len(plan.rows)
    imp.counts = plan.summary()
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


def run_import(import_id: int, root: str, tz_name: str, notify: str | None = None) -> None:
    """The job: write the rows chunk by chunk, updating progress; resume after the last finished chunk."""
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
        )
        start = imp.processed_rows
    try:
        with db.transaction() as session:
            imp = session.get(ExcelImport, import_id)
            assert imp is not None
            plan = plan_of(session, imp, Path(root), tz, imp.corrections)
        for offset in range(start, len(plan.rows), CHUNK_ROWS):
            _run_chunk(import_id, plan, plan.rows[offset : offset + CHUNK_ROWS], state, tz)
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
        record_event(session, "excel_import.done", "excel_import", imp.id, None, counts=imp.counts)
        _notify(session, notify, imp)


def _notify(session: Session, notify: str | None, imp: ExcelImport) -> None:
    if notify:  # a channel's hook, e.g. the bot telling the rep in chat that the import is done
        jobs_queue.resolve(notify)(session, imp)


def _run_chunk(import_id: int, plan: ImportPlan, rows: list[PlannedRow], state: _Progress, tz: tzinfo) -> None:
    with db.transaction() as session:
        imp = session.get(ExcelImport, import_id)
        assert imp is not None
        owner = session.get(User, imp.owner_id)
        assert owner is not None
        for row in rows:
            if row.error:
                state.errors.append({"sheet": row.sheet, "row": row.row, "reason": row.error})
                continue
            pending = list(session.info.get(jobs_queue._PENDING, []))
            created = {k: [] for k in KINDS}  # type: dict[str, list[int]]
            notes: list[str] = []
            try:
                with session.begin_nested():
                    _apply_row(session, owner, row, plan, state, created, notes, tz)
            except DomainError as exc:
                session.info[jobs_queue._PENDING] = pending  # the rolled-back row's rule jobs go too
                state.errors.append({"sheet": row.sheet, "row": row.row, "reason": exc.message})
                if created["customer"]:
                    state.new_by_key.pop(row.key, None)
                continue
            for kind in KINDS:
                state.created[kind].extend(created[kind])
            state.notes.extend({"sheet": row.sheet, "row": row.row, "note": n} for n in notes)
        imp.processed_rows += len(rows)
        imp.errors = list(state.errors)
        imp.notes = list(state.notes)
        imp.created_ids = {**{k: list(v) for k, v in state.created.items()}, "followed_up": dict(state.followed_up)}
        imp.counts = {
            "customers": len(state.created["customer"]),
            "contacts": len(state.created["contact"]),
            "touchpoints": len(state.created["touchpoint"]),
            "opportunities": len(state.created["opportunity"]),
            "failed": len(state.errors),
        }


def _guess_kind(row: PlannedRow) -> CustomerKind:
    if row.kind and CustomerKind.from_label(row.kind):
        return CustomerKind.from_label(row.kind)  # type: ignore[return-value]
    name = row.customer_name
    if any(w in name for w in ("医院", "卫生院", "诊所", "卫生服务中心", "医疗中心", "院")):
        return CustomerKind.HOSPITAL
    if any(w in name for w in ("公司", "经销", "贸易", "医药", "商行")):
        return CustomerKind.DISTRIBUTOR
    return CustomerKind.OTHER


def _apply_row(
    session: Session,
    owner: User,
    row: PlannedRow,
    plan: ImportPlan,
    state: _Progress,
    created: dict[str, list[int]],
    notes: list[str],
    tz: tzinfo,
) -> None:
    customer_id = row.match.customer_id or state.new_by_key.get(row.key)
    if customer_id is None:
        customer = create_customer(
            session, owner, name=row.customer_name, kind=_guess_kind(row), grade=row.grade, region=row.region
        )
        customer_id = customer.id
        state.new_by_key[row.key] = customer_id
        created["customer"].append(customer_id)
    elif customer_id not in state.new_by_key.values():
        _remember_follow_up(session, customer_id, state)

    contact_id = _contact(session, owner, customer_id, row, created)
    now = clock.now()
    opportunity: Opportunity | None = None
    linked = False  # a touchpoint followed up a deal the customer already has
    target = row.stage
    amount = row.deal_amount_fen
    for entry in sorted(row.entries, key=lambda e: e.day or row.row_day or plan.reference):
        guessed = list(entry.guessed)
        if entry.day is None and row.row_day is None:
            guessed.append("occurred_at")
        day = entry.day or row.row_day or plan.reference
        wants_deal = opportunity is None and target is not None and amount is not None and entry.stage is not None
        if wants_deal:
            guessed += ["opportunity.stage", "opportunity.amount"] + (
                [] if row.product else ["opportunity.product_line"]
            )
        touchpoint = log_touchpoint(
            session,
            owner,
            customer_id=customer_id,
            type=entry.touchpoint_type,
            emotion=entry.emotion,
            summary=entry.text,
            contact_ids=[contact_id] if contact_id else None,
            occurred_at=at_business_day(day, tz, now),
            source=CaptureSource.EXCEL_IMPORT,
            guessed_fields=guessed,
        )
        created["touchpoint"].append(touchpoint.id)
        linked = linked or (opportunity is None and touchpoint.opportunity_id is not None)
        if wants_deal:
            if touchpoint.opportunity_id is not None:
                notes.append("客户已有进行中的商机，备注中的商机信息记在该商机上，未重复创建")
                target = None
                continue
            opportunity = create_from_touchpoint(
                session,
                owner,
                touchpoint_id=touchpoint.id,
                title=f"{row.customer_name} {row.product or '待定产品'}"[:200],
                product_line=row.product or "待定",
                expected_amount_fen=amount,  # type: ignore[arg-type]
            )
            created["opportunity"].append(opportunity.id)
    if target and amount is None and not linked:
        notes.append(
            f"备注提到商机（推断阶段：{stage_by_code(session, target).name}），但没有金额，未建商机；"
            "请补上金额列后重新导入，或在小程序中建商机"
        )
    if opportunity is not None and target and target != INITIAL:
        _reach(session, owner, opportunity, target, notes)


def _contact(
    session: Session, owner: User, customer_id: int, row: PlannedRow, created: dict[str, list[int]]
) -> int | None:
    if not row.contact_name and not row.phone:
        return None
    e164 = normalise_phone(row.phone)
    for contact in session.scalars(
        select(Contact).where(Contact.customer_id == customer_id, Contact.deleted_at.is_(None))
    ):
        if (e164 and contact.phone == e164) or (
            row.contact_name and contact.name == row.contact_name and (not e164 or not contact.phone)
        ):
            return contact.id
    role = DecisionRole.from_label(row.role) if row.role else None
    contact = add_contact(
        session,
        owner,
        customer_id=customer_id,
        name=row.contact_name or "未留姓名",
        title=row.title,
        phone=row.phone,
        decision_role=role,
    )
    created["contact"].append(contact.id)
    return contact.id


def _remember_follow_up(session: Session, customer_id: int, state: _Progress) -> None:
    """An imported touchpoint on an existing customer follows up its open deal; undo must put that back."""
    for opp in session.scalars(
        select(Opportunity).where(
            Opportunity.customer_id == customer_id,
            Opportunity.deleted_at.is_(None),
            Opportunity.status == OpportunityStatus.OPEN,
        )
    ):
        state.followed_up.setdefault(
            str(opp.id),
            {"last_touchpoint_id": opp.last_touchpoint_id, "last_follow_up_at": opp.last_follow_up_at.isoformat()},
        )


def _reach(session: Session, owner: User, opp: Opportunity, target_code: str, notes: list[str]) -> None:
    """Advance to the inferred stage, or the furthest stage before it whose checklist allows it — never past a rule."""
    target = stage_by_code(session, target_code)
    stages = session.scalars(
        select(Stage)
        .where(
            Stage.deleted_at.is_(None),
            Stage.outcome == StageOutcome.OPEN,
            Stage.position > opp.stage.position,
            Stage.position <= target.position,
        )
        .order_by(Stage.position.desc())
    ).all()
    refusals: list[str] = []
    for stage in stages:
        try:
            with session.begin_nested():
                advance_stage(session, owner, opportunity_id=opp.id, to_stage=stage.code)
        except DomainError as exc:
            refusals.append(exc.message)
            continue
        if stage.id != target.id:
            notes.append(f"推断阶段为「{target.name}」，但{refusals[0]}；商机停在「{stage.name}」")
        return
    if refusals:
        notes.append(
            f"推断阶段为「{target.name}」，但{refusals[0]}；商机停在「{opp.stage.name}」，补齐后可在小程序推进"
        )


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
            for record in session.scalars(select(model).where(model.id.in_(ids[start : start + 500]))):
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
    return imp


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
