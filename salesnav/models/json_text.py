"""The JSON text written into JSON columns, by the engine and by the bulk writers' COPY.

orjson rather than the standard library's json: an import writes some 90,000 JSON values (events' payloads,
touchpoints' guessed fields, its own progress), and json.dumps was a tenth of its time. The text means the
same: UTF-8 rather than \\u escapes, and keys that are not strings (a dict keyed by id) written as strings,
as json.dumps writes them.
"""

from __future__ import annotations

from typing import Any

import orjson


def json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
