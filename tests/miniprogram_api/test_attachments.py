"""Uploads: the type is judged by content, not by name; size is capped; bombs are refused; equal files kept once."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

from salesnav.models import Attachment


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def pptx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as deck:
        deck.writestr("[Content_Types].xml", "<Types/>")
        deck.writestr("ppt/presentation.xml", "<p:presentation/>")
        deck.writestr("ppt/slides/slide1.xml", "<p:sld/>")
    return out.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes that claim 10 billion pixels: only the header is valid."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _upload(client, headers, data: bytes, name: str):
    return client.post("/api/v1/attachments", headers=headers, data={"file": (io.BytesIO(data), name)})


def test_a_photo_is_stored_by_its_content_hash_and_kept_once(client, org, login, live_api, session):
    rep = login(org.rep)
    first = _upload(client, rep, png_bytes(), "拜访照片.jpg")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    # Named .jpg, but it is a PNG: the content decides.
    assert body["content_type"] == "image/png" and body["filename"] == "拜访照片.png"
    again = _upload(client, rep, png_bytes(), "again.png").get_json()
    assert again["id"] == body["id"]
    stored = live_api.settings.data_dir / "attachments" / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
    assert stored.read_bytes() == png_bytes()
    content = client.get(f"/api/v1/attachments/{body['id']}/content", headers=rep)
    assert content.status_code == 200 and content.data == png_bytes()


def test_a_deck_pdf_and_voice_note_are_accepted(client, org, login):
    rep = login(org.rep)
    deck = _upload(client, rep, pptx_bytes(), "方案.pptx").get_json()
    assert deck["content_type"].endswith("presentationml.presentation")
    assert _upload(client, rep, b"%PDF-1.7\n" + b"0" * 100, "a.pdf").get_json()["content_type"] == "application/pdf"
    assert _upload(client, rep, b"#!AMR\n" + b"\x3c" * 64, "voice.amr").get_json()["content_type"] == "audio/amr"
    assert _upload(client, rep, b"\x02#!SILK_V3" + b"\x00" * 64, "v.silk").get_json()["content_type"] == "audio/silk"


def test_a_renamed_executable_is_refused(client, org, login):
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    response = _upload(client, login(org.rep), exe, "报价单.pdf")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_type" and "不支持的文件类型" in response.get_json()["message"]
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    assert _upload(client, login(org.rep), elf, "photo.png").status_code == 415


def test_a_zip_that_is_not_a_deck_is_refused(client, org, login):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.bin", "x")
    assert _upload(client, login(org.rep), out.getvalue(), "deck.pptx").status_code == 415


def test_an_oversized_file_is_refused(client, org, login, session):
    big = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    response = _upload(client, login(org.rep), big, "big.pdf")
    assert response.status_code == 413
    assert response.get_json() == {"error": "too_large", "message": "文件过大（最大 20 MB）"}
    assert session.query(Attachment).count() == 0


def test_a_decompression_bomb_image_is_refused_without_decoding_it(client, org, login):
    response = _upload(client, login(org.rep), bomb_png(), "bomb.png")
    assert response.status_code == 415
    assert response.get_json()["message"] == "图片尺寸异常巨大，已拒绝"


def test_another_reps_attachment_is_not_found(client, org, login):
    mine = _upload(client, login(org.rep), png_bytes(), "a.png").get_json()
    response = client.get(f"/api/v1/attachments/{mine['id']}", headers=login(org.outsider_rep))
    assert response.status_code == 404
    assert client.get(f"/api/v1/attachments/{mine['id']}", headers=login(org.manager)).status_code == 200
