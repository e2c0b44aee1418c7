"""Speech fixtures: espeak-ng clips (made once per session) and the offline model (loaded once)."""

from __future__ import annotations

import pytest

from salesnav.voice.audio import decode
from salesnav.voice.samples import espeak_available, silk_from_pcm16k, speak_wav

SENTENCE = "明天下午三点给张主任回电话。"


@pytest.fixture(scope="session")
def spoken_wav() -> bytes:
    if not espeak_available():
        pytest.fail("espeak-ng is missing: run `make system-deps`")
    return speak_wav(SENTENCE)


@pytest.fixture(scope="session")
def spoken_silk(spoken_wav: bytes) -> bytes:
    return silk_from_pcm16k(decode(spoken_wav, "wav").s16le())


@pytest.fixture(scope="session")
def whisper_loaded() -> float:
    from salesnav.voice import whisper

    return whisper.load()
