"""What notify's handlers, routes and loops share: built once in ``app.create_app`` (tests build it the same way)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from notify_svc.adapters.channels import HttpSmsProvider, SmsProvider, SmtpMailer, WebhookRobot
from notify_svc.adapters.contacts import Contacts
from notify_svc.domain import surveys
from notify_svc.domain.reminders import WorkPoints
from notify_svc.settings import NotifySettings
from notify_svc.store.batch import BatchWriter
from notify_svc.store.config import CalendarCache, MembersCache, RulesCache, TargetsCache, TemplatesCache
from notify_svc.workers.hub import InboxHub
from shared.clock import Clock
from shared.db import asyncpg_dsn
from shared.loops import BackgroundLoop
from shared.ratelimit import RateLimiter
from shared.runtime import app_deps
from shared.worktime import parse_hours


@dataclass
class NotifyDeps:
    clock: Clock
    settings: NotifySettings = field(default_factory=NotifySettings)
    source: str = "/fengqiao/notify"
    calendar: WorkPoints | None = None  # a fixed calendar (tests); None: routing's, as published (``calendars``)
    calendars: CalendarCache | None = None
    contacts: Contacts | None = None
    sms: SmsProvider | None = None
    rules: RulesCache = field(default_factory=RulesCache)
    templates: TemplatesCache = field(default_factory=TemplatesCache)
    targets: TargetsCache = field(default_factory=TargetsCache)
    members: MembersCache = field(default_factory=MembersCache)
    hub: InboxHub = field(init=False)  # this replica's live inbox streams
    worker: BackgroundLoop | None = None  # the delivery worker, once the runtime built it (``app.create_app``)
    public_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(30, 60))  # the survey's public API

    def __post_init__(self) -> None:
        s = self.settings
        if self.calendar is None and self.calendars is None:
            self.calendars = CalendarCache(parse_hours(s.work_hours))
        if self.contacts is None:
            self.contacts = Contacts(s)
        if self.sms is None and s.sms_url:
            self.sms = HttpSmsProvider(s.sms_url, s.sms_api_key, s.sms_signature, s.send_timeout_seconds)
        self.hub = InboxHub(asyncpg_dsn(s.database_url))
        self.mailer = SmtpMailer(s)
        self.robot = WebhookRobot(s.send_timeout_seconds)
        self.survey_key = surveys.key(s.survey_secret, s.jwt_secret)
        # everything the handlers write per event, in one statement per transaction (``store.batch``)
        self.batch = BatchWriter(push=self.hub.push, send=self._wake_worker)

    def _wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()


Deps = Annotated[NotifyDeps, Depends(app_deps)]
