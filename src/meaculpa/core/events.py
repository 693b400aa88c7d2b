"""In-process domain events, so one domain reacts to another's change without importing it.

A subscriber runs inside the publisher's transaction (same session), so whatever it writes
(rows, audit events, jobs) commits or rolls back with the change that caused it. Keep
subscribers quick: slow work belongs in a job they enqueue.

Events and their keyword arguments:

``case.opened``          session, actor, case_id, new_customer
``case.status_changed``  session, actor, case_id, old, new
``case.owner_changed``   session, actor, case_id, old, new, note
``message.inbound``      session, actor, message_id, case_id, customer_id, new_customer
``message.outbound``     session, actor, message_id, case_id  (agent replies, not notes)
``remedy.<state>``       session, actor, remedy_id, case_id  (proposed, approved, delivered,
                         rejected, cancelled)
``email.bounced``        session, actor, email_id  (a delivery report named one of our e-mails)
``survey.answered``      session, actor, response_id, customer_id, case_id, score, kind, text,
                         language  (a customer answered a survey: ``kind`` csat/nps/ces,
                         ``text`` the comment or "", ``language`` the survey's, ``case_id``
                         the case it followed or None for a list survey)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Subscriber = Callable[..., None]
_subscribers: dict[str, list[Subscriber]] = {}
# Modules whose import registers subscribers (their ``actions`` usually).
SUBSCRIBER_MODULES: tuple[str, ...] = (
    "meaculpa.playbooks.subscribers",
    "meaculpa.remedies.subscribers",
    "meaculpa.commitments.subscribers",
    "meaculpa.followups.subscribers",
    "meaculpa.mail.subscribers",
    "meaculpa.insights.subscribers",
    "meaculpa.apologies.subscribers",
    "meaculpa.surveys.subscribers",
    "meaculpa.problems.subscribers",
)
_loaded = False


# Each event's subscribers in the order they run, with the list it was worked out from.
_ordered: dict[str, tuple[tuple[Subscriber, ...], list[Subscriber]]] = {}


def subscribe(event: str) -> Callable[[Subscriber], Subscriber]:
    def register(fn: Subscriber) -> Subscriber:
        handlers = _subscribers.setdefault(event, [])
        if fn not in handlers:
            handlers.append(fn)
        return fn

    return register


def _load() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for module in SUBSCRIBER_MODULES:
        importlib.import_module(module)
    _loaded = True


def _rank(fn: Subscriber) -> int:
    """Subscribers run in the order of ``SUBSCRIBER_MODULES``, whichever was imported first."""
    module = getattr(fn, "__module__", "")
    return (
        SUBSCRIBER_MODULES.index(module)
        if module in SUBSCRIBER_MODULES
        else len(SUBSCRIBER_MODULES)
    )


def subscribe_many(event: str) -> Callable[[Subscriber], Subscriber]:
    """Register a subscriber that takes several events at once: ``fn(session, events)``, with
    ``events`` a list of the events' keyword arguments (``session`` left out). A writer that
    stores many rows in one go (message ingestion) publishes them together with
    :func:`publish_many`, and the subscriber can answer them in one query instead of one each.
    :func:`publish` hands it a list of one."""

    def register(fn: Subscriber) -> Subscriber:
        fn._takes_many = True  # type: ignore[attr-defined]
        return subscribe(event)(fn)

    return register


def _in_order(event: str) -> list[Subscriber]:
    _load()
    current = tuple(_subscribers.get(event, ()))
    cached = _ordered.get(event)
    if cached is None or cached[0] != current:
        cached = _ordered[event] = (current, sorted(current, key=_rank))
    return cached[1]


def publish(event: str, **kwargs: Any) -> None:
    for fn in _in_order(event):
        if getattr(fn, "_takes_many", False):
            fn(kwargs["session"], [{k: v for k, v in kwargs.items() if k != "session"}])
        else:
            fn(**kwargs)


def publish_many(event: str, session: Any, events: list[dict[str, Any]]) -> None:
    """Publish several events of one kind that a single change made. Each subscriber gets them
    all before the next one runs: in one call if it was registered with
    :func:`subscribe_many`, otherwise one call an event, in their order."""
    if not events:
        return
    for fn in _in_order(event):
        if getattr(fn, "_takes_many", False):
            fn(session, events)
        else:
            for kwargs in events:
                fn(session=session, **kwargs)
