"""Turning uploaded bytes into a safe, upright, reasonably sized picture (or a Chinese refusal).

Everything here runs before any OCR engine sees the image, so a hostile upload (an executable with a
.jpg name, a decompression bomb) is refused cheaply, from its header, before it is decoded.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
# A 48-megapixel phone photo is 8000×6000; anything larger is not a photo of an invoice.
MAX_PIXELS = 50_000_000
# The OCR detector works on at most this long a side; larger only costs time.
MAX_SIDE = 2000
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "MPO"})


class ImageRejected(ValueError):
    """The upload is not an image we will read; `message` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_photo(data: bytes, *, max_side: int = MAX_SIDE) -> Image.Image:
    """An RGB image turned upright by its EXIF orientation and downsized to `max_side`."""
    if not data:
        raise ImageRejected("图片为空，请重新拍摄或选择图片。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"图片太大（超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB），请压缩后再上传。")
    try:
        # Image.open reads the header only. Pillow itself raises past 2× its MAX_IMAGE_PIXELS (and warns
        # above it); our lower MAX_PIXELS refuses anything larger than a phone photo first. No global
        # warnings filter is touched here: that state is shared by every thread of the server.
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.format not in ALLOWED_FORMATS:
            raise ImageRejected("不支持的图片格式，请上传 JPG 或 PNG 照片。")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageRejected("图片像素过多，可能是异常文件，请上传正常拍摄的发票照片。")
        if min(width, height) < 32:
            raise ImageRejected("图片太小，无法识别，请重新拍摄清晰的发票照片。")
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale, much faster
        image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected("图片像素过多，可能是异常文件，请上传正常拍摄的发票照片。") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # OSError covers truncated and corrupt files; SyntaxError is what some Pillow plugins raise.
        raise ImageRejected("无法识别的图片文件，请上传 JPG 或 PNG 格式的发票照片。") from exc

    image = ImageOps.exif_transpose(image) or image
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
