"""Outgoing e-mail over SMTP (settings.smtp); tests run a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from salesnav.settings import SmtpSettings


class MailNotConfigured(RuntimeError):
    """SMTP_HOST is empty: the deployment sends no e-mail."""


def send_mail(smtp: SmtpSettings, to: list[str], subject: str, text: str, html: str, timeout: float = 15.0) -> None:
    """One multipart/alternative message (text first, HTML preferred by clients that can show it)."""
    if not smtp.host:
        raise MailNotConfigured("SMTP_HOST is not set")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr(("销售导航仪", smtp.sender))
    message["To"] = ", ".join(to)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        if smtp.use_tls:
            client.starttls()
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(message)
