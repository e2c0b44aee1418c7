"""Excel workbooks people open in Excel or WPS: real number and date cells, a bold frozen header, an autofilter,
and text that stays text (a name starting with = + - @ is never run as a formula).

Dates are written as local (business time) naive datetimes, which is what a spreadsheet shows; amounts in yuan
as numbers with two decimals; ratios as numbers formatted as percentages.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FORMATS = {
    "int": "0",
    "number": "0.0",
    "yuan": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "text": "@",
}


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # a key of FORMATS
    width: int = 12


def local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """An aware UTC moment as the naive local time a spreadsheet shows (Excel has no time zones)."""
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


def yuan(fen: int | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def add_sheet(wb: Workbook, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Worksheet:
    ws = wb.create_sheet(title[:31])
    ws.append([c.title for c in columns])
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for values in rows:
        ws.append([None if v is None else v for v in values])
        for cell, column in zip(ws[ws.max_row], columns, strict=False):
            if column.kind == "text" and cell.value is not None:
                cell.value = str(cell.value)
                cell.data_type = "s"  # never a formula, whatever it starts with
            elif isinstance(cell.value, (int, float, date, datetime)):
                cell.number_format = FORMATS[column.kind]
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    return ws


def to_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
