"""Wiring of the ports: which channel carries each kind of notification, where the directory comes from.

Every process calls `register_adapters()` once at start, before any use case runs: the web app
(`create_app`), the CLI (its `main` group, which also starts the workers and the clock) and the tests.
It is idempotent, so calling it again is harmless.
"""

from __future__ import annotations

from salesnav.bot import notifications as wecom_notifications
from salesnav.bot import org_directory as wecom_directory
from salesnav.mail import notifications as mail_notifications


def register_adapters() -> None:
    wecom_notifications.register()  # texts, cards, files and battle packs: the WeCom outbox
    mail_notifications.register()  # briefs to people outside the chat: SMTP
    wecom_directory.register()  # members and departments: WeCom's address book
