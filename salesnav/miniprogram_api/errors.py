"""The API's error shape {"error": code, "message": 中文, ...details}, for every failure under /api/v1."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

from salesnav.handlers.errors import DomainError
from salesnav.http_messages import HTTP_MESSAGES_ZH
from salesnav.miniprogram_api.blueprint import bp


class Unauthorized(DomainError):
    code = "unauthorized"


class NotActivated(DomainError):
    code = "not_activated"


class Gone(DomainError):
    code = "gone"


class UpstreamUnavailable(DomainError):
    code = "upstream_unavailable"


STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "not_activated": 403,
    "unauthorized": 401,
    "checklist_incomplete": 422,
    "gone": 410,
    "too_large": 413,
    "unsupported_type": 415,
    "upstream_unavailable": 502,
    "conflict": 409,
    "opportunity_closed": 409,
    "approval_frozen": 409,
    "credit_check_pending": 503,
    "engine_unavailable": 503,
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_type",
    422: "validation",
    429: "rate_limited",
}
HTTP_MESSAGES = {**HTTP_MESSAGES_ZH, 401: "请先登录", 422: "提交的内容有误"}

# marshmallow's English messages, in the words a rep understands.
_MESSAGES = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空",
    "Unknown field.": "不认识的字段",
    "Not a valid integer.": "必须是整数",
    "Not a valid number.": "必须是数字",
    "Not a valid string.": "必须是文字",
    "Not a valid boolean.": "必须是是/否",
    "Not a valid datetime.": "时间格式不正确，例如 2026-03-02T10:00:00+08:00",
    "Not a valid date.": "日期格式不正确，例如 2026-03-02",
    "Not a valid list.": "必须是列表",
    "Not a valid mapping type.": "必须是对象",
    "Invalid input type.": "格式不正确",
    "Invalid value.": "取值无效",
    "Not a valid aware datetime.": "时间缺少时区",
    "Not a valid naive datetime.": "时间格式不正确",
}
_PATTERNS = [
    (re.compile(r"^Must be one of: (.*)\.$"), lambda m: f"只能是：{m.group(1)}"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), lambda m: f"长度须在 {m.group(1)}–{m.group(2)} 之间"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m: f"至少 {m.group(1)} 个字"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: f"最多 {m.group(1)} 个字"),
    (
        re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        lambda m: f"须在 {m.group(1)}–{m.group(2)} 之间",
    ),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), lambda m: f"不能小于 {m.group(1)}"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), lambda m: f"不能大于 {m.group(1)}"),
]


def _zh(message: str) -> str:
    if message in _MESSAGES:
        return _MESSAGES[message]
    for pattern, render in _PATTERNS:
        matched = pattern.match(message)
        if matched:
            return render(matched)
    # Our own validators already speak Chinese; anything else is at least marked as wrong.
    return message if re.search(r"[\u4e00-\u9fff]", message) else "格式不正确"


def _translate(messages: Any) -> Any:
    if isinstance(messages, dict):
        return {str(k): _translate(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_translate(m) for m in messages]
    return _zh(str(messages))


def _flatten(messages: Any, prefix: str = "") -> dict[str, Any]:
    """webargs nests by location ({"json": {"title": [...]}}); users care about the field only."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "files", "form", "headers", "view_args"}:
        merged: dict[str, Any] = {}
        for inner in messages.values():
            merged.update(inner if isinstance(inner, dict) else {"_": inner})
        return merged
    return messages if isinstance(messages, dict) else {"_": messages}


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[Response, int]:
    body = {"error": exc.code, "message": exc.message, **exc.details}
    return jsonify(body), STATUS.get(exc.code, 400)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        fields = _translate(_flatten(data["messages"]))
        summary = "；".join(
            f"{name}：{'、'.join(v if isinstance(v, list) else [str(v)]) if not isinstance(v, dict) else '内容有误'}"
            for name, v in fields.items()
        )
        return jsonify(error="validation", message=f"提交的内容有误：{summary}", fields=fields), status
    return jsonify(error=HTTP_CODES.get(status, "http_error"), message=HTTP_MESSAGES.get(status, "请求失败")), status
