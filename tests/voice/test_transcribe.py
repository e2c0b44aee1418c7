"""The offline engine turns generated Mandarin (espeak-ng) into a Simplified Chinese draft transcript.

espeak-ng's Mandarin is robotic and Whisper base is small, so accuracy is measured and asserted
loosely: the transcript is non-empty, Chinese, Simplified, and recognisably close to what was said.
"""

from __future__ import annotations

import re

import pytest
import zhconv
from rapidfuzz.distance import Levenshtein

from salesnav.settings import Settings
from salesnav.voice import Transcript, to_amr, transcribe
from salesnav.voice.whisper import collapse_repeats

from .conftest import SENTENCE

OFFLINE = Settings(database_url="sqlite://")


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over Chinese characters and digits (punctuation and spaces ignored)."""

    def keep(text: str) -> str:
        return re.sub(r"[^\u4e00-\u9fff0-9]", "", text)

    return Levenshtein.distance(keep(reference), keep(hypothesis)) / len(keep(reference))


def assert_simplified_chinese_draft(transcript: Transcript) -> None:
    chinese = re.findall(r"[\u4e00-\u9fff]", transcript.text)
    assert len(chinese) >= 4, transcript.text
    assert zhconv.convert(transcript.text, "zh-hans") == transcript.text
    assert transcript.engine == "faster-whisper-base-int8"
    score = cer(SENTENCE, transcript.text)
    print(f"{transcript.engine}: {transcript.text!r} CER={score:.2f}")  # shown with -s: the measured figure
    assert score < 0.8, (transcript.text, score)
    assert "明天" in transcript.text or "下午" in transcript.text


@pytest.mark.usefixtures("whisper_loaded")
@pytest.mark.parametrize("fmt", ["amr", "silk", "wav"])
def test_generated_speech_becomes_a_simplified_chinese_transcript(
    fmt: str, spoken_wav: bytes, spoken_silk: bytes
) -> None:
    audio = {"wav": spoken_wav, "amr": to_amr(spoken_wav, "wav"), "silk": spoken_silk}[fmt]

    transcript = transcribe(audio, fmt, settings=OFFLINE)

    assert 2.0 < transcript.duration_s < 8.0
    assert_simplified_chinese_draft(transcript)


def test_decoding_loops_are_collapsed() -> None:
    assert collapse_repeats("哭哭哭哭哭哭") == "哭"
    assert collapse_repeats("祝贺聪,祝贺聪,祝贺聪,祝贺聪,祝贺聪") == "祝贺聪"
    assert collapse_repeats("好好好好，谢谢谢谢你") == "好好好好，谢谢谢谢你"  # four times can still be speech
