"""Which row is the header (not always line 1: titles and merged banners sit above it) and which rows are data."""

from __future__ import annotations

import re
from typing import Any

from salesnav.handlers.excel_import.columns import field_for_header

SCAN_ROWS = 30
_SUBTOTAL = re.compile(r"^\s*(合\s*计|小\s*计|总\s*计|共\s*计|总数|汇总)")


def is_blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def is_subtotal(cells: list[Any]) -> bool:
    return any(isinstance(c, str) and _SUBTOTAL.match(c) for c in cells[:4])


def find_header(rows: list[tuple[int, list[Any]]]) -> int | None:
    """The index (into `rows`) of the header: the early row naming the most known fields (at least two)."""
    best, best_score = None, 1
    for i, (_, cells) in enumerate(rows[:SCAN_ROWS]):
        fields = {field_for_header(c) for c in cells} - {None}
        if len(fields) > best_score:
            best, best_score = i, len(fields)
    if best is not None:
        return best
    # No known words: the first row of two or more text cells that has data under it.
    for i, (_, cells) in enumerate(rows[:SCAN_ROWS]):
        texts = [c for c in cells if isinstance(c, str) and c.strip()]
        if len(texts) >= 2 and len(texts) == len([c for c in cells if c is not None]) and i + 1 < len(rows):
            return i
    return None


def data_rows(rows: list[tuple[int, list[Any]]], header_index: int) -> list[tuple[int, list[Any]]]:
    """Rows under the header, without blank rows, subtotal rows, or the header repeated (printed sheets)."""
    header = rows[header_index][1]
    out = []
    for number, cells in rows[header_index + 1 :]:
        if is_blank(cells) or is_subtotal(cells) or cells == header:
            continue
        out.append((number, cells))
    return out
