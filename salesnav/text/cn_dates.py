"""Chinese dates and the numerals in them — the one table of weekdays and the one numeral reader that the
voice and chat drafts (salesnav/voice/draft.py), the invoice reader (salesnav/ocr/fields.py) and the
sheet importer use.

Numerals are read by cn2an in its strict mode, so 「二二」 or 「十十」 is no number rather than a guess;
the spoken 「两」 and the written 「〇」 are first put in the forms it knows.
"""

from __future__ import annotations

from datetime import date, timedelta

import cn2an

# 周一 … 周日 (also 周天, 周1 … 周7); 周末 is its Saturday.
WEEKDAYS: dict[str, int] = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5} | {
    str(i + 1): i for i in range(7)
}
# The characters of everyday numerals up to 99 (dates, hours, counts of days).
CN_NUMERALS = "零〇一二两三四五六七八九十"
# The capital numerals (大写) of amounts on invoices and contracts.
CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
CAPITAL_UNITS = "拾佰仟万亿"

_SPOKEN = str.maketrans({"两": "二", "〇": "零"})


def cn_number(token: str) -> int | None:
    """ "15" → 15, "十五" → 15, "二十三" → 23, "两" → 2, "三十" → 30; None when it is not a number."""
    if token.isdigit():
        return int(token)
    return cn_integer(token)


def cn_integer(text: str) -> int | None:
    """A whole number in Chinese numerals, everyday (二十三) or capital (壹万零伍拾); None when it is none."""
    if not text:
        return None
    try:
        value = cn2an.cn2an(text.translate(_SPOKEN), "strict")
    except ValueError:
        return None
    return int(value)


def monday_of(day: date) -> date:
    """The Monday of `day`'s week (a Chinese week starts on Monday)."""
    return day - timedelta(days=day.weekday())
