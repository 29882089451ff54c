"""Notification rules as data: which event notifies whom over which channel (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.auth import Role
from shared.events import (
    CaseAssigned,
    CaseAssigneeSet,
    CaseEscalated,
    CaseExtensionRejected,
    CaseExtensionRequested,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseUrged,
    CohandlingTaskOpened,
    CohandlingTaskOverdue,
    HotspotAlert,
    PerformanceRecorded,
    RiskChanged,
    SessionScheduled,
    TaskForcePlanDue,
)
from shared.events.case_people import CaseLeaderSet
from shared.events.lookback import LookbackDue, LookbackRecurred

REMINDER = "reminder"  # the trigger of reminders (催办): not an event, a point of a deadline
PERFORMANCE_REMINDER = "performance_reminder"  # a point before an agreement's 履行 deadline (notify's own reminder)


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"
    SMS = "sms"


class UnitRef(StrEnum):
    """Which unit a recipient selector starts from."""

    EVENT = "event"  # the unit the event is about (assigned, overdue, reminder, hotspot, urged, extension)
    PARENT = "parent"  # the parent of that unit (督办)
    FROM = "from"  # escalated: the unit the case left
    TO = "to"  # escalated: the receiving unit
    STREET = "street"  # the street (街道) above the case's or the event's unit


ADMIN_ROLES = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)

TRIGGERS: frozenset[str] = frozenset({CaseAssigned.ce_type, CaseOverdue.ce_type, CaseEscalated.ce_type,
                                      CaseReceived.ce_type, RiskChanged.ce_type, CaseResolved.ce_type,
                                      HotspotAlert.ce_type, CaseUrged.ce_type, CaseExtensionRejected.ce_type,
                                      CaseExtensionRequested.ce_type, CaseAssigneeSet.ce_type, SessionScheduled.ce_type,
                                      LookbackDue.ce_type, LookbackRecurred.ce_type, REMINDER,
                                      PERFORMANCE_REMINDER, PerformanceRecorded.ce_type, CaseLeaderSet.ce_type,
                                      TaskForcePlanDue.ce_type, CohandlingTaskOpened.ce_type,
                                      CohandlingTaskOverdue.ce_type})
# the member a selector ``{"member": <name>}`` names: the case's 包案领导, the 专班's lead, a 协办 task's member
MEMBER_VARIABLES = frozenset({"leader_id", "lead_id", "member_id"})


@dataclass(frozen=True)
class Selector:
    unit: UnitRef | None = None  # None with applicant=True
    roles: tuple[str, ...] = ()  # empty = every active member of the unit
    applicant: bool = False
    assignee: bool = False  # the event's 承办人 (a member of the event's unit), alone
    parties: bool = False  # the parties the event names (a 调解 session's), by sms
    member: str | None = None  # the member whose id the event's variable of this name holds (MEMBER_VARIABLES)


@dataclass(frozen=True)
class Rule:
    id: str
    on: str
    when: Mapping[str, tuple[Any, ...]]
    to: tuple[Selector, ...]
    channels: tuple[Channel, ...]
    template: str

    def matches(self, trigger: str, facts: Mapping[str, Any]) -> bool:
        return trigger == self.on and all(facts.get(k) in allowed for k, allowed in self.when.items())


class RulesInvalid(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def matching(self, trigger: str, facts: Mapping[str, Any]) -> list[Rule]:
        return [r for r in self.rules if r.matches(trigger, facts)]

    @classmethod
    def parse(cls, doc: Mapping[str, Any], templates: frozenset[str]) -> RuleSet:
        errors: list[dict[str, str]] = []

        def bad(field: str, reason: str, code: str = "invalid_rule") -> None:
            errors.append({"field": field, "reason": reason, "code": code})

        raw = doc.get("rules")
        if not isinstance(raw, list) or not raw:
            raise RulesInvalid([{"field": "rules", "reason": "a non-empty list of rules is required",
                                 "code": "invalid_rule"}])
        rules, seen = [], set()
        for i, r in enumerate(raw):
            at = f"rules[{i}]"
            if not isinstance(r, Mapping):
                bad(at, "a rule is an object")
                continue
            rid = r.get("id")
            if not isinstance(rid, str) or not rid or len(rid) > 100:
                bad(f"{at}.id", "an id of 1–100 characters is required")
            elif rid in seen:
                bad(f"{at}.id", f"duplicate rule id {rid}", "duplicate")
            seen.add(rid)
            on = r.get("on")
            if on not in TRIGGERS:
                bad(f"{at}.on", f"unknown trigger {on!r}; one of {sorted(TRIGGERS)}")
            when_raw = r.get("when") or {}
            when: dict[str, tuple[Any, ...]] = {}
            if not isinstance(when_raw, Mapping):
                bad(f"{at}.when", "when is an object of field: value or [values]")
            else:
                for k, v in when_raw.items():
                    when[str(k)] = tuple(v) if isinstance(v, list) else (v,)
            selectors = []
            to = r.get("to")
            if not isinstance(to, list) or not to:
                bad(f"{at}.to", "at least one recipient selector is required")
                to = []
            for j, s in enumerate(to):
                sat = f"{at}.to[{j}]"
                if not isinstance(s, Mapping):
                    bad(sat, "a selector is an object")
                    continue
                if s.get("applicant"):
                    selectors.append(Selector(applicant=True))
                    continue
                if s.get("parties"):
                    selectors.append(Selector(parties=True))
                    continue
                if s.get("assignee"):
                    selectors.append(Selector(unit=UnitRef.EVENT, assignee=True))
                    continue
                if "member" in s:
                    if s["member"] not in MEMBER_VARIABLES:
                        bad(f"{sat}.member", f"unknown member variable {s['member']!r}; one of "
                                             f"{sorted(MEMBER_VARIABLES)}")
                    else:
                        selectors.append(Selector(member=str(s["member"])))
                    continue
                try:
                    unit = UnitRef(str(s.get("unit")))
                except ValueError:
                    bad(f"{sat}.unit", f"unknown unit reference {s.get('unit')!r}; one of {[u.value for u in UnitRef]}")
                    continue
                roles = s.get("roles") or []
                unknown = [x for x in roles if x not in {r.value for r in Role}]
                if unknown:
                    bad(f"{sat}.roles", f"unknown roles {unknown}")
                selectors.append(Selector(unit=unit, roles=tuple(roles)))
            channels = []
            for j, c in enumerate(r.get("channels") or []):
                try:
                    channels.append(Channel(c))
                except ValueError:
                    bad(f"{at}.channels[{j}]", f"unknown channel {c!r}; one of {[c.value for c in Channel]}")
            if not channels:
                bad(f"{at}.channels", "at least one channel is required")
            if any(s.applicant or s.parties for s in selectors) and any(c != Channel.SMS for c in channels):
                bad(f"{at}.channels", "the applicant and the parties are reached by sms only")
            template = r.get("template")
            if template not in templates:
                bad(f"{at}.template", f"unknown template {template!r}", "unknown_template")
            if not errors:
                rules.append(Rule(id=rid, on=on, when=when, to=tuple(selectors),  # type: ignore[arg-type]
                                  channels=tuple(channels), template=template))  # type: ignore[arg-type]
        if errors:
            raise RulesInvalid(errors)
        return cls(tuple(rules))


_STREET_ADMINS = [{"unit": "street", "roles": [Role.STREET_ADMIN.value]}]

DEFAULT_RULES: dict[str, Any] = {"rules": [
    {"id": "assigned.handlers", "on": CaseAssigned.ce_type, "to": [{"unit": "event"}],
     "channels": ["inbox", "webhook"], "template": "case_assigned"},
    {"id": "assignee_set.dispatched", "on": CaseAssigneeSet.ce_type, "when": {"how": "dispatch"},
     "to": [{"assignee": True}], "channels": ["inbox"], "template": "assignee_dispatched"},
    {"id": "reminder.assignee", "on": REMINDER, "to": [{"unit": "event"}], "channels": ["inbox"],
     "template": "reminder"},
    {"id": "reminder.assignee.sms", "on": REMINDER, "when": {"fraction": 0.8}, "to": [{"unit": "event"}],
     "channels": ["sms"], "template": "reminder"},
    {"id": "performance.due", "on": PERFORMANCE_REMINDER, "to": [{"unit": "event"}], "channels": ["inbox"],
     "template": "performance_due"},
    {"id": "performance.failed", "on": PerformanceRecorded.ce_type, "when": {"result": "not_performed"},
     "to": [{"unit": "event"}, {"unit": "parent", "roles": [r.value for r in ADMIN_ROLES]}], "channels": ["inbox"],
     "template": "performance_failed"},
    {"id": "urged.assignee", "on": CaseUrged.ce_type, "to": [{"unit": "event"}], "channels": ["inbox", "webhook"],
     "template": "urged"},
    {"id": "extension_requested.approvers", "on": CaseExtensionRequested.ce_type,
     "to": [{"unit": "parent", "roles": [r.value for r in ADMIN_ROLES]}], "channels": ["inbox"],
     "template": "extension_requested"},
    {"id": "extension_rejected.assignee", "on": CaseExtensionRejected.ce_type, "to": [{"unit": "event"}],
     "channels": ["inbox"], "template": "extension_rejected"},
    {"id": "overdue.supervise", "on": CaseOverdue.ce_type,
     "to": [{"unit": "event"}, {"unit": "parent", "roles": [r.value for r in ADMIN_ROLES]}],
     "channels": ["inbox", "email"], "template": "overdue"},
    {"id": "escalated.both", "on": CaseEscalated.ce_type, "to": [{"unit": "to"}, {"unit": "from"}],
     "channels": ["inbox"], "template": "escalated"},
    {"id": "received.red_risk", "on": CaseReceived.ce_type, "when": {"risk_level": "red"}, "to": _STREET_ADMINS,
     "channels": ["inbox", "sms"], "template": "red_risk"},
    {"id": "risk_changed.red", "on": RiskChanged.ce_type, "when": {"risk_level": "red"}, "to": _STREET_ADMINS,
     "channels": ["inbox", "sms"], "template": "red_risk"},
    {"id": "resolved.survey", "on": CaseResolved.ce_type, "to": [{"applicant": True}], "channels": ["sms"],
     "template": "survey"},
    {"id": "session_scheduled.parties", "on": SessionScheduled.ce_type, "when": {"notify_parties": True},
     "to": [{"parties": True}], "channels": ["sms"], "template": "session_notice"},
    {"id": "lookback_due.unit", "on": LookbackDue.ce_type, "to": [{"unit": "event"}], "channels": ["inbox"],
     "template": "lookback_due"},
    {"id": "lookback_recurred.unit", "on": LookbackRecurred.ce_type, "to": [{"unit": "event"}],
     "channels": ["inbox"], "template": "lookback_recurred"},
    # 包案领导 (三级责任): told of the case's escalations, overdue clocks and extension requests
    {"id": "leader_set.leader", "on": CaseLeaderSet.ce_type, "to": [{"member": "leader_id"}], "channels": ["inbox"],
     "template": "leader_assigned"},
    {"id": "escalated.leader", "on": CaseEscalated.ce_type, "to": [{"member": "leader_id"}], "channels": ["inbox"],
     "template": "leader_escalated"},
    {"id": "overdue.leader", "on": CaseOverdue.ce_type, "to": [{"member": "leader_id"}], "channels": ["inbox"],
     "template": "leader_overdue"},
    {"id": "extension_requested.leader", "on": CaseExtensionRequested.ce_type, "to": [{"member": "leader_id"}],
     "channels": ["inbox"], "template": "leader_extension_requested"},
    # 协办: the force's responsible member is told of the task and its deadline
    {"id": "cohandling_opened.member", "on": CohandlingTaskOpened.ce_type, "to": [{"member": "member_id"}],
     "channels": ["inbox"], "template": "cohandling_opened"},
    {"id": "cohandling_overdue.member", "on": CohandlingTaskOverdue.ce_type, "to": [{"member": "member_id"}],
     "channels": ["inbox"], "template": "cohandling_overdue"},
    {"id": "cohandling_overdue.lead", "on": CohandlingTaskOverdue.ce_type, "to": [{"unit": "event"}],
     "channels": ["inbox"], "template": "cohandling_overdue"},
    # 专班: the lead is reminded before the work plan is due, and supervised (with the street) once it is late
    {"id": "task_force_plan.soon", "on": TaskForcePlanDue.ce_type, "when": {"stage": "soon"},
     "to": [{"member": "lead_id"}], "channels": ["inbox"], "template": "plan_reminder"},
    {"id": "task_force_plan.overdue", "on": TaskForcePlanDue.ce_type, "when": {"stage": "overdue"},
     "to": [{"member": "lead_id"}, *_STREET_ADMINS], "channels": ["inbox"], "template": "plan_overdue"},
    {"id": "hotspot.street", "on": HotspotAlert.ce_type, "to": _STREET_ADMINS, "channels": ["inbox", "email"],
     "template": "hotspot"},
]}
