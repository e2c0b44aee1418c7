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
    """The import's failed rows (sheet, row, reason), UTF-8 with BOM so Excel shows the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["工作表", "行号", "原因"])
    for error in imp.errors:
        writer.writerow([safe_cell(error.get("sheet")), safe_cell(error.get("row")), safe_cell(error.get("reason"))])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
