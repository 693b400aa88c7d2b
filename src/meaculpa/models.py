"""Import every table so ``Base.metadata`` is complete (for migrations and tests).

A domain with tables adds its ``models`` module to ``MODEL_MODULES``.
"""

import importlib

from meaculpa.core.db import Base

MODEL_MODULES = (
    "meaculpa.core.audit",
    "meaculpa.accounts.models",
    "meaculpa.customers.models",
    "meaculpa.cases.models",
    "meaculpa.messages.models",
    "meaculpa.errors.models",
    "meaculpa.jobs.models",
    "meaculpa.notifications.models",
    "meaculpa.playbooks.models",
    "meaculpa.remedies.models",
    "meaculpa.commitments.models",
    "meaculpa.followups.models",
    "meaculpa.mail.models",
    "meaculpa.insights.models",
    "meaculpa.apologies.models",
    "meaculpa.surveys.models",
    "meaculpa.problems.models",
    "meaculpa.improvements.models",
    "meaculpa.lessons.models",
)

for _module in MODEL_MODULES:
    importlib.import_module(_module)

metadata = Base.metadata
