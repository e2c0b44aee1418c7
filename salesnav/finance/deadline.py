"""An HTTP GET with one total deadline: connect, headers and body together.

`requests` (urllib3) timeouts bound each socket operation, not the whole exchange: a server that trickles a
byte every two seconds never trips a five-second read timeout and can hold the caller for minutes. Here a
watchdog timer shuts the socket down when the deadline passes, which ends whatever read is blocked on it
(TLS handshake, headers or body), and the call raises `DeadlineExceeded`.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


class DeadlineExceeded(Exception):
    """No complete answer within the deadline."""


class ResponseTooLarge(Exception):
    """The body is larger than the caller accepts."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def get(url: str, params: dict[str, object], *, deadline: float, max_bytes: int) -> Answer:
    """GET `url` with `params`; raises DeadlineExceeded, ResponseTooLarge or OSError/HTTPException."""
    parts = urlsplit(url)
    path = (parts.path or "/") + "?" + urlencode(params)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    started = time.monotonic()
    connection = connection_class(parts.hostname or "", parts.port, timeout=deadline)
    expired = threading.Event()
    # The socket, kept here: http.client drops `connection.sock` once a "Connection: close" response has begun,
    # while the response goes on reading from it.
    connected: list[socket.socket] = []

    def cut_off() -> None:
        expired.set()
        sock = connected[0] if connected else connection.sock  # during connect: the raw socket, if any yet
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    watchdog = threading.Timer(deadline, cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connected.append(connection.sock)
        if expired.is_set():  # the deadline passed while connecting, before there was a socket to cut
            raise DeadlineExceeded(f"no answer within {deadline:g} s")
        connection.request("GET", path, headers={"Accept": "application/json", "Host": parts.netloc})
        response = connection.getresponse()
        declared = response.getheader("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"{declared} bytes declared, at most {max_bytes} accepted")
        body = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise ResponseTooLarge(f"more than {max_bytes} bytes")
        if expired.is_set():
            raise DeadlineExceeded(f"no answer within {deadline:g} s")
        return Answer(response.status, response.getheader("Content-Type") or "", body)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or time.monotonic() - started >= deadline:
            raise DeadlineExceeded(f"no answer within {deadline:g} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
