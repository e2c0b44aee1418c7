"""Baidu AIP speech recognition (`AipSpeech.asr`, 16 kHz PCM), used when BAIDU_* is configured.

Baidu cannot be reached from development machines: the request and the response mapping are plain
functions, tested without the network; the client is the `baidu-aip` package's, called as documented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesnav.voice.audio import SAMPLE_RATE, AudioRejected, Pcm
from salesnav.voice.simplified import to_simplified

if TYPE_CHECKING:
    from salesnav.settings import BaiduSettings

ENGINE_NAME = "baidu-aip/asr"
DEV_PID_MANDARIN = 1537  # 普通话 (with simple English), the general model
CUID = "salesnav"  # Baidu asks for a caller id per device/app, used for its statistics only
# Baidu's "no speech / could not hear" answers: the user should record again, not the operator act.
_UNHEARD = {3301, 3307, 3308}


class BaiduSpeechError(RuntimeError):
    """Baidu answered with an error (auth, quota, server): an operator problem, not the user's."""


def asr_request(pcm: Pcm) -> tuple[bytes, str, int, dict[str, Any]]:
    """The positional arguments of AipSpeech.asr(speech, format, rate, options) for this clip."""
    return pcm.s16le(), "pcm", SAMPLE_RATE, {"dev_pid": DEV_PID_MANDARIN, "cuid": CUID}


def text_from_response(response: dict[str, Any]) -> str:
    err_no = int(response.get("err_no", -1))
    if err_no in _UNHEARD:
        raise AudioRejected("没有听清这段语音，请在安静处靠近手机重新录制。")
    if err_no != 0:
        raise BaiduSpeechError(f"Baidu ASR error {err_no}: {response.get('err_msg')}")
    return to_simplified("".join(response.get("result") or []).strip())


class BaiduSpeechEngine:
    name = ENGINE_NAME

    def __init__(self, baidu: BaiduSettings, *, timeout_ms: int = 15_000) -> None:
        from aip import AipSpeech  # Baidu's SDK; loaded only when the Baidu engine is chosen

        self.client = AipSpeech(baidu.app_id, baidu.api_key, baidu.secret_key)
        self.client.setConnectionTimeoutInMillis(timeout_ms)
        self.client.setSocketTimeoutInMillis(timeout_ms)

    def transcribe(self, pcm: Pcm) -> str:
        return text_from_response(self.client.asr(*asr_request(pcm)))
