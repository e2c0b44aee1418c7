"""One place that configures a process of SalesNav, whichever it is.

`salesnav serve` (the embedded default), gunicorn's app factory (`salesnav.app:web_app`), `salesnav worker` and
`salesnav clock` all call `configure_process`: the settings, the database, the job queue, the heartbeats,
the WeCom client and the ports' adapters. A job queued from inside a job therefore goes where the embedded
default sends it — to rq when `REDIS_URL` is set — and never to a thread of a process that is about to end.
"""

from __future__ import annotations

from typing import Literal

from salesnav import settings as app_settings
from salesnav.adapters import register_adapters
from salesnav.bot import client as wecom_client
from salesnav.jobs import heartbeat
from salesnav.jobs import queue as jobs_queue
from salesnav.models import session as db
from salesnav.settings import Settings

Role = Literal["serve", "web", "worker", "clock"]


def configure_process(settings: Settings, role: Role) -> None:
    app_settings.configure(settings)
    db.configure(settings.database_url)
    jobs_queue.configure(settings.redis_url)
    heartbeat.configure(settings.redis_url)
    wecom_client.configure(settings)
    register_adapters()  # the ports' channels: WeCom outbox, SMTP, WeCom's address book
