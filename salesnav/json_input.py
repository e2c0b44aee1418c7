"""What makes a JSON request body unusable before any schema sees it: nesting, huge numbers, lone surrogates.

The standard parser (which webargs calls) recurses once per level, so 100,000 nested brackets raise
RecursionError, a server error; a 5,000-digit number raises a bare ValueError, which webargs does not
expect either; and `"\\ud800"` parses into a string that cannot be encoded as UTF-8,
so the database driver fails on it later, after part of the request may have run. All three are refused
here, on the raw body, with a message a user can read.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # our deepest form (a customer with contacts, evidence lists) is 3 levels
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # paired escapes parse into one astral character instead

TOO_DEEP = "请求内容嵌套过深"
BAD_CHARACTER = "请求中包含无法识别的字符"
NUMBER_TOO_LONG = "请求中的数字过长"


def problem(raw: bytes) -> str | None:
    """A Chinese reason to refuse the body, or None. An unparseable body is left to the schema's own 400."""
    try:
        document = json.loads(raw)
    except RecursionError:
        return TOO_DEEP
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except ValueError:  # Python refuses integers of more than 4,300 digits, outside JSONDecodeError
        return NUMBER_TOO_LONG
    return _walk(document)


def _walk(document: Any) -> str | None:
    """Iterative, so a deep document cannot exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _LONE_SURROGATE.search(value):
                return BAD_CHARACTER
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return TOO_DEEP
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None and _LONE_SURROGATE.search(key):
                    return BAD_CHARACTER
                stack.append((item, depth + 1))
    return None
