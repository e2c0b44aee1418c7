"""Traditional → Simplified Chinese for engine output (zhconv: pure Python, its own small dictionary)."""

from __future__ import annotations

import zhconv


def to_simplified(text: str) -> str:
    # "zh-hans" converts characters only; "zh-cn" would also rewrite regional vocabulary, which is not ours
    # to change in what a rep said.
    return zhconv.convert(text, "zh-hans")
