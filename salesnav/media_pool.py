"""Transcription and OCR in a pool of processes sized to the machine, so four managers' voice notes at once are
heard side by side instead of queueing behind one another (CPU work, which threads of one process cannot share).

`transcribe` and `read_invoice` take bytes and settings and return the engine's plain result; database writes
stay with the caller (a job, a request). Without a started pool (tests, one-off commands) they run in the calling
process, as before. `salesnav serve`, `salesnav worker` and the web app (`salesnav.app.web_app`) call `start()`.

Each pool process builds its engine once, on its first clip or photo (the offline Whisper model is loaded as the
process starts, when it is the configured engine); `warm()` starts them all and waits, for a benchmark or a worker
that should answer its first note at full speed. The size is the machine's CPU count (`SALESNAV_MEDIA_WORKERS`
overrides it). A pool process that dies (killed, out of memory) breaks the pool: the call that saw it runs in the
calling process and a new pool is started for the next.

A caller that holds a turn while it waits (the embedded default's job threads on SQLite take turns at the
database) hands it back for the wait through `set_waiting`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from salesnav import settings as app_settings
from salesnav.ocr import offline
from salesnav.ocr import read_invoice as read_in_process
from salesnav.settings import Settings, current_settings
from salesnav.voice import transcribe as transcribe_in_process
from salesnav.voice import whisper

if TYPE_CHECKING:
    from salesnav.ocr.reading import InvoiceReading
    from salesnav.voice.transcript import Transcript

log = logging.getLogger(__name__)
ENV_VAR = "SALESNAV_MEDIA_WORKERS"
T = TypeVar("T")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_settings: Settings | None = None
_waiting: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext


def size(environ: dict[str, str] | None = None) -> int:
    """How many processes: the machine's CPUs, or SALESNAV_MEDIA_WORKERS (a whole number ≥ 1)."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return max(1, os.cpu_count() or 1)


def start(settings: Settings, *, preload: bool = True) -> ProcessPoolExecutor:
    """Start the pool (once per process; a second call returns the running pool). `preload`: each process loads
    the offline speech model as it starts (when that is the configured engine)."""
    global _pool, _settings
    with _lock:
        if _pool is None:
            _settings = settings
            _pool = ProcessPoolExecutor(
                max_workers=size(),
                # spawn: a fresh interpreter, never a fork of a process holding threads, locks and connections
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare,
                initargs=(settings, preload),
            )
        return _pool


def running() -> bool:
    return _pool is not None


def stop() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def warm() -> float:
    """Start every pool process and load its engine; the seconds it took (0 without a pool)."""
    pool = _pool
    if pool is None:
        return 0.0
    started = time.perf_counter()
    barrier_size = size()
    # Tasks that wait for one another occupy every process at once, so each one is started (and prepared).
    manager = multiprocessing.get_context("spawn").Manager()
    try:
        barrier = manager.Barrier(barrier_size)
        for future in [pool.submit(_meet, barrier) for _ in range(barrier_size)]:
            future.result(timeout=300)
    finally:
        manager.shutdown()
    return time.perf_counter() - started


def set_waiting(waiting: Callable[[], AbstractContextManager[Any]]) -> None:
    """What a caller does while its clip is in the pool (see the module's doc)."""
    global _waiting
    _waiting = waiting


def while_waiting() -> AbstractContextManager[Any]:
    """The context a caller's wait for the pool runs in (its turn handed back meanwhile)."""
    return _waiting()


def transcribe(audio: bytes, fmt: str, *, settings: Settings | None = None) -> Transcript:
    """salesnav.voice.transcribe, in the pool (raises AudioRejected with its Chinese message as it does)."""
    return _run(_transcribe_here, audio, fmt, settings or current_settings())


def read_invoice(image: bytes, *, settings: Settings | None = None) -> InvoiceReading:
    """salesnav.ocr.read_invoice, in the pool (raises ImageRejected with its Chinese message as it does)."""
    return _run(_read_invoice_here, image, settings or current_settings())


def _run(work: Callable[..., T], *args: Any) -> T:
    global _pool
    pool = _pool
    if pool is None:
        return work(*args)
    try:
        future = pool.submit(work, *args)
        with while_waiting():
            return future.result()
    except BrokenProcessPool:
        log.exception("a media pool process died; this clip runs here and the pool is started again")
        with _lock:
            if _pool is pool:
                _pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        if _settings is not None:
            start(_settings)
        return work(*args)


# --- in the pool's processes ---------------------------------------------------------------------------------


def _prepare(settings: Settings, preload: bool) -> None:
    app_settings.configure(settings)
    # The processes share the machine's cores: each engine gets its share, so clips side by side do not thrash.
    whisper.THREADS = offline.THREADS = max(1, (os.cpu_count() or 1) // size())
    if preload and not settings.baidu.configured and not settings.asr_model_dir:
        whisper.load()


def _meet(barrier: Any) -> int:
    barrier.wait(timeout=300)
    return os.getpid()


def _transcribe_here(audio: bytes, fmt: str, settings: Settings) -> Transcript:
    return transcribe_in_process(audio, fmt, settings=settings)


def _read_invoice_here(image: bytes, settings: Settings) -> InvoiceReading:
    return read_in_process(image, settings=settings)
