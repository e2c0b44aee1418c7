"""The offline speech engine: Whisper base on faster-whisper (CTranslate2), int8 on 2 CPU threads.

Loaded once per process, on first use, under a lock (two requests arriving together load it once).
Decoding is greedy-deterministic (temperature 0, no fallback sampling) and each 30 s window is decoded
without the previous window's text as a prompt, which stops Whisper's habit of repeating itself into
a loop. (A Chinese text prompt was tried and made it worse: Whisper base echoes the prompt on
unclear audio.) Whisper often writes Chinese in Traditional characters; the output is converted to Simplified.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from salesnav.voice.audio import Pcm
from salesnav.voice.simplified import to_simplified
from salesnav.voice.weights import MODEL_ID, load_verified_files

ENGINE_NAME = "faster-whisper-base-int8"
THREADS = 2
# Whisper base falls into loops on unclear speech ("哭哭哭…"); a loop costs decoding time up to the
# 448-token window. Speech carries at most ~6 characters a second (~1.5 tokens each), so a window never
# needs more than this many tokens per second of audio; the bound keeps a loop cheap.
TOKENS_PER_SECOND = 10
_REPEATS = re.compile(r"(.{1,8}?)(?:[,，、。 ]?\1){4,}")

_lock = threading.Lock()
_model: Any = None
load_seconds: float | None = None


def model() -> Any:
    global _model, load_seconds
    with _lock:
        if _model is None:
            started = time.perf_counter()
            from faster_whisper import WhisperModel  # the speech engine (CTranslate2) is large; loaded on first use

            files = load_verified_files()
            # `files` makes CTranslate2 and the tokenizer read from memory: no path, no hub lookup.
            _model = WhisperModel(MODEL_ID, device="cpu", compute_type="int8", cpu_threads=THREADS, files=files)
            load_seconds = time.perf_counter() - started
        return _model


def load() -> float:
    """Load the model now (worker start, benchmark); returns the seconds it took."""
    model()
    return load_seconds or 0.0


class WhisperEngine:
    name = ENGINE_NAME

    def transcribe(self, pcm: Pcm) -> str:
        segments, _info = model().transcribe(
            pcm.samples,
            language="zh",
            task="transcribe",
            beam_size=5,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            max_new_tokens=min(440, int(TOKENS_PER_SECOND * min(pcm.duration_s, 30.0)) + 16),
        )
        return collapse_repeats(to_simplified("".join(segment.text for segment in segments).strip()))


def collapse_repeats(text: str) -> str:
    """ "哭哭哭哭哭" → "哭": a phrase said five or more times running is a decoding loop, not speech."""
    return _REPEATS.sub(r"\1", text)
