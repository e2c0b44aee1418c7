"""`transcribe`: audio bytes → Transcript, with the engine chosen by settings.

Order: Baidu AIP when BAIDU_* is configured (production); else an operator's sherpa-onnx Paraformer
model when SALESNAV_ASR_MODEL_DIR is set; else Whisper base, offline, from the installed packages.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from salesnav.settings import Settings, current_settings
from salesnav.voice.audio import Pcm, decode
from salesnav.voice.baidu import BaiduSpeechEngine
from salesnav.voice.sherpa import ENV_VAR as SHERPA_ENV_VAR
from salesnav.voice.sherpa import SherpaParaformerEngine
from salesnav.voice.whisper import WhisperEngine


@dataclass(frozen=True)
class Transcript:
    text: str  # Simplified Chinese; may be empty when nothing intelligible was said
    duration_s: float
    engine: str


class SpeechEngine(Protocol):
    name: str

    def transcribe(self, pcm: Pcm) -> str: ...


_lock = threading.Lock()
_engines: dict[tuple[str, ...], SpeechEngine] = {}


def engine_for(settings: Settings, environ: dict[str, str] | None = None) -> SpeechEngine:
    """The configured engine, built once per process per configuration."""
    env = os.environ if environ is None else environ
    baidu = settings.baidu
    # Settings validated the variable at start; `environ` lets a test point at another directory.
    model_dir = env.get(SHERPA_ENV_VAR, "").strip() if environ is not None else settings.asr_model_dir
    if baidu.configured:
        key: tuple[str, ...] = ("baidu", baidu.app_id, baidu.api_key, baidu.secret_key)
    elif model_dir:
        key = ("sherpa", model_dir)
    else:
        key = ("whisper",)
    with _lock:
        if key not in _engines:
            if key[0] == "baidu":
                _engines[key] = BaiduSpeechEngine(baidu)
            elif key[0] == "sherpa":
                _engines[key] = SherpaParaformerEngine(Path(model_dir))
            else:
                _engines[key] = WhisperEngine()
        return _engines[key]


def transcribe(audio: bytes, fmt: str, *, settings: Settings | None = None) -> Transcript:
    """Speech in `audio` (amr, mp3, m4a, wav or silk; ≤ 60 s) as Simplified Chinese text.

    Raises AudioRejected (a Chinese message for the user) for unsupported, corrupt or over-long audio.
    Slow (seconds): call it from a job or a request that can wait, with no database session open.
    """
    pcm = decode(audio, fmt)
    engine = engine_for(settings or current_settings())
    return Transcript(text=engine.transcribe(pcm), duration_s=round(pcm.duration_s, 2), engine=engine.name)
