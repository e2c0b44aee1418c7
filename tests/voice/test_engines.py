"""Engine choice by settings, and the cloud/operator engines' requests (Baidu is unreachable here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salesnav.settings import BaiduSettings, Settings
from salesnav.voice import AudioRejected
from salesnav.voice.audio import SAMPLE_RATE, Pcm
from salesnav.voice.baidu import BaiduSpeechEngine, BaiduSpeechError, asr_request, text_from_response
from salesnav.voice.sherpa import SherpaModelError, SherpaParaformerEngine, model_files
from salesnav.voice.transcript import engine_for
from salesnav.voice.whisper import WhisperEngine

OFFLINE = Settings(database_url="sqlite://")
BAIDU = Settings(database_url="sqlite://", baidu=BaiduSettings(app_id="1", api_key="k", secret_key="s"))


def test_whisper_is_the_default_offline_engine() -> None:
    assert isinstance(engine_for(OFFLINE, environ={}), WhisperEngine)


def test_baidu_is_chosen_when_configured_even_with_a_model_dir(tmp_path: Path) -> None:
    engine = engine_for(BAIDU, environ={"SALESNAV_ASR_MODEL_DIR": str(tmp_path)})
    assert isinstance(engine, BaiduSpeechEngine)
    assert engine.client._appId == "1"


def test_operator_model_dir_selects_sherpa_paraformer(tmp_path: Path) -> None:
    (tmp_path / "tokens.txt").write_text("<blk> 0\n")
    (tmp_path / "model.int8.onnx").write_bytes(b"onnx")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    engine = engine_for(OFFLINE, environ={"SALESNAV_ASR_MODEL_DIR": str(tmp_path)})
    assert isinstance(engine, SherpaParaformerEngine)
    assert engine.model_path.name == "model.int8.onnx"  # the quantised model is preferred on CPU


def test_unusable_model_dir_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(SherpaModelError, match=r"SALESNAV_ASR_MODEL_DIR=.*not a directory"):
        model_files(tmp_path / "absent")
    with pytest.raises(SherpaModelError, match=r"tokens\.txt"):
        model_files(tmp_path)


def test_missing_sherpa_package_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    try:
        import sherpa_onnx  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("sherpa-onnx is installed here")
    (tmp_path / "tokens.txt").write_text("<blk> 0\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(SherpaModelError, match="sherpa-onnx package is not installed"):
        SherpaParaformerEngine(tmp_path).transcribe(Pcm(np.zeros(SAMPLE_RATE, np.float32)))


def test_baidu_request_is_16k_pcm_mandarin() -> None:
    pcm = Pcm(np.full(SAMPLE_RATE, 0.5, np.float32))
    speech, fmt, rate, options = asr_request(pcm)
    assert (fmt, rate, options["dev_pid"]) == ("pcm", 16000, 1537)
    assert len(speech) == 2 * SAMPLE_RATE
    assert np.frombuffer(speech, "<i2")[0] == 16383


def test_baidu_response_is_simplified_and_errors_are_told_apart() -> None:
    assert text_from_response({"err_no": 0, "result": ["明天回電話"]}) == "明天回电话"
    with pytest.raises(AudioRejected, match="没有听清"):
        text_from_response({"err_no": 3301, "err_msg": "speech quality error."})
    with pytest.raises(BaiduSpeechError, match="3302"):
        text_from_response({"err_no": 3302, "err_msg": "authentication failed."})
