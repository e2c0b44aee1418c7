"""Uploads that are not usable photos are refused, in Chinese, before any engine sees them."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from salesnav.ocr import ImageRejected, read_invoice
from salesnav.ocr.images import MAX_SIDE, load_photo
from salesnav.ocr.samples import draw_invoice, photo_like


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions: a decompression bomb's header, without the bomb's size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def _is_chinese(message: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in message)


def test_renamed_executable_is_refused_with_a_chinese_message() -> None:
    executable = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 2000  # what a Linux binary renamed to .jpg starts with
    with pytest.raises(ImageRejected) as refused:
        read_invoice(executable)
    assert _is_chinese(refused.value.message)


def test_text_file_is_refused() -> None:
    with pytest.raises(ImageRejected, match="无法识别的图片"):
        read_invoice("发票号码：08523671\n金额：100.00\n".encode())


@pytest.mark.parametrize(
    ("width", "height"),
    [(60_000, 60_000), (10_000, 10_000), (9_000, 6_000)],
    ids=["past-pillow-limit", "pillow-warns-only", "just-over-ours"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's warning; we refuse anyway
def test_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    bomb = _png_header_only(width, height)  # gigapixels declared in a 100-byte file
    with pytest.raises(ImageRejected, match="像素过多"):
        read_invoice(bomb)


def test_empty_upload_is_refused() -> None:
    with pytest.raises(ImageRejected, match="为空"):
        read_invoice(b"")


def test_truncated_jpeg_is_refused() -> None:
    jpeg = photo_like(draw_invoice(width=800))
    with pytest.raises(ImageRejected):
        load_photo(jpeg[:300])


def test_exif_orientation_is_applied_and_large_photos_are_downsized() -> None:
    upright = draw_invoice(width=2400)  # landscape
    stored_sideways = photo_like(upright, rotate=90)
    assert Image.open(io.BytesIO(stored_sideways)).size[0] < Image.open(io.BytesIO(stored_sideways)).size[1]

    photo = load_photo(stored_sideways)

    assert photo.mode == "RGB"
    assert photo.size[0] > photo.size[1]  # landscape again, as the camera saw it
    assert max(photo.size) == MAX_SIDE
