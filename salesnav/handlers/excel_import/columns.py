"""What each column holds: by its header (synonyms), else by its content (11 digits starting with 1 = mobile)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from salesnav.handlers.errors import DomainError
from salesnav.text.cn_dates import parse_date

# field → (label shown to the user, header synonyms). The order matters: a header naming two fields
# (客户联系人) goes to the longest synonym it contains.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "customer": (
        "客户名称",
        (
            "客户名称",
            "客户全称",
            "客户名",
            "客户",
            "医院名称",
            "医院",
            "单位名称",
            "单位",
            "公司名称",
            "公司",
            "机构名称",
            "机构",
            "经销商",
            "终端名称",
            "终端",
        ),
    ),
    "contact": ("联系人", ("联系人姓名", "联系人", "客户联系人", "对接人", "姓名", "关键人")),
    "title": ("职务/科室", ("职务", "职位", "岗位", "科室", "部门", "头衔")),
    "phone": (
        "手机",
        ("手机号码", "手机号", "手机", "联系电话", "电话号码", "电话", "联系方式", "mobile", "phone", "tel"),
    ),
    "remarks": (
        "备注",
        (
            "备注",
            "跟进记录",
            "跟进情况",
            "跟进内容",
            "沟通记录",
            "拜访记录",
            "拜访情况",
            "进展情况",
            "进展",
            "情况说明",
            "沟通情况",
        ),
    ),
    "date": (
        "日期",
        ("拜访日期", "跟进日期", "联系日期", "最近联系", "最后跟进", "拜访时间", "跟进时间", "日期", "时间"),
    ),
    "region": ("地区", ("所在地区", "地区", "区域", "城市", "省份", "所在地")),
    "grade": ("等级", ("医院等级", "客户等级", "等级", "级别")),
    "kind": ("客户类型", ("客户类型", "客户类别", "类型", "类别")),
    "product": ("产品线", ("意向产品", "产品线", "产品名称", "产品")),
    "amount": ("预计金额", ("预计成交金额", "预计金额", "商机金额", "合同金额", "预算", "金额")),
    "stage": ("商机阶段", ("商机阶段", "销售阶段", "当前阶段", "进展阶段", "项目阶段", "阶段")),
    "role": ("决策角色", ("决策角色", "角色")),
}
FIELD_LABELS = {name: label for name, (label, _) in FIELDS.items()}
_MOBILE = re.compile(r"1[3-9]\d{9}")
_ORG_SUFFIX = re.compile(r"(医院|公司|中心|卫生院|诊所|集团|院|厂|研究所|药房|大学)[)）]?$")


@dataclass
class Column:
    index: int
    header: str
    field: str | None
    how: str | None  # "header", "content", "corrected" or None
    samples: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "header": self.header,
            "field": self.field,
            "field_label": FIELD_LABELS.get(self.field or "", "不导入"),
            "detected_by": {"header": "表头", "content": "内容", "corrected": "手动指定"}.get(self.how or "", None),
            "samples": self.samples,
        }


def _clean(text: str) -> str:
    return re.sub(r"[\s*:：()（）\[\]【】]", "", unicodedata.normalize("NFKC", text)).lower()


def field_for_header(header: Any) -> str | None:
    if not isinstance(header, str) or not header.strip():
        return None
    text = _clean(header)
    best: tuple[int, str] | None = None
    for name, (_, synonyms) in FIELDS.items():
        for synonym in synonyms:
            if synonym == text:
                return name
            if synonym in text and (best is None or len(synonym) > best[0]):
                best = (len(synonym), name)
    return best[1] if best else None


_PHONE_SPACING = re.compile(r"[\s\-()（）]")
_COUNTRY_CODE = re.compile(r"^(\+?86)")


def as_mobile(value: Any) -> str | None:
    """A Chinese mobile number however Excel stored it: text, integer, or a float like 1.38e10."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = _PHONE_SPACING.sub("", str(value))
    if re.fullmatch(r"\d+(\.\d+)?[eE]\+?\d+", text):  # "1.38E+10" typed as text
        number = float(text)
        text = str(int(number)) if number.is_integer() else text
    text = _COUNTRY_CODE.sub("", text)
    return text if _MOBILE.fullmatch(text) else None


def phone_text(value: Any) -> str | None:
    """The phone cell as text a person would type (no 1.38e10, no trailing .0)."""
    if value is None or value == "":
        return None
    mobile = as_mobile(value)
    if mobile:
        return mobile
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def detect_columns(header: list[Any], data: list[list[Any]], reference: date) -> list[Column]:
    width = max([len(header), *(len(r) for r in data[:500])] or [0])
    columns: list[Column] = []
    taken: set[str] = set()
    for index in range(width):
        head = _text(header[index]) if index < len(header) else ""
        values = [r[index] for r in data[:200] if index < len(r) and r[index] not in (None, "")]
        field = field_for_header(head)
        how = "header" if field else None
        if field in taken:
            field, how = None, None
        if field is None and values:
            field = _by_content(values, reference, taken)
            how = "content" if field else None
        if field:
            taken.add(field)
        columns.append(Column(index, head or f"第{index + 1}列", field, how, [_text(v)[:30] for v in values[:3]]))
    return columns


def _by_content(values: list[Any], reference: date, taken: set[str]) -> str | None:
    def share(test: Any) -> float:
        return sum(1 for v in values if test(v)) / len(values)

    candidates = [
        ("phone", lambda v: as_mobile(v) is not None, 0.6),
        ("date", lambda v: parse_date(v, reference, serials=True) is not None and not as_mobile(v), 0.6),
        ("customer", lambda v: isinstance(v, str) and bool(_ORG_SUFFIX.search(v.strip())), 0.5),
        ("remarks", lambda v: isinstance(v, str) and len(v.strip()) >= 12, 0.5),
    ]
    for name, test, threshold in candidates:
        if name not in taken and share(test) >= threshold:
            return name
    return None


def apply_corrections(columns: list[Column], corrected: dict[str, Any] | None) -> list[Column]:
    """The user's word wins: {"<column index>": "<field>" or "" (do not import)}; a field lives in one column."""
    if not corrected:
        return columns
    for key, value in corrected.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            continue
        field = (value or None) if isinstance(value, str | type(None)) else None
        if field is not None and field not in FIELDS:
            raise DomainError(f"列类型「{value}」无效，可选：{'、'.join(FIELD_LABELS.values())}")
        for column in columns:
            if field and column.field == field and column.index != index:
                column.field, column.how = None, None
        for column in columns:
            if column.index == index:
                column.field, column.how = field, "corrected"
    return columns


def mapping(columns: list[Column]) -> dict[str, int]:
    return {c.field: c.index for c in columns if c.field}
