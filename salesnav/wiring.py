"""One place that configures a process of SalesNav, whichever it is.

`salesnav serve` (the embedded default), gunicorn's app factory (`web_app`), `salesnav worker` and
`salesnav clock` all call `configure_process`: the settings, the database, the job queue, the heartbeats,
the WeCom client and the ports' adapters. A job queued from inside a job therefore goes where the embedded
default sends it — to rq when `REDIS_URL` is set — and never to a thread of a process that is about to end.
"""

from __future__ import annotations

from typing import Literal

from flask import Flask

from salesnav.settings import Settings

Role = Literal["serve", "web", "worker", "clock"]


def configure_process(settings: Settings, role: Role) -> None:
    from salesnav import settings as app_settings
    from salesnav.bot import client as wecom_client
    from salesnav.jobs import heartbeat
    from salesnav.jobs import queue as jobs_queue
    from salesnav.models import session as db

    app_settings.configure(settings)
    db.configure(settings.database_url)
    jobs_queue.configure(settings.redis_url)
    heartbeat.configure(settings.redis_url)
    wecom_client.configure(settings)
    from salesnav.adapters import register_adapters

    register_adapters()  # the ports' channels: WeCom outbox, SMTP, WeCom's address book


def web_app() -> Flask:
    """gunicorn's app factory (Procfile `web`): the app, with the emulator answered in process when it is on."""
    from salesnav import media_pool
    from salesnav.app import create_app
    from salesnav.bot.emulator import local

    settings = Settings.from_env()
    app = create_app(settings)
    media_pool.start(settings)  # the client's voice notes and invoice photos, side by side in processes
    if settings.wecom.emulator:
        # Our own client's calls to our own emulator are answered without a socket: under gunicorn they would
        # otherwise wait for a free thread of the very server they come from (8 logins at once: deadlock).
        local.serve_in_process(app)
    return app
