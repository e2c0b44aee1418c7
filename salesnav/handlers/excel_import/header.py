"""Which row is the header (not always line 1: titles and merged banners sit above it, and a header may take
two rows: 「跟进记录」 merged over 「日期 | 内容」) and which rows are data."""

from __future__ import annotations

import re
from typing import Any

from salesnav.handlers.excel_import.columns import field_for_header

SCAN_ROWS = 30
_SUBTOTAL = re.compile(r"^\s*(?:\S{0,6}?\s*)?(合\s*计|小\s*计|总\s*计|共\s*计|总数|汇总)\s*[:：]?")


def is_blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def subtotal_label(cells: list[Any]) -> str | None:
    """The label of a subtotal row (合计, 小计, 9月小计, 本页合计：5家), or None."""
    for c in cells[:4]:
        if isinstance(c, str) and len(c.strip()) <= 12 and _SUBTOTAL.match(c):
            return c.strip()
    return None


def is_subtotal(cells: list[Any]) -> bool:
    return subtotal_label(cells) is not None


def _fields(cells: list[Any]) -> set[str]:
    return {name for c in cells if (name := field_for_header(c)) is not None}


def find_header(rows: list[tuple[int, list[Any]]]) -> int | None:
    """The index (into `rows`) of the header: the early row naming the most known fields (at least two). When
    the header takes two rows (a merged 「跟进记录」 over 「日期 | 内容」), the lower one: see `header_cells`."""
    best, best_score = None, 1
    for i, (_, cells) in enumerate(rows[:SCAN_ROWS]):
        fields = _fields(cells)
        if len(fields) > best_score or (best == i - 1 and len(fields) == best_score and _all_labels(cells)):
            best, best_score = i, len(fields)  # a tie just below: the group row above a header names as much
    if best is not None:
        if best + 1 < len(rows) and _is_lower_header(rows[best][1], rows[best + 1][1]):
            return best + 1
        return best
    # No known words: the first row of two or more text cells that has data under it.
    for i, (_, cells) in enumerate(rows[:SCAN_ROWS]):
        texts = [c for c in cells if isinstance(c, str) and c.strip()]
        if len(texts) >= 2 and len(texts) == len([c for c in cells if c is not None]) and i + 1 < len(rows):
            return i
    return None


def _all_labels(cells: list[Any]) -> bool:
    """Only short text, as a header's names are (no numbers, no sentences)."""
    texts = [c for c in cells if c is not None]
    return bool(texts) and all(isinstance(c, str) and len(c.strip()) <= 10 for c in texts)


def _is_lower_header(upper: list[Any], lower: list[Any]) -> bool:
    """Whether `lower` is the second row of a two-row header: cells merged down from `upper` repeat there, and
    where it differs it is short text naming what the column holds, no data (no numbers)."""
    same = [i for i, c in enumerate(lower) if c is not None and i < len(upper) and upper[i] == c]
    other = [c for i, c in enumerate(lower) if c is not None and i not in same]
    return (
        bool(same)
        and bool(other)
        and all(isinstance(c, str) and len(c.strip()) <= 8 for c in other)
        and any(field_for_header(c) or len(c.strip()) <= 4 for c in other)
    )


def header_cells(rows: list[tuple[int, list[Any]]], index: int) -> list[Any]:
    """The header's names. Under a row of group names (「客户信息 | 商机信息 | 跟进记录」, merged over the
    columns below), a column whose own name says nothing known (「内容」) is named with its group's:
    「跟进记录 内容」. A title banner above (one text across the row) is no group row."""
    cells = list(rows[index][1])
    if index == 0:
        return cells
    above = rows[index - 1][1]
    groups = {c.strip() for c in above if isinstance(c, str) and c.strip()}
    if len(groups) < 2 and not (len(groups) == 1 and _is_lower_header(above, cells)):
        return cells
    for i, top in enumerate(above[: max(len(cells), len(above))]):
        while len(cells) <= i:
            cells.append(None)
        own = cells[i]
        if not isinstance(top, str) or not top.strip() or top == own:
            continue
        if own is None or (isinstance(own, str) and not own.strip()):
            cells[i] = top.strip()
        elif field_for_header(own) is None:
            cells[i] = f"{top.strip()} {str(own).strip()}"
    return cells


def data_rows(
    rows: list[tuple[int, list[Any]]], header_index: int
) -> tuple[list[tuple[int, list[Any]]], list[tuple[int, str]]]:
    """Rows under the header, without blank rows, subtotal rows, or the header repeated (printed sheets); and
    the subtotal rows left out, each with the note that says so."""
    header = rows[header_index][1]
    out, skipped = [], []
    for number, cells in rows[header_index + 1 :]:
        if is_blank(cells) or cells == header:
            continue
        if label := subtotal_label(cells):
            skipped.append((number, f"「{label}」是汇总行，已跳过（不作为客户导入）"))
            continue
        out.append((number, cells))
    return out, skipped
