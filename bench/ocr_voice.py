"""Offline OCR and speech engines on this machine: latency, accuracy, load time, and a same-run baseline.

    .venv/bin/python bench/ocr_voice.py [--invoices-per-kind 10] [--clips 8]

OCR: generated Chinese VAT invoices (clean, rotated via EXIF, blurred), read with `read_invoice`;
field accuracy is exact match per field. ASR: espeak-ng Mandarin clips encoded to AMR (as WeCom
sends them), transcribed with `transcribe`; real-time factor = transcription seconds / audio seconds,
character error rate over Chinese characters and digits. Engine load times are reported separately.
The baseline is the cost of just decoding the input in the same run (image: decode, orient, downsize;
audio: decode to 16 kHz PCM), so a slow machine shows as a slow baseline too. Targets: OCR ≤ 2 s per
invoice, ASR ≤ 0.5× real time.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from rapidfuzz.distance import Levenshtein

from salesnav.ocr import offline as ocr_offline
from salesnav.ocr import read_invoice
from salesnav.ocr.images import load_photo
from salesnav.ocr.reading import FIELDS
from salesnav.ocr.samples import SampleInvoice, draw_invoice, photo_like
from salesnav.settings import Settings
from salesnav.voice import to_amr, transcribe
from salesnav.voice import whisper as asr_whisper
from salesnav.voice.audio import decode
from salesnav.voice.samples import SENTENCES, speak_wav
from salesnav.voice.weights import load_verified_files

OFFLINE = Settings(database_url="sqlite://")
BUYERS = ("上海市第六人民医院", "北京协和医院", "华东医药股份有限公司", "广州市妇女儿童医疗中心", "四川大学华西医院")
SELLERS = ("杭州明远医疗器械有限公司", "苏州康健生物科技有限公司", "深圳迈瑞医疗电子股份有限公司")


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    mean, median = statistics.mean(values), statistics.median(values)
    return f"mean {mean:.2f}  median {median:.2f}  p90 {p90:.2f}  max {max(values):.2f}"


def _invoice(rng: random.Random) -> SampleInvoice:
    amount = Decimal(rng.randrange(10_000, 5_000_000)) / 100
    tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
    return SampleInvoice(
        code=str(rng.randrange(10**11, 10**12)),
        number=f"{rng.randrange(0, 10**8):08d}",
        date=date(2024, 1, 1) + timedelta(days=rng.randrange(0, 700)),
        buyer=rng.choice(BUYERS),
        seller=rng.choice(SELLERS),
        amount=amount,
        tax=tax,
    )


def bench_ocr(per_kind: int) -> None:
    print("== OCR (offline: rapidocr-onnxruntime PP-OCRv4 + our field extraction)")
    started = time.perf_counter()
    load_s = ocr_offline.load()
    print(f"engine load: {load_s:.2f} s (first call in process; {time.perf_counter() - started:.2f} s incl. import)")
    rng = random.Random(20240305)
    kinds = {
        "clean": lambda i: {},
        "rotated": lambda i: {"rotate": (90, 180, 270)[i % 3]},
        "blurred": lambda i: {"blur": 1.2 + 0.15 * (i % 8)},
    }
    read_invoice(photo_like(draw_invoice(_invoice(rng))), settings=OFFLINE)  # warm-up, not counted
    all_latency: list[float] = []
    for kind, options in kinds.items():
        latency, cpu, baseline, correct = [], [], [], dict.fromkeys(FIELDS, 0)
        all_fields = 0
        for i in range(per_kind):
            truth = _invoice(rng)
            photo = photo_like(draw_invoice(truth, width=rng.choice((1400, 1600, 2000))), **options(i))
            t0 = time.perf_counter()
            load_photo(photo)
            baseline.append(time.perf_counter() - t0)
            t0, c0 = time.perf_counter(), time.process_time()
            reading = read_invoice(photo, settings=OFFLINE)
            latency.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            expected = {**{name: getattr(truth, name) for name in FIELDS if name != "total"}, "total": truth.total}
            hits = {name: getattr(reading, name) == expected[name] for name in FIELDS}
            for name, hit in hits.items():
                correct[name] += hit
            all_fields += all(hits.values())
        all_latency += latency
        accuracy = sum(correct.values()) / (len(FIELDS) * per_kind)
        print(f"{kind:8s} n={per_kind}  latency s: {_stats(latency)}")
        print(f"{'':8s} CPU s (both threads): {_stats(cpu)}")
        print(
            f"{'':8s} baseline (decode+orient+resize) mean {statistics.mean(baseline):.3f} s "
            f"= {statistics.mean(baseline) / statistics.mean(latency):.1%} of a read"
        )
        print(
            f"{'':8s} field accuracy {accuracy:.1%}; invoices with all 8 fields right: {all_fields}/{per_kind}; "
            + " ".join(f"{name}={correct[name]}/{per_kind}" for name in FIELDS)
        )
    verdict = "meets" if statistics.median(all_latency) <= 2.0 else "MISSES"
    print(f"all      median {statistics.median(all_latency):.2f} s per invoice: {verdict} the ≤ 2 s target")


def _cer(reference: str, hypothesis: str) -> tuple[int, int]:
    def keep(text: str) -> str:
        return re.sub(r"[^\u4e00-\u9fff0-9]", "", text)

    return Levenshtein.distance(keep(reference), keep(hypothesis)), len(keep(reference))


def bench_asr(clips: int) -> None:
    print("== ASR (offline: faster-whisper, Whisper base int8, 2 threads; clips espeak-ng → AMR-NB)")
    t0 = time.perf_counter()
    load_verified_files()
    verify_s = time.perf_counter() - t0
    load_s = asr_whisper.load()
    print(f"engine load: {load_s:.2f} s, of which reading + SHA-256 verification of the weights ≈ {verify_s:.2f} s")
    sentences = [SENTENCES[i % len(SENTENCES)] for i in range(clips)]
    audio = [to_amr(speak_wav(sentence), "wav") for sentence in sentences]
    transcribe(audio[0], "amr", settings=OFFLINE)  # warm-up, not counted
    rtf, decode_rtf, errors, chars, audio_s, asr_s, asr_cpu = [], [], 0, 0, 0.0, 0.0, 0.0
    for sentence, clip in zip(sentences, audio, strict=True):
        t0 = time.perf_counter()
        pcm = decode(clip, "amr")
        decode_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        transcript = transcribe(clip, "amr", settings=OFFLINE)
        spent = time.perf_counter() - t0
        asr_cpu += time.process_time() - c0
        rtf.append(spent / pcm.duration_s)
        decode_rtf.append(decode_s / pcm.duration_s)
        audio_s += pcm.duration_s
        asr_s += spent
        e, n = _cer(sentence, transcript.text)
        errors, chars = errors + e, chars + n
        print(
            f"  {pcm.duration_s:4.1f} s  RTF {spent / pcm.duration_s:.2f}  CER {e / n:.2f}  "
            f"{sentence} → {transcript.text}"
        )
    overall = asr_s / audio_s
    verdict = "meets" if overall <= 0.5 else "MISSES"
    print(
        f"clips n={clips}, {audio_s:.1f} s of audio: RTF {_stats(rtf)}; overall {overall:.2f}× real time: "
        f"{verdict} the ≤ 0.5× target"
    )
    print(f"CPU seconds per audio second (both threads): {asr_cpu / audio_s:.2f}")
    print(f"baseline (AMR decode + resample only): RTF mean {statistics.mean(decode_rtf):.4f}")
    print(f"character error rate over all clips: {errors / chars:.1%} ({errors}/{chars} characters)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices-per-kind", type=int, default=10)
    parser.add_argument("--clips", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    bench_ocr(args.invoices_per_kind)
    bench_asr(args.clips)
    print(f"load average {os.getloadavg()[0]:.2f} at end (other processes share these cores)")


if __name__ == "__main__":
    main()
