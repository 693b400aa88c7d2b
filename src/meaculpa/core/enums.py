"""Value sets shared by the models, the API schemas and the pages."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    es = "es"
    en = "en"


class Role(StrEnum):
    agent = "agent"
    manager = "manager"
    admin = "admin"


class Channel(StrEnum):
    email = "email"
    web = "web"
    api = "api"
    phone = "phone"
    chat = "chat"
    twitter = "twitter"
    facebook = "facebook"
    instagram = "instagram"
    whatsapp = "whatsapp"
    other = "other"


class IdentityKind(StrEnum):
    email = "email"
    phone = "phone"
    twitter = "twitter"
    facebook = "facebook"
    instagram = "instagram"
    whatsapp = "whatsapp"
    external = "external"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


SEVERITY_RANK = {Severity.low: 1, Severity.medium: 2, Severity.high: 3, Severity.critical: 4}


class CaseStatus(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    waiting_on_customer = "waiting_on_customer"
    resolved = "resolved"
    closed = "closed"


OPEN_STATUSES = (
    CaseStatus.new,
    CaseStatus.acknowledged,
    CaseStatus.in_progress,
    CaseStatus.waiting_on_customer,
)


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    note = "note"


class ErrorType(StrEnum):
    concept = "concept"
    calculation = "calculation"
    measurement = "measurement"
    judgement = "judgement"
    process = "process"
    product = "product"
    delivery = "delivery"
    communication = "communication"
    other = "other"


class ErrorStatus(StrEnum):
    open = "open"
    investigating = "investigating"
    fixing = "fixing"
    fixed = "fixed"
    closed = "closed"


class AffectedState(StrEnum):
    identified = "identified"
    contacted = "contacted"
    apologised = "apologised"
    remedied = "remedied"
    resolved = "resolved"
    complained = "complained"
