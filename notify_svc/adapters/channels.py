"""Channels to the outside: SMTP, webhook robots and the SMS vendor.

Every sender raises ``TransientError`` (retry later) or ``PermanentError`` (give up); error texts never carry
contact data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx

from notify_svc.settings import NotifySettings


class TransientError(Exception):
    """Worth retrying: a timeout, a 5xx, a refused connection."""


class PermanentError(Exception):
    """Retrying will not help: no contact data, a 4xx, a channel not configured."""


def http_error(what: str, exc: Exception) -> Exception:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status in (408, 425, 429) or status >= 500:
            return TransientError(f"{what}: HTTP {status}")
        return PermanentError(f"{what}: HTTP {status}")
    return TransientError(f"{what}: {type(exc).__name__}")


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, client_ref: str) -> None: ...


class HttpSmsProvider:
    """A vendor taking ``POST {url}`` JSON ``{to, sign, text, client_ref}`` with an API key; 2xx = accepted.

    ``client_ref`` is the delivery id, so a vendor that dedupes on it never sends a retried message twice.
    """

    def __init__(self, url: str, api_key: str | None, signature: str, timeout: float,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url, self.api_key, self.signature = url, api_key, signature
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, phone: str, text: str, client_ref: str) -> None:
        headers = {"X-Api-Key": self.api_key} if self.api_key else {}
        try:
            r = await self.client.post(self.url, headers=headers,
                                       json={"to": phone, "sign": self.signature, "text": text,
                                             "client_ref": client_ref})
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise http_error("sms vendor", exc) from exc


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.s = settings

    async def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        s = self.s
        if not s.smtp_host:
            raise PermanentError("email: no SMTP server configured (NOTIFY_SMTP_HOST)")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.mail_from, to, subject
        msg["Message-ID"] = f"<{message_id}@fengqiao>"
        msg.set_content(body, charset="utf-8")
        try:
            await aiosmtplib.send(msg, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                                  password=s.smtp_password, start_tls=s.smtp_starttls, use_tls=s.smtp_use_tls,
                                  timeout=s.send_timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError("email: recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentError(f"email: SMTP {exc.code}") from exc
            raise TransientError(f"email: SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"email: {type(exc).__name__}") from exc


def robot_signature(secret: str, timestamp_ms: int) -> str:
    """DingTalk-style robot signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class WebhookRobot:
    """Posts a markdown message to a group robot (WeCom/DingTalk style), signed with the robot's secret."""

    def __init__(self, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, url: str, secret: str | None, title: str, body: str, now_ms: int | None = None) -> None:
        if secret:
            ts = now_ms if now_ms is not None else int(time.time() * 1000)
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(robot_signature(secret, ts))}"
        payload: dict[str, Any] = {"msgtype": "markdown",
                                   "markdown": {"title": title, "text": f"### {title}\n\n{body}"}}
        try:
            r = await self.client.post(url, json=payload)
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise http_error("webhook robot", exc) from exc
        try:
            answer = r.json()
        except ValueError:
            return
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code not in (0, None):
            raise PermanentError(f"webhook robot: errcode {code}")
