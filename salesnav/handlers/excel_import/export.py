"""Reports users download (the failed rows): CSV with formula injection defused.

A cell starting with = + - @ (or a tab / carriage return) would run as a formula when the report is
opened in Excel; it is prefixed with an apostrophe so it shows as the text it is.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from salesnav.models import ExcelImport

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def failed_rows_csv(imp: ExcelImport) -> bytes:
    """Every row that produced less than its data says (sheet, row, what happened, why): the rows not
    imported, then the rows imported with something left out or guessed, and the rows left out of the sheets
    (合计, 小计). UTF-8 with BOM so Excel shows
    the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["工作表", "行号", "结果", "原因"])
    for error in imp.errors:
        writer.writerow(
            [safe_cell(error.get("sheet")), safe_cell(error.get("row")), "未导入", safe_cell(error.get("reason"))]
        )
    for note in imp.notes:
        result = "已跳过" if note.get("skipped") else "已导入，有说明"  # a 合计 row: left out, as its note says
        writer.writerow([safe_cell(note.get("sheet")), safe_cell(note.get("row")), result, safe_cell(note.get("note"))])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
