"""Decoding: every accepted format to 16 kHz PCM; bad, foreign and over-long audio refused in Chinese."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from salesnav.voice import AudioRejected, to_amr
from salesnav.voice.audio import SAMPLE_RATE, Pcm, decode, encode_amr, sniff


def _encoded(wav: bytes, container: str, codec: str) -> bytes:
    pcm = decode(wav, "wav")
    frame = av.AudioFrame.from_ndarray(
        (pcm.samples * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = SAMPLE_RATE
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=SAMPLE_RATE if codec != "mp3" else 16000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=stream.rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def test_wav_amr_silk_mp3_m4a_all_decode_to_the_same_length(spoken_wav: bytes, spoken_silk: bytes) -> None:
    clips = {
        "wav": spoken_wav,
        "amr": to_amr(spoken_wav, "wav"),
        "silk": spoken_silk,
        "mp3": _encoded(spoken_wav, "mp3", "libmp3lame"),
        "m4a": _encoded(spoken_wav, "ipod", "aac"),
    }
    expected = decode(spoken_wav, "wav").duration_s
    for fmt, data in clips.items():
        assert sniff(data) == fmt
        pcm = decode(data, fmt)
        assert pcm.samples.dtype == np.float32
        assert abs(pcm.duration_s - expected) < 0.2, fmt
        assert float(np.abs(pcm.samples).max()) > 0.05, f"{fmt} decoded to silence"


def test_to_amr_makes_wecom_amr_nb(spoken_wav: bytes) -> None:
    amr = to_amr(spoken_wav, "wav")
    assert amr.startswith(b"#!AMR\n")
    assert len(amr) < len(spoken_wav) / 10  # 12.2 kbit/s
    assert to_amr(amr, "amr") == amr  # already AMR: forwarded as is, after validation


def _amr_frame_types(amr: bytes) -> set[int]:
    sizes = (12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0)
    types, position = set(), 6
    while position < len(amr):
        frame_type = (amr[position] >> 3) & 0x0F
        types.add(frame_type)
        position += 1 + sizes[frame_type]
    return types


def test_amr_with_dtx_silence_keeps_the_speech_after_the_pause(spoken_wav: bytes) -> None:
    speech = decode(spoken_wav, "wav").samples
    with_pause = Pcm(np.concatenate([speech, np.zeros(SAMPLE_RATE * 2, np.float32), speech]))
    amr = encode_amr(with_pause, dtx=True)
    frame_types = _amr_frame_types(amr)
    assert 8 in frame_types  # SID (comfort noise) frames are really in the file
    decoded = decode(amr, "amr")
    assert abs(decoded.duration_s - with_pause.duration_s) < 0.1
    tail = decoded.samples[-len(speech) :]
    assert float(np.abs(tail).max()) > 0.05


def test_over_60_seconds_is_refused() -> None:
    long_clip = Pcm(np.zeros(SAMPLE_RATE * 61, np.float32) + 0.01)
    with pytest.raises(AudioRejected, match="超过 60 秒"):
        decode(encode_amr(long_clip), "amr")
    wav = io.BytesIO()
    import wave

    with wave.open(wav, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x01\x00" * 8000 * 62)
    with pytest.raises(AudioRejected, match="超过 60 秒"):
        decode(wav.getvalue(), "wav")


def test_exactly_60_seconds_is_accepted() -> None:
    assert decode(encode_amr(Pcm(np.full(SAMPLE_RATE * 60, 0.01, np.float32))), "amr").duration_s <= 60.5


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 500, "amr", "不是支持的语音格式"),
        ("下周二送样".encode(), "wav", "不是支持的语音格式"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt garbage", "wav", "损坏"),
        (b"#!SILK_V3" + b"\xff" * 200, "silk", "太短|损坏"),
        (b"\x00\x01", "ogg", "不支持的语音格式"),
        (b"", "wav", "为空"),
    ],
    ids=["executable", "text", "broken-wav", "broken-silk", "unsupported-name", "empty"],
)
def test_unusable_audio_is_refused_in_chinese(data: bytes, fmt: str, message: str) -> None:
    with pytest.raises(AudioRejected, match=message) as refused:
        decode(data, fmt)
    assert any("\u4e00" <= char <= "\u9fff" for char in refused.value.message)
