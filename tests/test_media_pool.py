"""The media pool: speech and OCR in processes of their own, with the engines' answers and refusals intact."""

from __future__ import annotations

import pytest

from salesnav import media_pool
from salesnav.ocr import ImageRejected
from salesnav.voice import AudioRejected


@pytest.fixture
def pool(settings):
    media_pool.start(settings, preload=False)  # no model needed to refuse a broken file
    yield
    media_pool.stop()


def test_the_pool_is_sized_to_the_machine_unless_told(monkeypatch):
    monkeypatch.setattr(media_pool.os, "cpu_count", lambda: 6)
    assert media_pool.size({}) == 6
    assert media_pool.size({"SALESNAV_MEDIA_WORKERS": "2"}) == 2
    assert media_pool.size({"SALESNAV_MEDIA_WORKERS": "零"}) == 6  # not a number: the machine decides


def test_a_refusal_in_a_pool_process_reaches_the_caller_in_chinese(pool, settings):
    assert media_pool.running()
    with pytest.raises(AudioRejected) as audio:
        media_pool.transcribe(b"not audio at all", "amr", settings=settings)
    with pytest.raises(ImageRejected) as image:
        media_pool.read_invoice(b"not an image", settings=settings)
    assert audio.value.message and image.value.message
    assert all("\u4e00" <= ch <= "\u9fff" for ch in audio.value.message[:2] + image.value.message[:2])


def test_without_a_pool_the_engines_run_in_the_calling_process(settings):
    assert not media_pool.running()
    with pytest.raises(ImageRejected):
        media_pool.read_invoice(b"not an image", settings=settings)
