"""Synthetic Chinese speech for tests, the benchmark and the demo: espeak-ng reading Chinese characters.

`espeak-ng -v cmn-latn-pinyin` reads Hanzi as Mandarin (plain `-v cmn` spells pinyin with English
sounds). Its voice is robotic, so speech engines recognise it only roughly: measure, don't expect
verbatim text. espeak-ng is a Debian package installed by `make system-deps`.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

ESPEAK = "espeak-ng"
VOICE = "cmn-latn-pinyin"

SENTENCES = (
    "明天下午三点给张主任回电话。",
    "下周二送样品到医院。",
    "客户对价格比较满意，下一步发报价单。",
    "三月五日前提交报价方案。",
    "今天拜访了王医生，他很感兴趣。",
    "请安排下周一的产品演示。",
    "李主任说预算还没有批下来。",
    "我们约好周五上午十点见面。",
)


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def speak_wav(text: str, *, speed: int = 175) -> bytes:
    """A WAV (22.05 kHz mono) of espeak-ng reading `text` in Mandarin."""
    if not espeak_available():
        raise RuntimeError("espeak-ng is not installed; run `make system-deps`")
    result = subprocess.run(  # noqa: S603 - fixed program, text passed as one argument, no shell
        [ESPEAK, "-v", VOICE, "-s", str(speed), "--stdout", text], capture_output=True, check=True, timeout=60
    )
    return result.stdout


def silk_from_pcm16k(pcm_s16le: bytes, *, bit_rate: int = 24_000) -> bytes:
    """SILK v3 in WeChat's framing (leading 0x02), as WeChat voice messages are stored."""
    import pysilk  # a native library, loaded when a WeChat voice sample is made

    out = io.BytesIO()
    pysilk.encode(io.BytesIO(pcm_s16le), out, 16_000, bit_rate, tencent=True)
    return out.getvalue()


def write_sample(path: Path, text: str) -> Path:
    path.write_bytes(speak_wav(text))
    return path
