"""Touchpoint drafts from what a rep said, at a fixed moment: Friday 2024-03-01 10:00 in Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from salesnav.voice import draft_from_transcript

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)  # a Friday


def due(text: str) -> datetime | None:
    return draft_from_transcript(text, NOW, SHANGHAI).next_action_due


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("下周二送样", datetime(2024, 3, 5, 18, 0)),
        ("明天下午三点回电", datetime(2024, 3, 2, 15, 0)),
        ("3月5日前报价", datetime(2024, 3, 5, 18, 0)),
        ("三月十五号前提交方案", datetime(2024, 3, 15, 18, 0)),
        ("后天上午十点半拜访李主任", datetime(2024, 3, 3, 10, 30)),
        ("周三约王医生见面", datetime(2024, 3, 6, 18, 0)),  # this week's Wednesday has passed
        ("下下周一做产品演示", datetime(2024, 3, 11, 18, 0)),
        ("3天内发资料给科室", datetime(2024, 3, 4, 18, 0)),
        ("15号前催款", datetime(2024, 3, 15, 18, 0)),
        ("月底前签合同", datetime(2024, 3, 31, 18, 0)),
        ("晚上8点电话跟进", datetime(2024, 3, 1, 20, 0)),
        ("下午两点一刻开会", datetime(2024, 3, 1, 14, 15)),
    ],
)
def test_due_time_from_chinese_phrases(said: str, expected: datetime) -> None:
    assert due(said) == expected.replace(tzinfo=SHANGHAI)


def test_next_step_phrase_becomes_the_next_action() -> None:
    draft = draft_from_transcript("今天拜访了张主任，他对产品很感兴趣。下一步：下周二送样品过去。", NOW, SHANGHAI)
    assert draft.next_action == "下周二送样品过去"
    assert draft.next_action_due == datetime(2024, 3, 5, 18, 0, tzinfo=SHANGHAI)
    assert draft.emotion == "积极"
    assert draft.summary.startswith("今天拜访了张主任")
    assert draft.guessed_fields == ["next_action", "next_action_due", "emotion"]


def test_next_step_without_a_date_has_no_due_time() -> None:
    draft = draft_from_transcript("客户说价格太贵，不感兴趣，下一步发一份降价方案。", NOW, SHANGHAI)
    assert draft.next_action == "发一份降价方案"
    assert draft.next_action_due is None
    assert draft.emotion == "抵触"  # 不感兴趣 is not counted as 感兴趣


def test_plain_report_has_no_guesses() -> None:
    draft = draft_from_transcript("李主任说预算还没有批下来", NOW, SHANGHAI)
    assert draft.next_action is None and draft.next_action_due is None and draft.emotion is None
    assert draft.summary == "李主任说预算还没有批下来"
    assert draft.guessed_fields == []


def test_mixed_or_hesitant_customer_is_neutral() -> None:
    assert draft_from_transcript("主任说还行，再看看", NOW, SHANGHAI).emotion == "中性"


def test_due_is_aware_in_the_business_time_zone_even_when_now_is_utc() -> None:
    utc_now = datetime(2024, 3, 1, 17, 0, tzinfo=ZoneInfo("UTC"))  # already Saturday 01:00 in Shanghai
    draft = draft_from_transcript("明天上午9点回电", utc_now, SHANGHAI)
    assert draft.next_action_due == datetime(2024, 3, 3, 9, 0, tzinfo=SHANGHAI)
    assert draft.next_action_due.utcoffset() is not None


def test_long_transcripts_are_shortened_for_the_summary() -> None:
    assert len(draft_from_transcript("客户" * 300, NOW, SHANGHAI).summary) == 200
