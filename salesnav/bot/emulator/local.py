"""Our own client's calls to the emulator mounted in this very process, answered without a socket.

Under gunicorn a request that calls WeCom (a mini-program login exchanging its code, a page reading the
directory) would otherwise send an HTTP request to the same server and wait for one of its threads: with as
many such requests as threads, each waits for a thread none will free (8 logins at once deadlocked for 20 s).
`serve_in_process(app)` (gunicorn's app factory, salesnav/wiring.py) makes every WeCom client built in this
process hand its emulator calls straight to the app through WSGI. The emulator's state is per process anyway,
so nothing changes but the socket. Calls from other processes (the workers) still come over HTTP.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from salesnav.bot.emulator.blueprint import bp

_app: Flask | None = None
_lock = threading.Lock()


class WsgiAdapter(BaseAdapter):
    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:  # timeouts and TLS options mean nothing in process
        url = urlsplit(request.url or "")
        body = request.body or b""
        builder = EnvironBuilder(
            path=url.path,
            query_string=url.query,
            method=request.method or "GET",
            headers=[(k, str(v)) for k, v in request.headers.items()],
            data=body.encode() if isinstance(body, str) else bytes(body),  # type: ignore[arg-type]  # requests gives bytes here (no streamed bodies)
            base_url=f"{url.scheme}://{url.netloc}",
        )
        try:
            app_iter, status, headers = run_wsgi_app(self.app, builder.get_environ(), buffered=True)
        finally:
            builder.close()
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.headers = CaseInsensitiveDict(headers.to_wsgi_list())
        response._content = b"".join(app_iter)
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


def serve_in_process(app: Flask) -> None:
    global _app
    with _lock:
        _app = app


def mount_on(session: requests.Session, api_base: str) -> bool:
    """Route `session`'s calls under `api_base` to the in-process emulator, if this process serves one there."""
    with _lock:
        app = _app
    if app is None or urlsplit(api_base).path.rstrip("/") != bp.url_prefix:
        return False
    session.mount(api_base.rstrip("/") + "/", WsgiAdapter(app))
    return True
