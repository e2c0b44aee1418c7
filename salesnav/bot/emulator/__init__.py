"""The local WeCom emulator (docs/architecture.md): WeCom's HTTP API on loopback, inside our own app.

`mount(app)` registers it under `/_wecom` when the app runs in emulator mode
(`settings.wecom.emulator`, i.e. `WECOM_EMULATOR=1`, the default without a `WECOM_SECRET`);
`WECOM_API_BASE=http://<host>:<port>/_wecom` then points our client at it. It accepts whatever
corp id and secret are configured. Its state (tokens, media, received messages, injected
faults) is one process-wide object: see state.py. Endpoints: api.py (messages, media, menu),
directory.py (users, departments, login codes, external contacts), control.py (what it
received, fault injection), remote.py (a small HTTP helper for tests and the demo).
"""

from __future__ import annotations

from flask import Flask

from salesnav.bot.emulator import api, control, directory, oauth, wxacode  # noqa: F401  (registers the routes)
from salesnav.bot.emulator.blueprint import bp
from salesnav.bot.emulator.state import STATE, EmulatorState
from salesnav.settings import Settings

PREFIX = bp.url_prefix


class EmulatorNotAllowed(RuntimeError):
    """The emulator would answer as WeCom; it must never run next to real credentials."""


def mount(app: Flask) -> None:
    settings: Settings = app.config["SALESNAV"]
    if not settings.wecom.emulator:
        raise EmulatorNotAllowed("the WeCom emulator is only mounted when WECOM_EMULATOR is on")
    app.register_blueprint(bp)


__all__ = ["PREFIX", "STATE", "EmulatorNotAllowed", "EmulatorState", "mount"]
