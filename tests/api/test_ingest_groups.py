"""Messages taken together (one statement a table for the group) end exactly as taken one by
one: the same customers, identities, cases, counts, statuses, audit events and jobs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, insert, select

from meaculpa.cases.models import Case
from meaculpa.core.api import GroupWriter
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.core.prepared import Prepared
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.jobs.models import Job
from meaculpa.messages import actions
from meaculpa.messages.api import _Ingest
from meaculpa.messages.models import Message
from meaculpa.messages.schemas import InboundMessage
from tests.core.test_group_writer import as_one_group

DIGITS = {"seq": "57", "grp": "68", "w": "79"}  # a tag inside phone numbers


def tagged(value: str, tag: str) -> str:
    return value.replace("PTAG", DIGITS[tag]).replace("TAG", tag)


def untagged(value: str, tag: str) -> str:
    return value.replace(tag.lower(), "TAG").replace(DIGITS[tag], "PTAG")


def msg(tag: str, text: str, *identities: tuple[str, str], ext: str | None = None) -> Any:
    return InboundMessage.model_validate(
        {
            "channel": "email",
            "external_id": ext and f"{ext}-{tag}",
            "text": text,
            "customer": {
                "language": "es",
                "identities": [{"kind": k, "value": tagged(v, tag)} for k, v in identities],
            },
        }
    )


def stored_state(db: Any, tag: str) -> dict[str, int]:
    """Three customers already known: one waiting for the customer's answer, one whose only
    case is closed, one in progress."""
    system = Actor.system()
    ids: dict[str, int] = {}
    with db.transaction() as s:
        for name, identity, status in (
            ("s1", ("email", "s1-TAG@example.com"), "waiting_on_customer"),
            ("s2", ("phone", "+3460000PTAG"), "closed"),
            ("s3", ("email", "s3-TAG@example.com"), "in_progress"),
        ):
            outcome = actions.do_ingest_message(s, system, msg(tag, f"hola {name}", identity))
            s.get(Case, outcome.case.id).status = status
            ids[name] = outcome.customer.id
    return ids


def scenario(tag: str) -> list[InboundMessage]:
    n1 = ("email", "n1-TAG@example.com")
    return [
        msg(tag, "primero", n1, ext="e1"),  # new customer
        msg(tag, "segundo", n1),  # joins the case the first opened
        msg(tag, "primero otra vez", n1, ext="e1"),  # a retry of the first
        msg(tag, "ya estoy", ("email", "s1-TAG@example.com")),  # wakes the waiting case
        msg(tag, "y otra cosa", ("email", "s1-TAG@example.com")),
        # A new customer and a stored one: the stored (older) one wins; its case is closed.
        msg(tag, "soy yo", n1, ("phone", "+3460000PTAG")),
        msg(tag, "nuevo usuario", ("email", "s3-TAG@example.com"), ("twitter", "@new_TAG")),
        msg(tag, "dos datos", ("email", "n2-TAG@example.com"), ("phone", "+3461111PTAG")),
        msg(tag, "por twitter", ("twitter", "@new_TAG")),
    ]


def summary(db: Any, outcomes: list[actions.IngestOutcome], tag: str) -> dict[str, Any]:
    """What the outcomes and the stored rows say, with ids replaced by the position of the
    first message that named them and the run's tag taken out."""
    first: dict[tuple[str, int], int] = {}

    def label(kind: str, value: int) -> int:
        return first.setdefault((kind, value), len(first))

    rows = []
    for o in outcomes:
        rows.append(
            (
                o.created,
                o.customer_created,
                o.case_created,
                o.case.status,
                label("customer", o.customer.id),
                label("case", o.case.id),
                label("message", o.message["id"]),
                o.message["text"],
            )
        )
    case_ids = sorted({o.case.id for o in outcomes})
    customer_ids = sorted({o.customer.id for o in outcomes})
    message_ids = {o.message["id"] for o in outcomes}
    with db.reading() as s:
        cases = {
            label("case", c.id): (c.status, c.message_count, c.owner_id is not None)
            for c in s.scalars(select(Case).where(Case.id.in_(case_ids)))
        }
        identities = sorted(
            (label("customer", i.customer_id), i.kind, untagged(i.value, tag))
            for i in s.scalars(
                select(CustomerIdentity).where(CustomerIdentity.customer_id.in_(customer_ids))
            )
        )
        stored = sorted(
            (label("message", m.id), label("case", m.case_id), label("customer", m.customer_id))
            for m in s.scalars(select(Message).where(Message.id.in_(message_ids)))
        )
        jobs = Counter(
            j.kind
            for j in s.scalars(select(Job))
            if (j.payload or {}).get("message_id") in message_ids
        )
        verbs = Counter(
            e.verb
            for e in s.scalars(select(AuditEvent))
            if (e.object_type, e.object_id)
            in {("message", str(i)) for i in message_ids}
            | {("case", str(i)) for i in case_ids}
            | {("customer", str(i)) for i in customer_ids}
        )
        owners = {
            c.id: c.owner_id
            for c in s.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
        }
    assert all(owner is not None for owner in owners.values())
    return {
        "outcomes": rows,
        "cases": cases,
        "identities": identities,
        "messages": stored,
        "jobs": jobs,
        "verbs": verbs,
    }


def test_a_group_ends_as_messages_taken_one_by_one(db, agent, other_agent):
    system = Actor.system()
    stored_state(db, "seq")
    one_by_one = []
    for m in scenario("seq"):
        with db.transaction() as s:
            one_by_one.append(actions.do_ingest_message(s, system, m))
    stored_state(db, "grp")
    with db.transaction() as s:
        grouped = actions.do_ingest_messages(
            s, [actions.IngestItem(system, m) for m in scenario("grp")]
        )
    expected = summary(db, one_by_one, "seq")
    got = summary(db, grouped, "grp")
    assert got["identities"] == expected["identities"]
    assert got == expected
    # And what that is, spelled out for the first messages.
    assert [r[:4] for r in got["outcomes"][:5]] == [
        (True, True, True, "new"),
        (True, False, False, "new"),
        (False, False, False, "new"),
        (True, False, False, "in_progress"),
        (True, False, False, "in_progress"),
    ]
    assert got["outcomes"][2][4:7] == got["outcomes"][0][4:7]  # the retry names the first
    assert got["cases"][got["outcomes"][0][5]][1] == 2  # two messages in the new case
    # The waiting case: woken by the first of its two messages, counted three.
    assert got["cases"][got["outcomes"][3][5]] == ("in_progress", 3, True)
    assert got["jobs"] == {"insights.analyze_message": 8, "problems.assign": 8}


def test_group_through_the_writer_answers_each_request(db, agent):
    """Requests queued together in the GroupWriter go through run_group in one call, and each
    gets its own answer; the same Idempotency-Key twice in one group is answered once stored."""
    system = Actor.system()
    writer = GroupWriter(db)
    calls: list[int] = []
    real = _Ingest.run_group.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, session: Any, works: list[Any]) -> Any:
        calls.append(len(works))
        return real(cls, session, works)

    works = [
        _Ingest(system, msg("w", f"texto {i}", ("email", f"w{i}-TAG@example.com")), None, "")
        for i in range(4)
    ]
    works += [
        _Ingest(system, msg("w", "con clave", ("email", "k-TAG@example.com")), "key-1", "h"),
        _Ingest(system, msg("w", "con clave", ("email", "k-TAG@example.com")), "key-1", "h"),
    ]
    mp = pytest.MonkeyPatch()
    mp.setattr(_Ingest, "run_group", classmethod(counting))
    try:
        answers = asyncio.run(as_one_group(writer, works))
    finally:
        mp.undo()
    assert calls[0] == 6  # one call for the whole group, which then fell back (same key twice)
    assert [a[0] for a in answers] == [201] * 6
    assert answers[4] == answers[5]
    assert len({a[1]["customer_id"] for a in answers}) == 5
    with db.reading() as s:
        assert s.scalar(select(Message.id).where(Message.text == "con clave")) is not None
        assert len(list(s.scalars(select(Message).where(Message.text == "con clave")))) == 1


def test_insert_rows_returns_keys_in_row_order(db):

    table = cast(Table, Customer.__table__)
    statement = Prepared(
        insert(table).returning(table.c.id),
        keys=("name", "language", "timezone", "failures_count", "created_at", "updated_at"),
    )
    now = utcnow()
    rows = [
        {
            "name": f"cliente {i}",
            "language": "es",
            "timezone": "Europe/Madrid",
            "failures_count": i,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(700)  # more than one statement's worth on SQLite
    ]
    with db.transaction() as s:
        ids = statement.insert_rows(s.connection(), rows, returning=True)
    assert len(ids) == 700 and ids == sorted(ids)
    with db.reading() as s:
        got = dict(s.execute(select(Customer.id, Customer.name)).all())
    assert [got[i] for i in ids] == [r["name"] for r in rows]

    # Observed connections (a statement counter, echo) take SQLAlchemy's own path: same result.
    seen: list[str] = []
    engine = db.engine

    def count(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with db.transaction() as s:
            more = statement.insert_rows(s.connection(), rows[:3], returning=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(more) == 3 and more == sorted(more) and min(more) > max(ids)
    assert any(sql.startswith("INSERT INTO customer") for sql in seen)
    with db.reading() as s:
        assert [s.get(Customer, i).failures_count for i in more] == [0, 1, 2]


def test_a_batch_that_lost_a_race_is_taken_again_as_a_retry(client, db, agent, monkeypatch):
    """The batch endpoint stores a batch as one group; when a concurrent writer wins a race
    (the unique index on identities says so), the batch runs again whole, as a retry (which
    locks its identities first on PostgreSQL)."""
    from sqlalchemy.exc import IntegrityError

    from meaculpa.core.api import ATTEMPT
    from meaculpa.messages import api

    real = actions.do_ingest_messages
    calls: list[tuple[int, int]] = []

    def racing(session: Any, items: list[Any]) -> Any:
        calls.append((len(items), session.info[ATTEMPT]))
        if len(calls) == 1:
            real(session, items)  # rows written, then the race is lost: all rolled back
            raise IntegrityError("INSERT INTO customer_identity", {}, Exception("duplicate"))
        return real(session, items)

    monkeypatch.setattr(api.actions, "do_ingest_messages", racing)
    batch = {
        "messages": [
            {
                "channel": "web",
                "external_id": f"race-{i}",
                "text": f"mensaje {i}",
                "customer": {"identities": [{"kind": "email", "value": f"r{i % 2}@example.com"}]},
            }
            for i in range(3)
        ]
    }
    r = client.post("/api/v1/messages/batch", json=batch, headers=agent.headers)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3
    assert calls == [(3, 0), (3, 1)]
    with db.reading() as s:
        assert len(list(s.scalars(select(Message).where(Message.channel == "web")))) == 3
        assert len(list(s.scalars(select(Customer)))) == 2


def test_a_retry_waits_for_the_writer_of_the_same_new_customer(db):
    """PostgreSQL: two transactions take a message from the same new customer at once. A
    retry locks the identities first, so it waits for the other to commit and joins the
    customer it created, instead of failing on the unique index again."""
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there is no race to lose")
    import threading

    from meaculpa.core.api import ATTEMPT

    system = Actor.system()
    first_done = threading.Event()
    second: dict[str, Any] = {}

    def other() -> None:
        try:
            with db.transaction() as s:
                s.info[ATTEMPT] = 1
                second["outcome"] = actions.do_ingest_message(
                    s, system, msg("w", "segundo", ("email", "n-TAG@example.com"))
                )
                second["waited"] = first_done.is_set()
        except Exception as exc:  # reported below
            second["error"] = exc

    with db.transaction() as s:
        s.info[ATTEMPT] = 1
        first = actions.do_ingest_message(
            s, system, msg("w", "primero", ("email", "n-TAG@example.com"))
        )
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.5)  # it is waiting for this transaction's lock
        assert thread.is_alive()
        first_done.set()
    thread.join(10)
    assert "error" not in second, second.get("error")
    assert second["waited"] is True
    assert second["outcome"].customer.id == first.customer.id
    assert second["outcome"].case.id == first.case.id
    with db.reading() as s:
        assert len(list(s.scalars(select(Customer)))) == 1
