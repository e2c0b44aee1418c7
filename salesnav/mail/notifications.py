"""The e-mail adapter of the notification port: an `EmailBrief` goes out over SMTP (settings.smtp).

With a session the mail leaves after that transaction commits (nothing is said about work rolled back);
without one (a job that closed its session before the slow send) it leaves at once.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from salesnav.mail import send_mail
from salesnav.ports import notifications as port
from salesnav.settings import current_settings


def register() -> None:
    port.register(port.EmailBrief, email_brief)


def email_brief(session: Session | None, note: port.EmailBrief) -> None:
    def send(*_: object) -> None:
        send_mail(current_settings().smtp, list(note.to), note.subject, note.text, note.html)

    if session is None:
        send()
    else:
        event.listen(session, "after_commit", send, once=True)
