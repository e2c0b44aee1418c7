"""Read .xlsx / .xls (python-calamine) and .csv (UTF-8 or GBK) into plain rows, refusing what is unsafe.

Formula cells come back as their last computed value; nothing in a sheet is ever evaluated. An .xlsx
is a zip: its declared uncompressed size and ratio are checked before anything is inflated (zip bombs),
and the worksheet XML is scanned for its row count, stopping as soon as it passes the limit, before the
sheet is parsed — a 1,000,000-row sheet is refused without being loaded.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from defusedxml.ElementTree import fromstring
from python_calamine import CalamineError, CalamineWorkbook

from salesnav.handlers.errors import DomainError

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file (Excel 97-2003)
MAX_UNCOMPRESSED_FACTOR = 20  # an xlsx may inflate to this many times the file size limit, no more
MAX_RATIO = 200  # real sheets compress 5-30x; a zip bomb compresses thousands of times
MAX_ZIP_ENTRIES = 2000
CORRUPT = "文件已损坏或不是有效的 Excel/CSV 文件，请用 Excel 另存为 .xlsx 后再试"


class FileRejected(DomainError):
    code = "invalid_file"


@dataclass
class Sheet:
    name: str
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # (row number as Excel shows it, cells)


@dataclass
class Workbook:
    kind: str  # xlsx, xls or csv
    sheets: list[Sheet]
    file_date: datetime | None = None  # when the file was last saved, if it says (xlsx core properties)

    @property
    def row_count(self) -> int:
        return sum(len(s.rows) for s in self.sheets)


def detect_kind(data: bytes, filename: str = "") -> str:
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(XLS_MAGIC):
        return "xls"
    if b"\x00" in data[:4096]:  # binary but neither zip nor OLE2: not a sheet we read
        raise FileRejected(CORRUPT)
    return "csv"


def read_workbook(data: bytes, filename: str = "", *, max_bytes: int, max_rows: int) -> Workbook:
    """All sheets' rows; raises FileRejected (Chinese message) for anything too big, unsafe or unreadable."""
    if not data:
        raise FileRejected("文件是空的")
    if len(data) > max_bytes:
        raise FileRejected(f"文件过大（{len(data) / 1048576:.1f} MB），单个文件最多 {max_bytes / 1048576:.0f} MB")
    kind = detect_kind(data, filename)
    if kind == "csv":
        return Workbook("csv", [_read_csv(data, max_rows)])
    file_date = None
    if kind == "xlsx":
        archive = _open_zip(data, max_bytes)
        _count_xlsx_rows(archive, max_rows)
        file_date = _xlsx_modified(archive)
    return Workbook(kind, _read_calamine(data, max_rows), file_date)


def too_many_rows(max_rows: int) -> FileRejected:
    return FileRejected(f"表格超过 {max_rows:,} 行，已停止读取，未导入任何数据；请拆分成多个文件后再导入")


def _open_zip(data: bytes, max_bytes: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(CORRUPT) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FileRejected("文件结构异常（内含文件过多），已拒绝")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > max_bytes * MAX_UNCOMPRESSED_FACTOR or (total > 10 * 1048576 and total / packed > MAX_RATIO):
        raise FileRejected("文件解压后异常巨大（疑似压缩炸弹），已拒绝，未导入任何数据")
    if "xl/workbook.xml" not in archive.namelist():
        raise FileRejected(CORRUPT)
    return archive


_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _count_xlsx_rows(archive: zipfile.ZipFile, max_rows: int) -> None:
    """Stream-inflate each worksheet and count <row> tags, stopping once the limit is passed."""
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        rows, tail = 0, b""
        try:
            with archive.open(name) as stream:
                while chunk := stream.read(1 << 20):
                    buffer = tail + chunk
                    # A tag cut between two chunks ends in this buffer past the carried-over tail: counted once.
                    rows += sum(1 for m in _ROW_TAG.finditer(buffer) if m.end() > len(tail))
                    tail = buffer[-16:]
                    if rows > max_rows:
                        raise too_many_rows(max_rows)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise FileRejected(CORRUPT) from exc


def _xlsx_modified(archive: zipfile.ZipFile) -> datetime | None:
    try:
        raw = archive.read("docProps/core.xml")
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception:  # the properties are optional; their absence or damage only loses the file date
        return None
    for element in root:
        if element.tag.endswith("}modified") and element.text:
            try:
                moment = datetime.fromisoformat(element.text.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _read_calamine(data: bytes, max_rows: int) -> list[Sheet]:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        total = 0
        for index, name in enumerate(book.sheet_names):
            sheet = book.get_sheet_by_index(index)
            total += sheet.height
            if total > max_rows:
                raise too_many_rows(max_rows)
            sheets.append(_sheet_rows(name, sheet))
    except FileRejected:
        raise
    except (CalamineError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise FileRejected(CORRUPT) from exc
    except Exception as exc:  # calamine raises its own error kinds for every sort of damage
        raise FileRejected(CORRUPT) from exc
    return sheets


def _sheet_rows(name: str, sheet: Any) -> Sheet:
    first_row, first_col = sheet.start or (0, 0)
    grid = [[None if v == "" else v for v in row] for row in sheet.iter_rows()]
    # A merged block shows its value in every cell it covers (a hospital merged over three contacts).
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        top, left = r0 - first_row, c0 - first_col
        if not (0 <= top < len(grid) and 0 <= left < len(grid[top])):
            continue
        value = grid[top][left]
        for r in range(max(top, 0), min(r1 - first_row, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(max(left, 0), c1 - first_col + 1):
                while len(row) <= c:
                    row.append(None)
                if row[c] is None:
                    row[c] = value
    return Sheet(name, [(first_row + i + 1, [None] * first_col + row) for i, row in enumerate(grid)])


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK and GB2312, what Chinese Excel saves CSV in
    except UnicodeDecodeError as exc:
        raise FileRejected("CSV 文件编码无法识别，请另存为 UTF-8 或 GBK 编码") from exc


def _read_csv(data: bytes, max_rows: int) -> Sheet:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    sheet = Sheet("CSV")
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            if number > max_rows:
                raise too_many_rows(max_rows)
            sheet.rows.append((number, [cell.strip() or None for cell in row]))
    except csv.Error as exc:
        raise FileRejected(CORRUPT) from exc
    return sheet
