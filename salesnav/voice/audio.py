"""Audio bytes → 16 kHz mono PCM (what every speech engine here wants), and PCM → AMR for WeCom.

The container is recognised from the content, never from the name a client gave it, and FFmpeg (via
PyAV) is only ever asked to open the one demuxer that content calls for. AMR-NB is decoded frame by
frame with opencore's decoder: FFmpeg's built-in amrnb decoder loses audio on DTX (comfort-noise)
frames, which WeChat recorders produce in pauses. SILK (WeChat's voice format) goes through pysilk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
MAX_SECONDS = 60.0
# WeCom/WeChat cut recordings at 60 s, but codec framing can add a few tens of milliseconds.
_DURATION_SLACK = 0.5
# WeChat itself refuses recordings under 1 s ("说话时间太短"); under 0.3 s there is no word to hear.
MIN_SECONDS = 0.3
MAX_AUDIO_BYTES = 20 * 1024 * 1024
SUPPORTED_FORMATS = frozenset({"amr", "mp3", "m4a", "wav", "silk"})

# AMR-NB storage format (RFC 4867 §5): payload bytes per frame type; 8 is SID, 15 is NO_DATA.
_AMR_NB_FRAME_BYTES = (12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0)
_AMR_NB_MAGIC = b"#!AMR\n"
_AMR_WB_MAGIC = b"#!AMR-WB\n"
_SILK_MAGIC = b"#!SILK_V3"


class AudioRejected(ValueError):
    """The audio cannot be used; `message` is a Chinese sentence shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Pcm:
    """Mono 16 kHz float32 samples in [-1, 1]."""

    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def s16le(self) -> bytes:
        return (np.clip(self.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def sniff(audio: bytes) -> str | None:
    """The audio container the bytes really are ("amr", "amr-wb", "silk", "wav", "mp3", "m4a"), or None."""
    if audio.startswith(_AMR_NB_MAGIC):
        return "amr"
    if audio.startswith(_AMR_WB_MAGIC):
        return "amr-wb"
    if audio.startswith(_SILK_MAGIC) or audio[1:10] == _SILK_MAGIC:  # Tencent prefixes one 0x02 byte
        return "silk"
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "wav"
    if audio[4:8] == b"ftyp":
        return "m4a"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "mp3"  # also AAC in ADTS framing, which FFmpeg's mp3 probe refuses; see _DEMUXER
    return None


def _too_long() -> AudioRejected:
    return AudioRejected(f"语音超过 {int(MAX_SECONDS)} 秒，请分段录制后再上传。")


class _Collector:
    """Accumulates resampled PCM and refuses as soon as the clip passes the length limit."""

    def __init__(self) -> None:
        import av  # PyAV (FFmpeg) is large; loaded when audio is decoded

        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self.chunks: list[np.ndarray] = []
        self.count = 0

    def add(self, frame: object) -> None:
        for out in self.resampler.resample(frame):  # type: ignore[arg-type]  # PyAV types resample() for an AudioFrame, which a decoded frame is
            samples = out.to_ndarray().reshape(-1)
            self.count += len(samples)
            if self.count > (MAX_SECONDS + _DURATION_SLACK) * SAMPLE_RATE:
                raise _too_long()
            self.chunks.append(samples)

    def pcm(self) -> Pcm:
        self.add(None)
        if not self.chunks:
            raise AudioRejected("语音里没有声音，请重新录制。")
        return _checked(np.concatenate(self.chunks))


def _decode_amr_nb(audio: bytes) -> Pcm:
    import av  # PyAV (FFmpeg) is large; loaded when audio is decoded

    codec = av.CodecContext.create("libopencore_amrnb", "r")
    codec.sample_rate = 8000
    codec.layout = "mono"
    collector = _Collector()
    position = len(_AMR_NB_MAGIC)
    while position < len(audio):
        frame_type = (audio[position] >> 3) & 0x0F
        size = 1 + _AMR_NB_FRAME_BYTES[frame_type]
        if position + size > len(audio):
            break  # a truncated last frame: keep what came before, as players do
        for frame in codec.decode(av.Packet(audio[position : position + size])):
            collector.add(frame)
        position += size
    return collector.pcm()


def _decode_silk(audio: bytes) -> Pcm:
    import pysilk  # native SILK codec; loaded when WeChat audio is handled

    out = io.BytesIO()
    try:
        pysilk.decode(io.BytesIO(audio), out, SAMPLE_RATE)
    except Exception as exc:  # pysilk raises its own SilkError and ValueError/TypeError on garbage
        raise AudioRejected("语音文件已损坏，无法解码，请重新录制。") from exc
    return _checked(np.frombuffer(out.getvalue(), dtype="<i2"))


def _checked(samples_s16: np.ndarray) -> Pcm:
    if len(samples_s16) > (MAX_SECONDS + _DURATION_SLACK) * SAMPLE_RATE:
        raise _too_long()
    if len(samples_s16) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioRejected("语音太短，请按住说话至少 1 秒。")
    return Pcm(samples_s16.astype(np.float32) / 32768.0)


# The one FFmpeg demuxer each sniffed kind may use (never FFmpeg's open-ended probing of untrusted input).
_DEMUXER = {"wav": "wav", "mp3": "mp3", "m4a": "mov", "amr-wb": "amr"}


def _decode_with_ffmpeg(audio: bytes, kind: str) -> Pcm:
    import av  # PyAV (FFmpeg) is large; loaded when audio is decoded

    try:
        with av.open(io.BytesIO(audio), "r", format=_DEMUXER[kind]) as container:
            if not container.streams.audio:
                raise AudioRejected("文件里没有音频，请上传语音文件。")
            if container.duration and container.duration / 1_000_000 > MAX_SECONDS + _DURATION_SLACK:
                raise _too_long()
            collector = _Collector()
            for frame in container.decode(audio=0):
                collector.add(frame)
            return collector.pcm()
    except AudioRejected:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        if kind == "mp3":
            # Mini-program recorders may label ADTS AAC as mp3; it shares the 0xFFF sync word.
            try:
                return _decode_adts(audio)
            except AudioRejected:
                pass
        raise AudioRejected("语音文件已损坏或格式不对，无法解码，请重新录制。") from exc


def _decode_adts(audio: bytes) -> Pcm:
    import av  # PyAV (FFmpeg) is large; loaded when audio is decoded

    try:
        with av.open(io.BytesIO(audio), "r", format="aac") as container:
            collector = _Collector()
            for frame in container.decode(audio=0):
                collector.add(frame)
            return collector.pcm()
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise AudioRejected("语音文件已损坏或格式不对，无法解码，请重新录制。") from exc


def decode(audio: bytes, fmt: str) -> Pcm:
    """16 kHz mono PCM from a clip the client says is `fmt`; AudioRejected if unusable or over 60 s.

    The declared `fmt` must be one we accept, but the bytes decide how they are decoded: clients mix
    up m4a/mp3/aac names, and a name is not evidence of anything.
    """
    if fmt.lower().lstrip(".") not in SUPPORTED_FORMATS:
        raise AudioRejected("不支持的语音格式，请上传 amr、mp3、m4a、wav 或 silk 文件。")
    if not audio:
        raise AudioRejected("语音文件为空，请重新录制。")
    if len(audio) > MAX_AUDIO_BYTES:
        raise AudioRejected(f"语音文件太大（超过 {MAX_AUDIO_BYTES // (1024 * 1024)} MB），请缩短后再上传。")
    kind = sniff(audio)
    if kind is None:
        raise AudioRejected("文件不是支持的语音格式，请上传 amr、mp3、m4a、wav 或 silk 文件。")
    if kind == "amr":
        try:
            return _decode_amr_nb(audio)
        except AudioRejected:
            raise
        except Exception as exc:  # av.FFmpegError and friends on a damaged frame
            raise AudioRejected("语音文件已损坏，无法解码，请重新录制。") from exc
    if kind == "silk":
        return _decode_silk(audio)
    return _decode_with_ffmpeg(audio, kind)


def encode_amr(pcm: Pcm, *, bit_rate: int = 12_200, dtx: bool = False) -> bytes:
    """AMR-NB (8 kHz, opencore encoder) in the #!AMR storage format that WeCom voice messages use.

    `dtx` sends pauses as comfort-noise (SID) frames, as phone recorders do; used to test the decoder.
    """
    import av  # PyAV (FFmpeg) is large; loaded when audio is decoded

    source = av.AudioFrame.from_ndarray(
        (np.clip(pcm.samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    source.sample_rate = SAMPLE_RATE
    out = io.BytesIO()
    with av.open(out, "w", format="amr") as container:
        stream = container.add_stream("libopencore_amrnb", rate=8000, options={"dtx": "1" if dtx else "0"})
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def to_amr(audio: bytes, fmt: str) -> bytes:
    """Any accepted clip as AMR-NB bytes (WeCom only plays voice messages in AMR); ≤ 60 s like all input."""
    if sniff(audio) == "amr" and fmt.lower() == "amr":
        decode(audio, fmt)  # still validated: a broken or over-long AMR must not be forwarded
        return audio
    return encode_amr(decode(audio, fmt))
