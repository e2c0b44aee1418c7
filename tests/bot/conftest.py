"""`live_app`: the real app served over loopback HTTP, its WeCom client pointed at its own emulator.

Every WeCom call a test causes crosses a real socket: our client → werkzeug → the emulator
blueprint → the emulator's recorded state, which the test reads back over HTTP.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from salesnav.app import create_app
from salesnav.bot import client as wecom_client
from salesnav.bot.emulator import PREFIX, STATE
from salesnav.bot.emulator.remote import EmulatorRemote
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from salesnav.settings import Settings


@dataclass
class LiveApp:
    base_url: str  # e.g. http://127.0.0.1:54321
    app: Flask
    settings: Settings
    emulator: EmulatorRemote  # what the emulator received, and fault injection

    @property
    def emulator_url(self) -> str:
        return self.base_url + PREFIX

    def drain(self) -> None:
        """Run every queued job now (in-process worker thread, or rq in burst mode)."""
        jobs_queue.backend().drain()

    def run_workers(self) -> None:
        """What this app's running workers do after a CLI command (a process of its own) queued messages: rq's
        workers run the queued jobs; in the embedded default the clock of `salesnav serve` fires the periodic
        outbox flush. The command's settings and job backend are replaced by this app's first."""
        wecom_client.configure(self.settings)
        backend = jobs_queue.configure(self.settings.redis_url)
        if not self.settings.redis_url:
            flush = next(job for job in PERIODIC if job.id == "outbound.flush_due")
            Clock(LocalLeadership(), periodic=[flush]).tick(flush)
        backend.drain()


def serve(settings: Settings) -> Iterator[LiveApp]:
    """Serve an app built from `settings` on a free loopback port; its WeCom API base is itself."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # The port is known before the app is built, so its settings can point at its own emulator.
    settings = dataclasses.replace(
        settings,
        wecom=dataclasses.replace(settings.wecom, api_base=base_url + PREFIX, emulator=True),
        public_url=base_url,  # links in messages and QR codes lead back to this server (its /m/ too)
        wechat_api_base=base_url + PREFIX,
    )
    app = create_app(settings)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, fd=sock.fileno())
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    STATE.reset()
    try:
        yield LiveApp(base_url, app, settings, EmulatorRemote(base_url + PREFIX))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        sock.close()
        STATE.reset()


@pytest.fixture
def live_app(settings: Settings, database: str) -> Iterator[LiveApp]:
    if settings.redis_url:
        # The dedicated test Redis database: no token, counter or job left over from another test.
        from redis import Redis

        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)
