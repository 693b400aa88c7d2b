"""Import every table so ``Base.metadata`` is complete (for migrations and tests)."""

from meaculpa.accounts.models import ApiToken, Organisation, Team, User
from meaculpa.cases.models import Case
from meaculpa.core.audit import AuditEvent
from meaculpa.core.db import Base
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.jobs.models import Job
from meaculpa.messages.models import IdempotencyRecord, Message

metadata = Base.metadata

__all__ = [
    "AffectedCustomer",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Case",
    "Customer",
    "CustomerIdentity",
    "Error",
    "IdempotencyRecord",
    "Job",
    "Message",
    "Organisation",
    "Team",
    "User",
    "metadata",
]
