"""Outgoing email for submitter notifications: SMTP when configured, otherwise none.

Configure with ``WORKBENCH_SMTP_URL`` (``smtp://user:pass@host:port`` or ``smtps://…``) and
``WORKBENCH_MAIL_FROM``. Without it, notifications fall back to a reply on the thread, as the
document describes for submitters whose address is not on file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlparse


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    use_ssl: bool = False
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str) -> None:
        import smtplib  # here: every process opening a store builds a mailer, few ever send
        from email.message import EmailMessage

        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(msg)


def mailer_from_env() -> Mailer | None:
    url = os.environ.get("WORKBENCH_SMTP_URL")
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError("WORKBENCH_SMTP_URL must look like smtp://user:pass@host:port")
    return SmtpMailer(
        host=parsed.hostname,
        port=parsed.port or (465 if parsed.scheme == "smtps" else 25),
        sender=os.environ.get("WORKBENCH_MAIL_FROM", "workbench@localhost"),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        use_ssl=parsed.scheme == "smtps",
    )
