"""The preview (dry run): what each row would become, shown to the user to correct before anything is written.

Corrections are plain JSON, kept on the import and applied again at commit:
    {"columns": {"<sheet>": {"<column index>": "<field>" | ""}},      # "" = do not import the column
     "matches": {"<customer name as written>": <customer id> | "new"}}

A plan is made in two parts: `parse_plan` (the file, the column corrections and the reference day: fields,
remark entries, row errors; no database) and `match_plan` (each row's customer among the owner's, then the
match decisions). `keep`/`kept` turn the first part into JSON and back, so an import parses its file once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.errors import DomainError
from salesnav.handlers.excel_import.columns import (
    FIELD_LABELS,
    Column,
    apply_corrections,
    detect_columns,
    mapping,
    phone_text,
)
from salesnav.handlers.excel_import.dates import parse_date, reference_day
from salesnav.handlers.excel_import.header import data_rows, find_header, is_blank
from salesnav.handlers.excel_import.matching import Match, Matcher, normalise_name, normalise_phone
from salesnav.handlers.excel_import.reading import FileRejected, Workbook
from salesnav.handlers.excel_import.remarks import Entry, furthest, parse_amount, split_entries
from salesnav.models import Emotion, TouchpointType, User

HEADERS_ONLY = "表格里只有表头，没有可导入的数据行；请填好数据后再导入（未写入任何数据）"
NO_CUSTOMER_COLUMN = "没有识别出“客户名称”列，请在预览中指定哪一列是客户名称"
MATCH_LABELS = {
    "phone": "手机号相同",
    "exact": "名称相同",
    "fuzzy": "名称相近（推测）",
    "near_miss": "疑似重复",
    "new": "新客户",
    "corrected": "已手动匹配",
}


@dataclass
class PlannedRow:
    sheet: str
    row: int  # as Excel shows it
    customer_name: str
    contact_name: str | None = None
    title: str | None = None
    phone: str | None = None
    region: str | None = None
    grade: str | None = None
    kind: str | None = None
    product: str | None = None
    role: str | None = None
    amount_fen: int | None = None
    row_day: date | None = None
    entries: list[Entry] = field(default_factory=list)
    match: Match = field(default_factory=lambda: Match("new"))
    error: str | None = None

    @property
    def key(self) -> str:
        return normalise_name(self.customer_name)

    @property
    def stage(self) -> str | None:
        return furthest([e.stage for e in self.entries])

    @property
    def deal_amount_fen(self) -> int | None:
        return self.amount_fen or next((e.amount_fen for e in reversed(self.entries) if e.amount_fen), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "customer": self.customer_name,
            "contact": self.contact_name,
            "phone": self.phone,
            "match": MATCH_LABELS[self.match.how],
            "matched_customer_id": self.match.customer_id,
            "touchpoints": [
                {
                    "date": e.day.isoformat() if e.day else None,
                    "type": e.touchpoint_type.label,
                    "emotion": e.emotion.label,
                    "summary": e.text[:80],
                }
                for e in self.entries
            ],
            "stage": self.stage,
            "amount_fen": self.deal_amount_fen,
            "error": self.error,
        }


@dataclass
class SheetPlan:
    name: str
    header_row: int | None
    columns: list[Column]
    rows: int
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "header_row": self.header_row,
            "rows": self.rows,
            "note": self.note,
            "columns": [c.to_json() for c in self.columns],
        }


@dataclass
class ImportPlan:
    reference: date
    sheets: list[SheetPlan]
    rows: list[PlannedRow]
    blocking: str | None = None  # why nothing can be imported until the user corrects the columns

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"sheet": r.sheet, "row": r.row, "reason": r.error} for r in self.rows if r.error]

    def near_misses(self) -> list[dict[str, Any]]:
        """Customers that look like ones the owner already has: the user says match or new."""
        seen: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            if r.match.how in ("fuzzy", "near_miss") and r.customer_name not in seen:
                seen[r.customer_name] = {
                    "name": r.customer_name,
                    "rows": [],
                    "decision": r.match.customer_id if r.match.customer_id else "new",
                    "candidates": [c.to_json() for c in r.match.candidates],
                }
            if r.customer_name in seen:
                seen[r.customer_name]["rows"].append(r.row)
        return list(seen.values())

    def summary(self) -> dict[str, int]:
        good = [r for r in self.rows if not r.error]
        new = {r.key for r in good if r.match.customer_id is None}
        matched = {r.match.customer_id for r in good if r.match.customer_id is not None}
        return {
            "rows": len(self.rows),
            "new_customers": len(new),
            "matched_customers": len(matched),
            "touchpoints": sum(len(r.entries) for r in good),
            "opportunities": len({r.key for r in good if r.stage and r.deal_amount_fen}),
            "near_misses": len(self.near_misses()),
            "errors": len(self.rows) - len(good),
        }

    def to_json(self, preview_rows: int = 20) -> dict[str, Any]:
        return {
            "reference_date": self.reference.isoformat(),
            "blocking": self.blocking,
            "summary": self.summary(),
            "sheets": [s.to_json() for s in self.sheets],
            "fields": FIELD_LABELS,
            "near_misses": self.near_misses(),
            "errors": self.errors,
            "preview": [r.to_json() for r in self.rows[:preview_rows]],
        }


KEPT_FORMAT = 1  # of `keep`/`kept`; bump it whenever parse_plan's output changes, so older kept plans are redone


def keep(plan: ImportPlan) -> dict[str, Any]:
    """The file's part of a plan (`parse_plan`'s output, matches left out) as JSON, to be kept beside the file:
    the commit and the job then need neither read nor parse it again."""
    return {
        "format": KEPT_FORMAT,
        "reference": plan.reference.isoformat(),
        "blocking": plan.blocking,
        "sheets": [
            [s.name, s.header_row, s.rows, s.note, [[c.index, c.header, c.field, c.how, c.samples] for c in s.columns]]
            for s in plan.sheets
        ],
        "rows": [
            [
                r.sheet,
                r.row,
                r.customer_name,
                r.contact_name,
                r.title,
                r.phone,
                r.region,
                r.grade,
                r.kind,
                r.product,
                r.role,
                r.amount_fen,
                r.row_day.isoformat() if r.row_day else None,
                r.error,
                [
                    [
                        e.day.isoformat() if e.day else None,
                        e.text,
                        e.touchpoint_type.value,
                        e.emotion.value,
                        e.stage,
                        e.amount_fen,
                        e.guessed,
                    ]
                    for e in r.entries
                ],
            ]
            for r in plan.rows
        ],
    }


def kept(data: dict[str, Any]) -> ImportPlan | None:
    """The plan `keep` wrote (every customer still "new", for `match_plan`); None if it is of another format."""
    if data.get("format") != KEPT_FORMAT:
        return None
    day = date.fromisoformat
    types, emotions = {t.value: t for t in TouchpointType}, {e.value: e for e in Emotion}  # 10,000s of lookups
    plan = ImportPlan(day(data["reference"]), [], [], data["blocking"])
    for name, header_row, rows, note, columns in data["sheets"]:
        plan.sheets.append(SheetPlan(name, header_row, [Column(*c) for c in columns], rows, note))
    for *fields, row_day, error, entries in data["rows"]:
        row = PlannedRow(*fields, row_day=day(row_day) if row_day else None, error=error)
        row.entries = [
            Entry(day(d) if d else None, text, types[kind], emotions[emotion], stage, amount, guessed)
            for d, text, kind, emotion, stage, amount, guessed in entries
        ]
        plan.rows.append(row)
    return plan


def build_plan(
    session: Session,
    owner: User,
    workbook: Workbook,
    *,
    corrections: dict[str, Any] | None,
    now: datetime,
    tz: tzinfo,
) -> ImportPlan:
    """What the file would become for `owner`: the file read (`parse_plan`), then the customers matched."""
    corrections = corrections or {}
    plan = parse_plan(workbook, corrections.get("columns"), reference_day(workbook.file_date, now, tz))
    return match_plan(session, owner, plan, corrections.get("matches"))


def parse_plan(workbook: Workbook, columns: dict[str, Any] | None, reference: date) -> ImportPlan:
    """The part of the plan that depends only on the file, the column corrections and the reference day:
    every row's fields, remark entries and errors. Each row's customer is still "new" (see `match_plan`)."""
    plan = ImportPlan(reference, [], [])
    importable_sheets = 0
    for sheet in workbook.sheets:
        rows = [(n, cells) for n, cells in sheet.rows if not is_blank(cells)]
        if not rows:
            continue
        header_index = find_header(rows)
        if header_index is None:
            plan.sheets.append(SheetPlan(sheet.name, None, [], 0, "没有找到表头，已跳过"))
            continue
        data = data_rows(rows, header_index)
        sheet_columns = detect_columns(rows[header_index][1], [c for _, c in data], reference)
        apply_corrections(sheet_columns, (columns or {}).get(sheet.name))
        sheet_plan = SheetPlan(sheet.name, rows[header_index][0], sheet_columns, len(data))
        plan.sheets.append(sheet_plan)
        fields = mapping(sheet_columns)
        if not data:
            sheet_plan.note = "只有表头，没有数据"
            continue
        if "customer" not in fields:
            sheet_plan.note = NO_CUSTOMER_COLUMN
            continue
        importable_sheets += 1
        for number, cells in data:
            plan.rows.append(_plan_row(sheet.name, number, cells, fields, reference))
    if not any(s.rows for s in plan.sheets):
        raise FileRejected(HEADERS_ONLY)
    if importable_sheets == 0:
        plan.blocking = NO_CUSTOMER_COLUMN
    return plan


def match_plan(session: Session, owner: User, plan: ImportPlan, decisions: dict[str, Any] | None) -> ImportPlan:
    """Each good row's customer among those `owner` has now, then the user's match decisions."""
    matcher = Matcher(
        session,
        owner,
        auto_score=float(rule_settings.get(session, "excel_import.fuzzy_match_score")),
        near_score=float(rule_settings.get(session, "excel_import.near_miss_score")),
    )
    for row in plan.rows:
        row.match = Match("new") if row.error else matcher.match(row.customer_name, row.phone)
    _apply_match_decisions(plan, decisions or {}, matcher)
    return plan


def _cell(cells: list[Any], fields: dict[str, int], name: str) -> Any:
    index = fields.get(name)
    if index is None or index >= len(cells):
        return None
    value = cells[index]
    return value.strip() if isinstance(value, str) else value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _plan_row(sheet: str, number: int, cells: list[Any], fields: dict[str, int], reference: date) -> PlannedRow:
    row = PlannedRow(sheet, number, _text(_cell(cells, fields, "customer")) or "")
    row.contact_name = _text(_cell(cells, fields, "contact"))
    row.title = _text(_cell(cells, fields, "title"))
    row.phone = phone_text(_cell(cells, fields, "phone"))
    row.region = _text(_cell(cells, fields, "region"))
    row.grade = _text(_cell(cells, fields, "grade"))
    row.kind = _text(_cell(cells, fields, "kind"))
    row.product = _text(_cell(cells, fields, "product"))
    row.role = _text(_cell(cells, fields, "role"))
    row.amount_fen = parse_amount(_cell(cells, fields, "amount"))
    row.row_day = parse_date(_cell(cells, fields, "date"), reference, serials=True)
    row.entries = split_entries(_text(_cell(cells, fields, "remarks")) or "", reference)
    if not row.customer_name:
        row.error = "缺少客户名称"
        return row
    if row.phone and normalise_phone(row.phone) is None:
        row.error = f"手机号「{row.phone}」无法识别"
        return row
    if any(e.day and e.day > reference for e in row.entries):
        future = next(e.day for e in row.entries if e.day and e.day > reference)
        row.error = f"备注中的日期 {future.isoformat()} 晚于文件日期，无法作为已发生的触点"
    return row


def _apply_match_decisions(plan: ImportPlan, decisions: dict[str, Any], matcher: Matcher) -> None:
    for name, decision in decisions.items():
        if decision == "new":
            chosen = None
        else:
            try:
                chosen = int(decision)
            except (TypeError, ValueError) as exc:
                raise DomainError(f"「{name}」的匹配决定无效：请选择已有客户或“新客户”") from exc
            if chosen not in matcher.names:
                raise DomainError(f"「{name}」要匹配的客户不存在或不属于您")
        for row in plan.rows:
            if row.customer_name == name and not row.error:
                row.match = Match("corrected" if chosen else "new", chosen, row.match.candidates)
