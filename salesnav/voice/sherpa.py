"""An operator-supplied offline model: a sherpa-onnx Paraformer directory named by SALESNAV_ASR_MODEL_DIR.

For higher accuracy than Whisper base without any cloud, an operator downloads a Paraformer model once
(e.g. sherpa-onnx-paraformer-zh-2023-09-14: model.int8.onnx + tokens.txt), puts it on the server,
installs `sherpa-onnx` into the environment and sets SALESNAV_ASR_MODEL_DIR. The package is not a
dependency of ours (it is large and most installs use Baidu or Whisper); see docs/voice-ocr.md.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from salesnav.voice.audio import SAMPLE_RATE, Pcm
from salesnav.voice.simplified import to_simplified

ENV_VAR = "SALESNAV_ASR_MODEL_DIR"
THREADS = 2


class SherpaModelError(RuntimeError):
    """SALESNAV_ASR_MODEL_DIR is set but unusable: an operator problem, named precisely."""


def model_files(model_dir: Path) -> tuple[Path, Path]:
    """(model, tokens) inside the directory; model.int8.onnx is preferred to model.onnx (faster on CPU)."""
    if not model_dir.is_dir():
        raise SherpaModelError(f"{ENV_VAR}={model_dir} is not a directory")
    tokens = model_dir / "tokens.txt"
    if not tokens.is_file():
        raise SherpaModelError(f"{ENV_VAR}={model_dir} has no tokens.txt (expected a sherpa-onnx Paraformer model)")
    for name in ("model.int8.onnx", "model.onnx"):
        if (model_dir / name).is_file():
            return model_dir / name, tokens
    raise SherpaModelError(f"{ENV_VAR}={model_dir} has neither model.int8.onnx nor model.onnx")


class SherpaParaformerEngine:
    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.model_path, self.tokens_path = model_files(model_dir)
        self.name = f"sherpa-onnx-paraformer:{model_dir.name}"
        self._lock = threading.Lock()
        self._recognizer: Any = None

    def _load(self) -> Any:
        with self._lock:
            if self._recognizer is None:
                os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
                try:
                    import sherpa_onnx  # the speech engine (onnxruntime) is large; loaded on first use
                except ImportError as exc:
                    raise SherpaModelError(
                        f"{ENV_VAR} is set but the sherpa-onnx package is not installed; "
                        "install it into the environment (uv pip install sherpa-onnx) or unset the variable"
                    ) from exc
                self._recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
                    paraformer=str(self.model_path),
                    tokens=str(self.tokens_path),
                    num_threads=THREADS,
                    sample_rate=SAMPLE_RATE,
                    feature_dim=80,
                    decoding_method="greedy_search",
                )
            return self._recognizer

    def transcribe(self, pcm: Pcm) -> str:
        recognizer = self._load()
        stream = recognizer.create_stream()
        stream.accept_waveform(SAMPLE_RATE, pcm.samples)
        recognizer.decode_stream(stream)
        return to_simplified(stream.result.text.strip())
