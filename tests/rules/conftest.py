"""Rule tests: the real app on loopback with its WeCom emulator, an SMTP server (aiosmtpd) and,
when a test needs one, a finance HTTP endpoint; the clock is moved, never slept on."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from salesnav.bot import client as wecom_client
from salesnav.models import OutboundMessage
from salesnav.models import session as db
from salesnav.settings import Settings, SmtpSettings
from tests.bot.conftest import LiveApp, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


class FinanceServer:
    """A finance system on loopback answering GET /v1/on-time-rate with whatever the test set: `answer` as JSON,
    or `raw` bytes as they are; `trickle` sends the whole response (status line and headers too, or only the
    body with `trickle_body_only`) one byte every `trickle` seconds, as a broken proxy or a slow-loris might."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] | None = None
        self.raw: bytes | None = None
        self.status = 200
        self.delay = 0.0
        self.trickle = 0.0
        self.trickle_body_only = False
        self.requests: list[dict[str, list[str]]] = []
        self.stopped = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                outer.requests.append(parse_qs(url.query))
                time.sleep(outer.delay)
                ours = url.path == "/v1/on-time-rate"
                body = (
                    (outer.raw if outer.raw is not None else json.dumps(outer.answer or {}).encode()) if ours else b"{}"
                )
                head = (
                    f"HTTP/1.1 {outer.status if ours else 404} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                ).encode()
                try:
                    if not outer.trickle:
                        self.wfile.write(head + body)
                        return
                    if outer.trickle_body_only:
                        self.wfile.write(head)
                        self.wfile.flush()
                    for byte in body if outer.trickle_body_only else head + body:
                        if outer.stopped.wait(outer.trickle):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is what the slow tests check

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def finance() -> Iterator[FinanceServer]:
    server = FinanceServer()
    yield server
    server.stop()


@pytest.fixture
def start_app(settings: Settings, database: str) -> Iterator[Callable[..., LiveApp]]:
    """Start the live app with changed settings (SMTP, finance); the original ones are restored after."""
    stack: list[Iterator[LiveApp]] = []

    def start(**changes: Any) -> LiveApp:
        if settings.redis_url:
            from redis import Redis

            Redis.from_url(settings.redis_url).flushdb()
        gen = serve(dataclasses.replace(settings, **changes))
        stack.append(gen)
        return next(gen)

    yield start
    for gen in stack:
        gen.close()
    wecom_client.configure(settings)


@pytest.fixture
def app(start_app: Callable[..., LiveApp], mailbox: tuple[Mailbox, int]) -> LiveApp:
    _, port = mailbox
    return start_app(smtp=SmtpSettings(host="127.0.0.1", port=port, sender="salesnav@example.test"))


def outbox_texts(userid: str) -> list[str]:
    """What SalesNav queued for one person, in order (text messages)."""
    with db.transaction() as s:
        rows = s.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.recipient_userid == userid, OutboundMessage.msg_type == "text")
            .order_by(OutboundMessage.id)
        ).all()
        return [r.body["content"] for r in rows]


def received(app: LiveApp, userid: str, msgtype: str = "text") -> list[dict[str, Any]]:
    """What the WeCom emulator delivered to one person."""
    return [m for m in app.emulator.sent(userid) if m["msgtype"] == msgtype]


def received_texts(app: LiveApp, userid: str) -> list[str]:
    """The sentence of each message one person received: a text's content, or the message an alert card quotes
    (a manager's alert is one card carrying it, not a text and a card)."""
    said = []
    for m in app.emulator.sent(userid):
        if m["msgtype"] == "text":
            said.append(m["payload"]["content"])
        elif m["msgtype"] == "template_card" and (quote := m["payload"].get("quote_area")):
            said.append(quote["quote_text"])
    return said


def scan(app: LiveApp) -> None:
    """One time-rule scan as of the test clock, and everything it queued."""
    from salesnav import clock
    from salesnav.jobs.rules import run_scan

    run_scan(clock.now())
    app.drain()
