"""Speech → text: an engine interface with a cloud (Baidu AIP) and an offline engine.

Public API (used by the mini-program API and the bot): `transcribe(audio, fmt) -> Transcript`,
`draft_from_transcript(text, now, tz) -> TouchpointDraft`, `to_amr(audio, fmt) -> bytes`; bad input
raises `AudioRejected` with a Chinese message for the user. Engines, chosen by settings: Baidu AIP
speech when BAIDU_* is set; an operator's sherpa-onnx Paraformer model when SALESNAV_ASR_MODEL_DIR is
set; otherwise Whisper base from the installed packages, hash-verified, offline. See docs/voice-ocr.md.
"""

import os

# faster-whisper imports onnxruntime (for its VAD); onnxruntime 1.29+ makes telemetry DNS lookups from
# its own threads unless this is set before it is first imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from salesnav.voice.audio import AudioRejected, to_amr
from salesnav.voice.draft import TouchpointDraft, draft_from_transcript
from salesnav.voice.transcript import Transcript, transcribe

__all__ = ["AudioRejected", "TouchpointDraft", "Transcript", "draft_from_transcript", "to_amr", "transcribe"]
