"""The preview (dry run): what each row would become, shown to the user to correct before anything is written.

Corrections are plain JSON, kept on the import and applied again at commit:
    {"columns": {"<sheet>": {"<column index>": "<field>" | ""}},      # "" = do not import the column
     "matches": {"<customer name as written>": <customer id> | "new" | "log" | "handover" | "skip"}}

A customer is matched across the whole company (customers.CustomerIndex): the same mobile phone or the same
normalised name is the same customer, within the file (rows are merged) and against the customers already
there. One owned by another rep is never filed again: the preview names its owner, and the user chooses to
log the rows under it ("log"), to ask for a hand-over ("handover", the default: a task for the owner's
manager, nothing written) or to leave the rows out ("skip").

A plan is made in two parts: `parse_plan` (the file, the column corrections and the reference day: fields,
remark entries, row errors; no database) and `match_plan` (each row's customer among the owner's, then the
match decisions). `keep`/`kept` turn the first part into JSON and back, so an import parses its file once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from salesnav.handlers import rule_settings
from salesnav.handlers.customers import (
    Candidate,
    CustomerIndex,
    CustomerMatch,
    NameSet,
    in_other_places,
    mainland_phone,
    normalise_name,
)
from salesnav.handlers.errors import ChecklistIncomplete, DomainError
from salesnav.handlers.excel_import.columns import (
    FIELD_LABELS,
    Column,
    apply_corrections,
    detect_columns,
    mapping,
    phone_text,
)
from salesnav.handlers.excel_import.header import data_rows, find_header, header_cells, is_blank
from salesnav.handlers.excel_import.reading import FileRejected, Workbook
from salesnav.handlers.excel_import.remarks import (
    Entry,
    date_entries,
    furthest,
    infer_stage,
    parse_amount,
    split_entries,
)
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.stages import INITIAL, required_items
from salesnav.handlers.touchpoints import follows_the_deal_in_progress, open_deal_counts
from salesnav.models import (
    Emotion,
    Stage,
    StageOutcome,
    TouchpointType,
    User,
)
from salesnav.text.cn_dates import YearHint, first_full_date, parse_date, reference_day, title_hint

HEADERS_ONLY = "表格里只有表头，没有可导入的数据行；请填好数据后再导入（未写入任何数据）"
NO_CUSTOMER_COLUMN = "没有识别出“客户名称”列，请在预览中指定哪一列是客户名称"
MATCH_LABELS = {
    "phone": "手机号相同",
    "exact": "名称相同",
    "fuzzy": "名称相近（推测）",
    "near_miss": "疑似重复",
    "new": "新客户",
    "corrected": "已手动匹配",
    "taken": "他人客户",
}
# What reps write in a 阶段 column for the default stages, beyond their names and the deal words (remarks.py).
STAGE_ALIASES = {
    "初步接洽": "初步接触",
    "初次接触": "初步接触",
    "初访": "初步接触",
    "线索": "初步接触",
    "接触": "初步接触",
    "成交": "赢单",
    "已成交": "赢单",
    "已签约": "赢单",
    "签单": "赢单",
    "丢单": "输单",
    "失败": "输单",
    "已丢单": "输单",
}
EXISTING_DEAL_NOTE = "客户已有进行中的商机，备注中的商机信息记在该商机上，未重复创建"
NO_REMARK_NOTE = "有金额但没有跟进记录（备注为空），未建商机；请补上备注后重新导入"
DEAL_WORDS_NOTE = (
    "备注提到商机（推断阶段：{stage}），但没有金额，未建商机；"
    "请补上金额列后重新导入，或在客户端对该客户记触点后由此建商机"
)
UNCHECKED_PHONE = "电话待核实："  # before a phone that is neither a mobile nor a landline, on the contact
_RANGE = re.compile(r"\d\s*[万wW]?\s*[-~～至到]\s*\d")  # 30-50万, 30万~50万, 30到50万
SPLIT_MARK = "\x1f"  # in a group key: the spelling the user split off follows it
YEAR_SCAN_ROWS = 200  # rows searched for a full date when a sheet's title names no year
SIMILAR_SCAN_ALL = 2000  # new customers in a file up to which each is compared with all the others
TAKEN_CHOICES = {"handover": "申请转交（暂不写入）", "log": "记在该客户名下", "skip": "不导入"}
MERGE_CHOICES = {"merge": "合并为同一客户", "split": "分开，作为另一个客户"}
MERGED_BY = {"phone": "手机号相同", "name": "名称相同（去掉分院/括号/有限公司等写法差异后）"}
CLOSED_STAGE_NOTE = "阶段「{text}」是已结束的商机（{name}），导入只建进行中的商机：未建商机，跟进记录照常导入"
Match = CustomerMatch


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
    stage_text: str | None = None  # the 阶段 column as written
    notes: list[str] = field(default_factory=list)  # what the row loses or guesses, said in the preview
    phone_e164: str | None = None  # None: no phone, or one that is neither a mobile nor a landline (noted)
    stage_code: str | None = None  # the 阶段 column's stage (match_plan: the stages are in the database)
    group: str = ""  # rows of one customer in the file share it (same phone or normalised name)
    merged_with: int | None = None  # the first row of that customer, when this row was merged into it
    merged_sheet: str | None = None  # … and its sheet
    choice: str | None = None  # for another rep's customer: handover, log or skip
    merged_by: str | None = None  # why it was merged into that row: "phone" or "name"
    no_deal: str | None = None  # why the row's amount opens no deal although it has one (said in its notes)
    follows_deal: bool = False  # its deal words go to the one deal its customer already has (match_plan)

    @property
    def key(self) -> str:
        return self.group or normalise_name(self.customer_name)

    @property
    def stage(self) -> str | None:
        """The 阶段 column wins over what the remarks suggest."""
        return self.stage_code or furthest([e.stage for e in self.entries])

    @property
    def stage_guessed(self) -> bool:
        return self.stage_code is None

    @property
    def opens_deal(self) -> bool:
        """Whether the commit opens a deal for this row: an amount, a remark to open it at, a customer of the
        rep's own with no deal in progress (`follows_deal`), and no closed stage."""
        return bool(
            self.entries
            and not self.error
            and self.match.how != "taken"
            and not self.no_deal
            and not self.follows_deal
            and self.deal_amount_fen
        )

    @property
    def deal_amount_fen(self) -> int | None:
        return self.amount_fen or next((e.amount_fen for e in reversed(self.entries) if e.amount_fen), None)

    @property
    def written(self) -> bool:
        """Whether the commit writes this row (another rep's customer: only when the user chose to log it)."""
        return not self.error and (self.match.how != "taken" or self.choice == "log")

    def to_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "customer": self.customer_name,
            "contact": self.contact_name,
            "phone": self.phone,
            "match": MATCH_LABELS[self.match.how],
            "matched_customer_id": self.match.customer_id,
            "owner": self.match.owner_name if self.match.how == "taken" else None,
            "choice": TAKEN_CHOICES.get(self.choice or "") if self.match.how == "taken" else None,
            "merged_with_row": self.merged_with,
            "touchpoints": [
                {
                    "date": e.day.isoformat() if e.day else None,
                    "date_guessed": "occurred_at" in e.guessed,
                    "type": e.touchpoint_type.label,
                    "emotion": e.emotion.label,
                    "summary": e.text[:80],
                }
                for e in self.entries
            ],
            "stage": self.stage,
            "stage_guessed": self.stage_guessed if self.stage else None,
            "amount_fen": self.deal_amount_fen,
            "error": self.error,
            "notes": self.notes,
        }


@dataclass
class SheetPlan:
    name: str
    header_row: int | None
    columns: list[Column]
    rows: int
    note: str | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)  # rows left out (合计, 小计), each with its note

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

    @property
    def notes(self) -> list[dict[str, Any]]:
        """What good rows lose or guess (a phone kept as text, an amount unread, an undated remark…) and the
        rows left out (a 小计 row), sheet by sheet in row order."""
        order = {s.name: i for i, s in enumerate(self.sheets)}
        # A row not written (another rep's customer, handed over) says why under 其他同事的客户, not here.
        found = [(order.get(r.sheet, 0), r.row, r.sheet, n) for r in self.rows if r.written for n in r.notes]
        found += [(order[s.name], row, s.name, note) for s in self.sheets for row, note in s.skipped]
        found.sort(key=lambda item: (item[0], item[1]))  # stable: a row's notes keep their order
        return [{"sheet": sheet, "row": row, "note": note} for _, row, sheet, note in found]

    @property
    def sheet_notes(self) -> list[dict[str, Any]]:
        """The rows left out of the sheets (合计, 小计), with their notes: not rows of the plan."""
        return [
            {"sheet": s.name, "row": row, "note": note, "skipped": True} for s in self.sheets for row, note in s.skipped
        ]

    def merges(self) -> list[dict[str, Any]]:
        """Rows of the file that are one customer (same phone or same normalised name, spelled differently),
        with why (`by`: phone or name) and how to undo it: the matches decision {"<name>": "split"}."""
        out = []
        heads = {(h.sheet, h.row): h for h in self.rows}
        for r in self.rows:
            if r.merged_with is None or r.error:
                continue
            head = heads.get((r.merged_sheet or r.sheet, r.merged_with))
            if head is not None and head.customer_name != r.customer_name:
                out.append(
                    {
                        "sheet": r.sheet,
                        "row": r.row,
                        "name": r.customer_name,
                        "into_sheet": head.sheet,
                        "into_row": head.row,
                        "into": head.customer_name,
                        "by": r.merged_by,
                        "by_label": MERGED_BY.get(r.merged_by or "", ""),
                        "decision": "merge",
                        "choices": MERGE_CHOICES,
                    }
                )
        return out

    def taken(self) -> list[dict[str, Any]]:
        """Customers another rep owns: whose each is, and the choices (log under it, hand-over, leave out)."""
        seen: dict[int, dict[str, Any]] = {}
        for r in self.rows:
            if r.error or r.match.how != "taken" or r.match.customer_id is None:
                continue
            item = seen.setdefault(
                r.match.customer_id,
                {
                    "name": r.customer_name,
                    "customer_id": r.match.customer_id,
                    "existing_name": r.match.candidates[0].name if r.match.candidates else r.customer_name,
                    "owner": r.match.owner_name,
                    "rows": [],
                    "decision": r.choice,
                    "choices": TAKEN_CHOICES,
                },
            )
            item["rows"].append(r.row)
        return list(seen.values())

    def near_misses(self) -> list[dict[str, Any]]:
        """Customers that look like ones the company already has, for the user to say match or new: a close
        spelling (fuzzy, near miss), or the same mobile as a contact of a customer of another name (phone)."""
        seen: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            if r.error:
                continue
            other_name = r.match.how == "phone" and bool(r.match.candidates)  # set only when the names differ
            if (r.match.how in ("fuzzy", "near_miss") or other_name) and r.customer_name not in seen:
                seen[r.customer_name] = {
                    "name": r.customer_name,
                    "rows": [],
                    "decision": r.match.customer_id if r.match.customer_id else "new",
                    "why": "手机号与已有客户的联系人相同，名称不同" if other_name else MATCH_LABELS[r.match.how],
                    "candidates": [c.to_json() for c in r.match.candidates],
                }
            if r.customer_name in seen:
                seen[r.customer_name]["rows"].append(r.row)
        return list(seen.values())

    def summary(self) -> dict[str, int]:
        good = [r for r in self.rows if r.written]
        new = {r.key for r in good if r.match.customer_id is None}
        matched = {r.match.customer_id for r in good if r.match.customer_id is not None}
        return {
            "rows": len(self.rows),
            "new_customers": len(new),
            "matched_customers": len(matched),
            "touchpoints": sum(len(r.entries) for r in good),
            "opportunities": len({r.key for r in good if r.opens_deal}),
            "near_misses": len(self.near_misses()),
            "merged_rows": len(self.merges()),
            "others_customers": len(self.taken()),
            "notes": len(self.notes),
            "errors": len([r for r in self.rows if r.error]),
        }

    def lines(self, shown: int = 5) -> list[str]:
        """The preview in a few Chinese lines a person reads (chat): what was merged and why, whose customers
        are whose, near misses, rows left out and every note — `shown` of each, the rest counted."""

        def listed(title: str, items: list[str]) -> list[str]:
            if not items:
                return []
            more = [f"…另有 {len(items) - shown} 条"] if len(items) > shown else []
            return [f"{title}（{len(items)}）：", *(f"· {item}" for item in items[:shown]), *more]

        def where(item: dict[str, Any]) -> str:
            return f"{item['sheet']} 第{item['row']}行"

        return [
            *listed(
                "同一客户，已合并",
                [
                    f"{where(m)}「{m['name']}」并入第{m['into_row']}行「{m['into']}」（{m['by_label']}）"
                    for m in self.merges()
                ],
            ),
            *listed(
                "其他同事的客户，不会重复建档",
                [
                    f"「{t['existing_name']}」归属{t['owner']}（第{'、'.join(map(str, t['rows']))}行）："
                    f"{TAKEN_CHOICES[t['decision']]}"
                    for t in self.taken()
                ],
            ),
            *listed(
                "疑似已有客户",
                [
                    f"「{n['name']}」像「{n['candidates'][0]['name']}」（{n['why']}）："
                    f"{'记在该客户名下' if n['decision'] != 'new' else '建新客户'}"
                    for n in self.near_misses()
                    if n["candidates"]
                ],
            ),
            *listed("不会导入的行", [f"{where(e)} {e['reason']}" for e in self.errors]),
            *listed("提示", [f"{where(n)} {n['note']}" for n in self.notes]),
        ]

    def to_json(self, preview_rows: int = 20) -> dict[str, Any]:
        return {
            "reference_date": self.reference.isoformat(),
            "blocking": self.blocking,
            "summary": self.summary(),
            "sheets": [s.to_json() for s in self.sheets],
            "fields": FIELD_LABELS,
            "near_misses": self.near_misses(),
            "merges": self.merges(),
            "others_customers": self.taken(),
            "errors": self.errors,
            "notes": self.notes,
            "preview": [r.to_json() for r in self.rows[:preview_rows]],
        }


KEPT_FORMAT = 3  # of `keep`/`kept`; bump it whenever parse_plan's output changes, so older kept plans are redone


def keep(plan: ImportPlan) -> dict[str, Any]:
    """The file's part of a plan (`parse_plan`'s output, matches left out) as JSON, to be kept beside the file:
    the commit and the job then need neither read nor parse it again."""
    return {
        "format": KEPT_FORMAT,
        "reference": plan.reference.isoformat(),
        "blocking": plan.blocking,
        "sheets": [
            [
                s.name,
                s.header_row,
                s.rows,
                s.note,
                [[c.index, c.header, c.field, c.how, c.samples] for c in s.columns],
                [list(item) for item in s.skipped],
            ]
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
                r.stage_text,
                r.notes,
                r.phone_e164,
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
    for name, header_row, rows, note, columns, skipped in data["sheets"]:
        sheet = SheetPlan(name, header_row, [Column(*c) for c in columns], rows, note)
        sheet.skipped = [(row, text) for row, text in skipped]
        plan.sheets.append(sheet)
    for *fields, row_day, error, stage_text, notes, phone_e164, entries in data["rows"]:
        row = PlannedRow(*fields)  # the kept fields in their declared order, then the later ones by name
        row.row_day, row.error, row.stage_text = day(row_day) if row_day else None, error, stage_text
        row.notes, row.phone_e164 = list(notes), phone_e164  # match_plan adds to them: not the kept JSON's
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
    every row's fields, dated remark entries, notes and errors. Each row's customer is still "new" (see
    `match_plan`)."""
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
        data, skipped = data_rows(rows, header_index)
        sheet_columns = detect_columns(header_cells(rows, header_index), [c for _, c in data], reference)
        apply_corrections(sheet_columns, (columns or {}).get(sheet.name))
        sheet_plan = SheetPlan(sheet.name, rows[header_index][0], sheet_columns, len(data), skipped=skipped)
        plan.sheets.append(sheet_plan)
        fields = mapping(sheet_columns)
        if not data:
            sheet_plan.note = "只有表头，没有数据"
            continue
        if "customer" not in fields:
            sheet_plan.note = NO_CUSTOMER_COLUMN
            continue
        importable_sheets += 1
        # The title rows above the header (「2025年下半年客户跟进表」), else the sheet's name, say the year.
        titles = [str(c) for _, cells in rows[:header_index] for c in cells if isinstance(c, str)]
        hint = title_hint([*titles, sheet.name])
        # Until a row above says, the first full date in the sheet's dates and remarks says the year.
        below = first_full_date(
            (_cell(c, fields, name) for _, c in data[:YEAR_SCAN_ROWS] for name in ("date", "remarks")), reference
        )
        neighbour: date | None = None
        for number, cells in data:
            row = _plan_row(sheet.name, number, cells, fields, reference, hint, neighbour, below)
            plan.rows.append(row)
            days = [e.day for e in row.entries if e.day and "occurred_at" not in e.guessed]
            neighbour = max(days, default=None) or row.row_day or neighbour
    if not any(s.rows for s in plan.sheets):
        raise FileRejected(HEADERS_ONLY)
    if importable_sheets == 0:
        plan.blocking = NO_CUSTOMER_COLUMN
    return plan


def match_plan(
    session: Session, owner: User, plan: ImportPlan, decisions: dict[str, Any] | None, *, similar: bool = True
) -> ImportPlan:
    """Each good row's customer: rows of one customer in the file merged (same phone or normalised name,
    unless the user split that spelling off), then each group matched among the company's customers (one
    index of the company's normalised names and phones, built in a few queries: set-based, never a query per
    row), close spellings of new customers noted (`similar`), the 阶段 column read against the stages, then
    the user's match decisions."""
    settings = rule_settings.excel_import(session)
    index = CustomerIndex(
        session,
        owner,
        auto_score=settings.fuzzy_match_score,
        near_score=settings.near_miss_score,
        preferred_owner=owner.id,
    )
    decisions = decisions or {}
    _group_rows(plan.rows, {name for name, decision in decisions.items() if decision == "split"})
    groups: dict[str, tuple[str, str | None]] = {}
    for row in plan.rows:
        if row.error:
            row.match = Match("new")
            continue
        name, phone = groups.get(row.group, (row.customer_name, None))
        groups[row.group] = (name, phone or row.phone_e164)  # the group's first phone finds its customer
    matched = dict(zip(groups, index.match_many(list(groups.values())), strict=True))
    for row in plan.rows:
        if row.error:
            continue
        row.match = matched[row.group]
        cid = row.match.customer_id
        if cid is not None and not index.is_mine(cid):
            row.match = Match(
                "taken", cid, [Candidate(cid, index.names[cid], 100.0)], row.match.owner_id, row.match.owner_name
            )
            row.choice = "handover"
        elif row.match.how == "phone" and cid is not None:
            key, existing = normalise_name(groups[row.group][0]), normalise_name(index.names[cid])
            if key == existing:
                continue
            # One mobile, two names: filed under the existing customer unless the user says it is a new one.
            score = fuzz.ratio(key, existing)
            owner_id, owner_name = index.owners[cid]
            candidate = Candidate(cid, index.names[cid], score, owner_id, owner_name)
            row.match = Match("phone", cid, [candidate], owner_id, owner_name)
    if similar:
        _note_similar_in_file(plan.rows, matched, index.near_score)
    _note_contact_phones(plan.rows)
    names = _read_stages(session, plan.rows)
    _apply_match_decisions(plan, decisions, index)
    _note_deals_followed(session, plan.rows)
    _note_stage_stops(session, plan.rows)
    with_deal = {r.group for r in plan.rows if r.deal_amount_fen and not r.error}
    for row in plan.rows:  # a new customer's remarks speak of a deal, but no amount says how much: said now
        stage = row.stage
        if row.error or row.group in with_deal or row.stage_text or not stage or row.match.customer_id is not None:
            continue
        note = DEAL_WORDS_NOTE.format(stage=names.get(stage, stage))
        if note not in row.notes:
            row.notes.append(note)
    return plan


def _note_deals_followed(session: Session, rows: list[PlannedRow]) -> None:
    """A row's deal words go to the deal its customer has in progress, as a touchpoint logged on that customer
    would (`follows_the_deal_in_progress`) — one the rep had, or one an earlier row of the file opens: said now,
    not only after the commit. Otherwise the row opens its own."""
    existing = list({r.match.customer_id for r in rows if r.written and r.match.customer_id is not None})
    in_progress: dict[Any, int] = {("id", cid): n for cid, n in open_deal_counts(session, existing).items()}
    for row in rows:
        row.follows_deal = False
        if EXISTING_DEAL_NOTE in row.notes:  # said by an earlier planning (the preview): said afresh below
            row.notes.remove(EXISTING_DEAL_NOTE)
        if not row.opens_deal:
            continue
        customer = ("id", row.match.customer_id) if row.match.customer_id else ("key", row.key)
        deals = in_progress.get(customer, 0)
        if follows_the_deal_in_progress(deals):
            row.follows_deal = True
            row.notes.append(EXISTING_DEAL_NOTE)
            continue
        in_progress[customer] = deals + 1


def stage_stop_note(row: PlannedRow, target: str, refused: str, stopped: str, *, at_start: bool) -> str:
    """What a new deal's row says when a checklist on the way stops the deal short of its stage."""
    said = "推断阶段" if row.stage_guessed else "阶段"
    after = "，补齐后可在客户端的商机推进卡上推进" if at_start else ""
    return f"{said}为「{target}」，但{refused}；商机停在「{stopped}」{after}"


def is_stage_stop_note(note: str) -> bool:
    return note.startswith(("推断阶段为「", "阶段为「")) and "商机停在「" in note


def _note_stage_stops(session: Session, rows: list[PlannedRow]) -> None:
    """A new deal starts at the first stage and is moved to its row's stage through every checklist on the way
    (never past a rule). An import brings no checklist evidence, so the deal stops before the first stage that
    requires some: said now, in the words the commit uses when it gets there (worked out once per stage)."""
    stages = sorted(
        session.scalars(
            select(Stage)
            .where(Stage.deleted_at.is_(None), Stage.outcome == StageOutcome.OPEN)
            .options(selectinload(Stage.checklist))
        ),
        key=lambda stage: stage.position,
    )
    start = next((stage for stage in stages if stage.code == INITIAL), None)
    if start is None:
        return
    later = [stage for stage in stages if stage.position > start.position]
    names = {stage.code: stage.name for stage in later}
    stops: dict[str, tuple[str, str, bool] | None] = {}  # target → (why refused, where it stops, at the start)
    reached = start
    gaps: dict[str, list[str]] = {}
    for stage in later:
        if lacking := [item.name for item in required_items(stage)]:
            gaps[stage.name] = lacking
        elif not gaps:
            reached = stage  # no checklist asks for anything up to here
        if not gaps:
            stops[stage.code] = None
            continue
        flat = [item for items in gaps.values() for item in items]
        stops[stage.code] = (ChecklistIncomplete(stage.name, flat, dict(gaps)).message, reached.name, reached is start)
    said: dict[tuple[str, bool], str] = {}
    for row in rows:
        if row.notes:  # an earlier planning's (the preview's, before the user's corrections): said afresh below
            row.notes[:] = [note for note in row.notes if not is_stage_stop_note(note)]
        if not row.opens_deal or (stop := stops.get(row.stage or "")) is None:
            continue
        key = (row.stage or "", row.stage_guessed)
        if key not in said:
            refused, stopped, at_start = stop
            said[key] = stage_stop_note(row, names[key[0]], refused, stopped, at_start=at_start)
        if said[key] not in row.notes:
            row.notes.append(said[key])


def _note_similar_in_file(rows: list[PlannedRow], matched: dict[str, Match], near_score: float) -> None:
    """Two new customers of the file whose names are close (not equal once normalised): both are filed, and
    the later one's row says which it resembles, for the user to write them alike if they are one."""
    heads: dict[str, PlannedRow] = {}
    for row in rows:
        if not row.error and matched[row.group].customer_id is None and SPLIT_MARK not in row.group:
            heads.setdefault(row.group, row)  # (a spelling the user split off is apart on purpose)
    keys = list(heads)
    names = NameSet(keys, near_score)
    scan_all = len(keys) <= SIMILAR_SCAN_ALL  # a bulk migration of thousands: only what the characters narrow
    for i, key in enumerate(keys):
        earlier = [
            (j, score)
            for j, score in names.closest(key, limit=4, scan_all=scan_all)
            if j < i and not in_other_places(heads[keys[j]].customer_name, heads[key].customer_name)
        ]
        if not earlier:
            continue
        j, score = earlier[0]
        like, row = heads[keys[j]], heads[key]
        note = (
            f"与{like.sheet} 第{like.row}行「{like.customer_name}」名称相近（相似度 {score:.0f}），将作为两个客户导入；"
            "如是同一客户，请统一写法后重新上传"
        )
        if note not in row.notes:
            row.notes.append(note)


def _group_rows(rows: list[PlannedRow], split: set[str] | frozenset[str] = frozenset()) -> None:
    """Rows of one customer share a group: the same mobile or landline, or the same normalised name (each
    row joins the first row it shares either with; two groups a row links are merged). A spelling the user
    split off (`split`, names as written) groups only with rows of that very spelling."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    by_name: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    good = [(i, r) for i, r in enumerate(rows) if not r.error]
    for i, row in good:
        parent[i] = i
        apart = row.customer_name in split
        name_key = f"{SPLIT_MARK}{row.customer_name}" if apart else normalise_name(row.customer_name)
        for table, key in ((by_name, name_key), (by_phone, None if apart else row.phone_e164)):
            if not key:
                continue
            if key in table:
                a, b = root(i), root(table[key])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                table[key] = i
    for i, row in good:
        head = rows[root(i)]
        row.group = (
            f"{normalise_name(head.customer_name)}{SPLIT_MARK}{head.customer_name}"
            if head.customer_name in split
            else normalise_name(head.customer_name)
        )
        if root(i) == i:
            row.merged_with = row.merged_sheet = row.merged_by = None
            continue
        row.merged_with, row.merged_sheet = head.row, head.sheet
        same_name = normalise_name(row.customer_name) == normalise_name(head.customer_name)
        row.merged_by = "name" if same_name else "phone"


def _note_contact_phones(rows: list[PlannedRow]) -> None:
    """A near miss within a customer: one contact name with two different phones in the file (a changed
    number, or a typo). Both are kept, as two contacts; the later row says so."""
    seen: dict[tuple[str, str], PlannedRow] = {}
    for row in rows:
        if row.error or not row.contact_name or not row.phone_e164:
            continue
        first = seen.setdefault((row.group, row.contact_name), row)
        if first.phone_e164 != row.phone_e164:
            note = (
                f"联系人「{row.contact_name}」在{first.sheet} 第{first.row}行的电话是 {first.phone}，"
                f"这里是 {row.phone}：将作为两个联系人导入；如是同一人，请核对号码"
            )
            if note not in row.notes:
                row.notes.append(note)


def _read_stages(session: Session, rows: list[PlannedRow]) -> dict[str, str]:
    """The 阶段 column against the company's stages: a code or a name (方案演示), else an alias the deal words
    read (演示中 → 方案演示, 报价 → 商务谈判; said in the notes); one it cannot read is noted, never guessed
    silently. A closed stage (赢单, 输单) opens no deal: the import files open deals only (said)."""
    stages = {s.code: s for s in session.scalars(select(Stage).where(Stage.deleted_at.is_(None)))}
    by_name = {s.name: s for s in stages.values()}
    known: dict[str, tuple[Stage | None, bool]] = {}  # text → (stage, read through an alias)
    for row in rows:
        if not row.stage_text or row.error:
            continue
        if row.stage_text not in known:
            text = unicodedata.normalize("NFKC", row.stage_text).strip()
            stage = stages.get(text) or by_name.get(text) or by_name.get(STAGE_ALIASES.get(text, ""))
            alias = stage is None
            if stage is None:
                code = infer_stage(text)
                stage = stages.get(code) if code else None
            known[row.stage_text] = (stage, alias)
        stage, alias = known[row.stage_text]
        if stage is not None and stage.outcome is not StageOutcome.OPEN:
            row.stage_code, row.no_deal = None, CLOSED_STAGE_NOTE.format(text=row.stage_text, name=stage.name)
            note = row.no_deal if row.deal_amount_fen else None
        elif stage is not None:
            row.stage_code = stage.code
            note = f"阶段「{row.stage_text}」读作「{stage.name}」" if alias else None
        else:
            row.stage_code = None
            note = f"阶段「{row.stage_text}」不是已设置的商机阶段，按备注推断"
        if note and note not in row.notes:
            row.notes.append(note)
    return {code: stage.name for code, stage in stages.items()}


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


def _plan_row(
    sheet: str,
    number: int,
    cells: list[Any],
    fields: dict[str, int],
    reference: date,
    hint: YearHint,
    neighbour: date | None,
    below: date | None = None,
) -> PlannedRow:
    row = PlannedRow(sheet, number, _text(_cell(cells, fields, "customer")) or "")
    row.contact_name = _text(_cell(cells, fields, "contact"))
    row.title = _text(_cell(cells, fields, "title"))
    row.phone = phone_text(_cell(cells, fields, "phone"))
    row.region = _text(_cell(cells, fields, "region"))
    row.grade = _text(_cell(cells, fields, "grade"))
    row.kind = _text(_cell(cells, fields, "kind"))
    row.product = _text(_cell(cells, fields, "product"))
    row.role = _text(_cell(cells, fields, "role"))
    row.stage_text = _text(_cell(cells, fields, "stage"))
    amount = _cell(cells, fields, "amount")
    row.amount_fen = parse_amount(amount)
    if row.amount_fen is None and _text(amount):
        row.notes.append(f"金额「{_text(amount)}」无法识别，未作为商机金额")
    elif row.amount_fen is not None and isinstance(amount, str) and _RANGE.search(amount):
        row.notes.append(f"金额「{amount}」是一个范围，按 {fen_to_yuan_text(row.amount_fen)} 导入，请核对")
    around = neighbour or below
    row.row_day = parse_date(_cell(cells, fields, "date"), reference, serials=True, hint=hint, neighbour=around)
    if row.row_day and row.row_day > reference:
        row.notes.append(f"日期 {row.row_day.isoformat()} 晚于文件日期 {reference.isoformat()}，未采用")
        row.row_day = None
    row.entries = split_entries(_text(_cell(cells, fields, "remarks")) or "", reference)
    row.notes += date_entries(row.entries, reference, hint, neighbour, row.row_day, around=around)
    if not row.customer_name:
        row.error = "缺少客户名称"
        return row
    if row.phone:
        row.phone_e164 = mainland_phone(row.phone)
        if row.phone_e164 is None:
            row.notes.append(f"电话「{row.phone}」不是有效的手机或座机号码，未存为联系电话；原文记在联系人的职务中")
    if row.deal_amount_fen and not row.entries:
        row.notes.append(NO_REMARK_NOTE)
    if row.deal_amount_fen is None and row.stage_text:
        row.notes.append(f"有阶段「{row.stage_text}」但没有金额，未建商机；补上金额列后可重新导入")
    return row


def _apply_match_decisions(plan: ImportPlan, decisions: dict[str, Any], index: CustomerIndex) -> None:
    for name, decision in decisions.items():
        if decision in MERGE_CHOICES:  # read when the rows were grouped (_group_rows)
            if not any(r.customer_name == name for r in plan.rows):
                raise DomainError(f"表格中没有客户「{name}」，无法拆分或合并")
            continue
        groups = {r.group for r in plan.rows if r.customer_name == name and not r.error}
        rows = [r for r in plan.rows if r.group in groups and not r.error]  # every spelling of that customer
        if decision in TAKEN_CHOICES:
            for row in rows:
                if row.match.how != "taken":
                    raise DomainError(f"「{name}」不是其他同事的客户，请选择已有客户或“新客户”")
                row.choice = decision
            continue
        if decision == "new":
            chosen = None
        else:
            try:
                chosen = int(decision)
            except (TypeError, ValueError) as exc:
                raise DomainError(f"「{name}」的匹配决定无效：请选择已有客户或“新客户”") from exc
            if chosen not in index.names:
                raise DomainError(f"「{name}」要匹配的客户不存在或已删除，请重新选择")
            if not index.is_mine(chosen):  # a colleague's customer: never filed twice, handed over by default
                owner_id, owner_name = index.owners[chosen]
                for row in rows:
                    candidate = Candidate(chosen, index.names[chosen], 100.0, owner_id, owner_name)
                    row.match = Match("taken", chosen, [candidate], owner_id, owner_name)
                    row.choice = "handover"
                continue
        for row in rows:
            row.match = Match("corrected" if chosen else "new", chosen, row.match.candidates)
            row.choice = None
