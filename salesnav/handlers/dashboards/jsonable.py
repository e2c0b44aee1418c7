"""Dashboard figures (dataclasses) as plain JSON values, for the mini-program API and the pages' charts."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in getattr(value, "json_properties", ()):  # derived figures worth sending too
            out[name] = jsonable(getattr(value, name))
        return out
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value
