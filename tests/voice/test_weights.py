"""The speech model's files are checked against the published SHA-256 before they are used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from salesnav.voice.weights import (
    MODEL_BIN_PARTS,
    PUBLISHED_SHA256,
    WeightsError,
    default_part_dirs,
    load_verified_files,
)


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    part1, part2 = default_part_dirs()
    return Path(shutil.copytree(part1, tmp_path / "part1")), Path(shutil.copytree(part2, tmp_path / "part2"))


def test_installed_packages_match_the_published_hashes() -> None:
    files = load_verified_files()
    assert set(files) == set(PUBLISHED_SHA256)
    assert len(files["model.bin"]) == 145_217_532


def test_a_corrupted_copy_is_refused(tmp_path: Path) -> None:
    part1, part2 = _copy(tmp_path)
    damaged = part2 / MODEL_BIN_PARTS[1]
    with damaged.open("r+b") as handle:
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(WeightsError, match=r"model\.bin does not match its published SHA-256"):
        load_verified_files(part1, part2)


def test_a_missing_part_is_refused(tmp_path: Path) -> None:
    part1, part2 = _copy(tmp_path)
    (part2 / MODEL_BIN_PARTS[1]).unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_verified_files(part1, part2)


def test_a_swapped_tokenizer_is_refused(tmp_path: Path) -> None:
    part1, part2 = _copy(tmp_path)
    (part1 / "tokenizer.json").write_text("{}")
    with pytest.raises(WeightsError, match=r"tokenizer\.json"):
        load_verified_files(part1, part2)
