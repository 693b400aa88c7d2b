from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.accounts.queries import least_loaded_agent, organisation_defaults
from meaculpa.cases.actions import check_can_change, do_update_case
from meaculpa.cases.models import Case
from meaculpa.core.api import ATTEMPT
from meaculpa.core.audit import AUDIT_ROW_KEYS, Actor, AuditEvent, audit_row, record
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.enums import OPEN_STATUSES, CaseStatus, Direction
from meaculpa.core.events import publish, publish_many
from meaculpa.core.html import html_to_text, sanitise_html
from meaculpa.core.prepared import Prepared, sent_together
from meaculpa.customers.identity import display_name_from
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.jobs.queue import jobs_together
from meaculpa.messages.models import Message
from meaculpa.messages.schemas import InboundMessage, ReplyIn


@dataclass(frozen=True)
class Ref:
    """The id (and a few facts) of a row the ingestion touched."""

    id: int
    status: str = ""

    @property
    def reference(self) -> str:
        return f"MC-{self.id}"


@dataclass
class IngestOutcome:
    message: dict[str, Any]
    case: Ref
    customer: Ref
    created: bool
    customer_created: bool = False
    case_created: bool = False


MESSAGE_COLUMNS = (
    Message.id,
    Message.case_id,
    Message.customer_id,
    Message.direction,
    Message.channel,
    Message.author_id,
    Message.subject,
    Message.text,
    Message.html,
    Message.attachments,
    Message.external_id,
    Message.sent_at,
    Message.created_at,
)

# Ingestion is the hot path of every channel: its statements are built once and run on the
# driver's cursor (core.prepared), without the ORM; only their parameters change per message.
_customer = cast(Table, Customer.__table__)
_identity = cast(Table, CustomerIdentity.__table__)
_case = cast(Table, Case.__table__)
_message = cast(Table, Message.__table__)
_SEL_EXISTING = Prepared(
    select(Message.id, Message.case_id, Message.customer_id, Case.status)
    .join(Case, Case.id == Message.case_id)
    .where(Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id"))
)
_SEL_STORED = (
    select(
        Message.id,
        Message.case_id,
        Message.customer_id,
        Case.status,
        Message.channel,
        Message.external_id,
    )
    .join(Case, Case.id == Message.case_id)
    .where(
        Message.channel.in_(bindparam("channels", expanding=True)),
        Message.external_id.in_(bindparam("external_ids", expanding=True)),
    )
)
# Open statuses as plain comparisons: an IN list is expanded at every execution.
_CASE_IS_OPEN = or_(*(Case.status == s for s in OPEN_STATUSES))


def _latest_open_case(column: Any) -> Any:
    """``column`` of the newest open case of the identity's customer, as a scalar subquery."""
    return (
        select(column)
        .where(Case.customer_id == CustomerIdentity.customer_id, _CASE_IS_OPEN)
        .order_by(Case.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# The identities given, each with its customer's language and owner and the customer's newest
# open case: everything a returning customer's message needs, in one statement. Nearly every
# message names one identity; several take the expanding form.
_IDENTITY_COLUMNS = (
    CustomerIdentity.customer_id,
    CustomerIdentity.kind,
    CustomerIdentity.value,
    Customer.language,
    Customer.owner_id,
    _latest_open_case(Case.id),
    _latest_open_case(Case.status),
)
_SEL_IDENTITY = Prepared(
    select(*_IDENTITY_COLUMNS)
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(CustomerIdentity.value == bindparam("value"))
    .order_by(CustomerIdentity.customer_id)
)
_SEL_IDENTITIES = (
    select(*_IDENTITY_COLUMNS)
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(CustomerIdentity.value.in_(bindparam("values", expanding=True)))
    .order_by(CustomerIdentity.customer_id)
)
_SEL_THREAD_CASE = select(Case.id, Case.status).where(
    Case.id == bindparam("case_id"), Case.customer_id == bindparam("customer_id"), _CASE_IS_OPEN
)
_SEL_ACTIVE = select(User.is_active).where(User.id == bindparam("user_id"))


class _KeyedInsert:
    """The INSERT of rows whose new ids the group needs (children refer to them).

    On PostgreSQL the ids are taken from the table's sequence before any insert
    (:func:`_reserve_ids`) and inserted with the rows: then no insert needs an answer and the
    group's inserts go to the server together. On SQLite the INSERT returns them.
    """

    def __init__(self, table: Table, keys: tuple[str, ...]) -> None:
        self.returning = Prepared(insert(table).returning(table.c.id), keys=keys)
        self.with_id = Prepared(insert(table), keys=("id", *keys))

    def insert(self, conn: Any, rows: list[dict[str, Any]], keys: list[_Key]) -> None:
        if keys and keys[0].id is not None:  # reserved
            self.with_id.insert_rows(
                conn, [{**row, "id": key.id} for row, key in zip(rows, keys, strict=True)]
            )
            return
        ids = self.returning.insert_rows(conn, rows, returning=True)
        for key, new_id in zip(keys, ids, strict=True):
            key.id = new_id


_INS_CUSTOMER = _KeyedInsert(
    _customer,
    ("name", "language", "timezone", "owner_id", "failures_count", "created_at", "updated_at"),
)
_INS_IDENTITY = Prepared(insert(_identity), keys=("customer_id", "kind", "value", "created_at"))
_INS_CASE = _KeyedInsert(
    _case,
    (
        "customer_id",
        "owner_id",
        "subject",
        "channel",
        "language",
        "severity",
        "status",
        "opened_at",
        "last_message_at",
        "updated_at",
        "reopened_count",
        "message_count",
    ),
)
_INS_MESSAGE = _KeyedInsert(
    _message,
    (
        "case_id",
        "customer_id",
        "direction",
        "channel",
        "author_id",
        "subject",
        "text",
        "html",
        "attachments",
        "external_id",
        "sent_at",
        "created_at",
    ),
)
_INS_AUDIT = Prepared(insert(cast(Table, AuditEvent.__table__)), keys=AUDIT_ROW_KEYS)
_SET_OWNER = Prepared(
    update(_customer)
    .where(_customer.c.id == bindparam("b_id"))
    .values(owner_id=bindparam("b_owner"), updated_at=bindparam("b_now"))
)
_TOUCH_CASES = Prepared(
    update(_case)
    .where(_case.c.id == bindparam("b_id"))
    .values(
        message_count=_case.c.message_count + bindparam("b_added"),
        last_message_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        status=bindparam("b_status"),
    )
)


def _message_dict(session: Session, message_id: int) -> dict[str, Any]:
    row = session.execute(select(*MESSAGE_COLUMNS).where(Message.id == message_id)).one()
    return dict(row._mapping)


@dataclass(frozen=True)
class IngestItem:
    """One inbound message to take, with who delivers it. ``thread_case_id``: see
    :func:`do_ingest_message`."""

    actor: Actor
    data: InboundMessage
    thread_case_id: int | None = None


class _Key:
    """A row's id, known once the group's rows are inserted; rows refer to it before."""

    __slots__ = ("id",)

    def __init__(self, id: int | None = None) -> None:
        self.id = id


def _id(value: Any) -> Any:
    return value.id if isinstance(value, _Key) else value


class _CaseState:
    """An open case a message of the group joins: stored, or opened by the group."""

    __slots__ = ("added", "key", "row", "status")

    def __init__(self, key: _Key, status: str, row: dict[str, Any] | None = None) -> None:
        self.key = key
        self.status = status
        self.row = row  # the row to insert, for a case the group opens
        self.added = 0  # messages of the group that joined a stored case


class _CustomerState:
    __slots__ = ("case", "key", "language", "owner_id", "rank")

    def __init__(
        self,
        key: _Key,
        rank: tuple[int, int],
        language: str,
        owner_id: int | None,
        case: _CaseState | None,
    ) -> None:
        self.key = key
        self.rank = rank  # stored customers by id, then those the group creates, in order
        self.language = language
        self.owner_id = owner_id
        self.case = case  # the newest open case


@dataclass
class _Planned:
    """What one message of the group does, with ids filled in after the inserts."""

    item: IngestItem
    customer: _CustomerState
    case: _CaseState
    message: dict[str, Any]
    message_key: _Key
    customer_created: bool
    case_created: bool
    woken: bool
    audit: list[tuple[str, str, Any, dict[str, Any]]]  # verb, object type, object, after


def _stored_messages(
    session: Session, keys: set[tuple[str, str | None]]
) -> dict[tuple[str, str | None], tuple[Any, ...]]:
    """The messages already stored under these ``(channel, external_id)`` pairs."""
    if not keys:
        return {}
    if len(keys) == 1:
        ((channel, external_id),) = keys
        row = _SEL_EXISTING.first(
            session.connection(), {"channel": channel, "external_id": external_id}
        )
        return {(channel, external_id): row} if row is not None else {}
    # Two IN lists rather than pairs: both databases then search the (channel, external_id)
    # index; a pair list made SQLite scan the table.
    rows = session.connection().execute(  # Core, not the ORM: plain rows are all we need
        _SEL_STORED,
        {
            "channels": sorted({c for c, _ in keys}),
            "external_ids": sorted({e for _, e in keys if e is not None}),
        },
    )
    return {(r[4], r[5]): tuple(r[:4]) for r in rows if (r[4], r[5]) in keys}


def _identities_found(session: Session, values: list[str]) -> list[tuple[Any, ...]]:
    conn = session.connection()
    if len(values) == 1:
        return _SEL_IDENTITY.all(conn, {"value": values[0]})
    return [tuple(r) for r in conn.execute(_SEL_IDENTITIES, {"values": values})]


def do_ingest_message(
    session: Session, actor: Actor, data: InboundMessage, *, thread_case_id: int | None = None
) -> IngestOutcome:
    """Take an inbound message: find or create the customer, append to their open case or open one.

    Idempotent by ``(channel, external_id)``: the same message twice returns the first.
    ``thread_case_id`` names the case a channel threaded the message to (an e-mail reply): it
    is used when that case is open and belongs to the customer found, never otherwise.
    """
    return do_ingest_messages(session, [IngestItem(actor, data, thread_case_id)])[0]


def do_ingest_messages(session: Session, items: list[IngestItem]) -> list[IngestOutcome]:
    """:func:`do_ingest_message` for several messages in one go, with the outcomes in order.

    The result is what taking them one after another would give (a later message finds the
    customer, identity or case an earlier one created, and a repeated ``external_id`` returns
    the first), but each table gets one statement for the whole group instead of one a message.

    Nothing is locked while the identities are read: two transactions creating the same new
    customer at once both insert its identity, and the later one fails on the unique index. Its
    retry (``session.info[ATTEMPT]`` above 0, see :func:`meaculpa.core.api.write`) locks the
    identities first, so it waits for the other to commit and then finds its customer.
    """
    conn = session.connection()
    now = utcnow()
    values = sorted({x.value for i in items for x in i.data.customer.identities})
    if session.info.get(ATTEMPT, 0) > 0:
        _lock_identities(conn, values)
    stored = _stored_messages(
        session,
        {(i.data.channel.value, i.data.external_id) for i in items if i.data.external_id},
    )
    customers: dict[int, _CustomerState] = {}
    owner_of: dict[tuple[str, str], _CustomerState] = {}
    for customer_id, kind, value, language, owner_id, latest_id, latest_status in _identities_found(
        session, values
    ):
        known = customers.get(customer_id)
        if known is None:
            newest = _CaseState(_Key(latest_id), latest_status) if latest_id is not None else None
            known = customers[customer_id] = _CustomerState(
                _Key(customer_id), (0, customer_id), language, owner_id, newest
            )
        owner_of[(kind, value)] = known

    outcomes: list[IngestOutcome | None] = [None] * len(items)
    first_of: dict[tuple[str, str | None], int] = {}  # external id -> first message with it
    repeats: list[tuple[int, int]] = []
    planned: dict[int, _Planned] = {}
    new_customers: list[tuple[dict[str, Any], _CustomerState]] = []
    new_identities: list[tuple[dict[str, Any], _CustomerState]] = []
    cases_by_id: dict[int, _CaseState] = {}
    for position, item in enumerate(items):
        data = item.data
        channel = data.channel.value
        if data.external_id:
            ext = (channel, data.external_id)
            row = stored.get(ext)
            if row is not None:
                outcomes[position] = IngestOutcome(
                    _message_dict(session, row[0]), Ref(row[1], row[3]), Ref(row[2]), False
                )
                continue
            if ext in first_of:
                repeats.append((position, first_of[ext]))
                continue
            first_of[ext] = position
        audit: list[tuple[str, str, Any, dict[str, Any]]] = []
        pairs = list(dict.fromkeys((i.kind.value, i.value) for i in data.customer.identities))
        matches = sorted(
            {id(s): s for p in pairs if (s := owner_of.get(p))}.values(), key=lambda s: s.rank
        )
        customer_created = False
        case: _CaseState | None = None
        if matches:
            # Several customers can match when identities were split before; the oldest wins.
            customer = matches[0]
            new_pairs = [p for p in pairs if p not in owner_of]
            for kind, value in new_pairs:
                new_identities.append(({"kind": kind, "value": value, "created_at": now}, customer))
                owner_of[(kind, value)] = customer
            if new_pairs:
                audit.append(
                    (
                        "customer.identity.add",
                        "customer",
                        customer.key,
                        {"identities": [f"{k}:{v}" for k, v in new_pairs]},
                    )
                )
            if item.thread_case_id is not None and customer.key.id is not None:
                threaded = conn.execute(
                    _SEL_THREAD_CASE,
                    {"case_id": item.thread_case_id, "customer_id": customer.key.id},
                ).first()
                if threaded is not None:
                    case = cases_by_id.get(threaded[0])
                    if case is None:
                        newest = customer.case
                        if newest is not None and newest.key.id == threaded[0]:
                            case = newest
                        else:
                            case = _CaseState(_Key(threaded[0]), threaded[1])
            if case is None:
                case = customer.case
        else:
            default_language, default_tz = organisation_defaults(session)
            language = data.customer.language or data.language
            customer_language = language.value if language else default_language
            # A new customer always opens a case: its owner becomes the customer's owner too.
            owner_id = least_loaded_agent(session)
            name = data.customer.name or display_name_from(*pairs[0])
            customer = _CustomerState(
                _Key(), (1, len(new_customers)), customer_language, owner_id, None
            )
            new_customers.append(
                (
                    {
                        "name": name,
                        "language": customer_language,
                        "timezone": data.customer.timezone or default_tz,
                        "owner_id": owner_id,
                        "failures_count": 0,
                        "created_at": now,
                        "updated_at": now,
                    },
                    customer,
                )
            )
            for kind, value in pairs:
                new_identities.append(({"kind": kind, "value": value, "created_at": now}, customer))
                owner_of[(kind, value)] = customer
            customer_created = True
            audit.append(
                (
                    "customer.create",
                    "customer",
                    customer.key,
                    {
                        "name": name,
                        "language": customer_language,
                        "identities": [f"{k}:{v}" for k, v in pairs],
                    },
                )
            )

        html = sanitise_html(data.html) if data.html else None
        text = data.text or (html_to_text(html) if html else "")
        case_created = case is None
        woken = False
        if case is None:
            owner_id = customer.owner_id
            if not customer_created:  # a new customer's owner was chosen with it
                if (
                    owner_id is not None
                    and not conn.execute(_SEL_ACTIVE, {"user_id": owner_id}).scalar()
                ):
                    owner_id = None
                if owner_id is None:
                    owner_id = least_loaded_agent(session)
                    if owner_id is not None:
                        _SET_OWNER.run(
                            conn, {"b_id": customer.key.id, "b_owner": owner_id, "b_now": now}
                        )
                        customer.owner_id = owner_id
            case_language = data.language.value if data.language else customer.language
            subject = (data.subject or " ".join(text.split())[:80])[:300]
            case_row = {
                "customer_id": customer.key,
                "owner_id": owner_id,
                "subject": subject,
                "channel": channel,
                "language": case_language,
                "severity": "medium",
                "status": CaseStatus.new.value,
                "opened_at": now,
                "last_message_at": now,
                "updated_at": now,
                "reopened_count": 0,
                "message_count": 1,
            }
            case = customer.case = _CaseState(_Key(), CaseStatus.new.value, case_row)
            audit.append(
                (
                    "case.create",
                    "case",
                    case.key,
                    {
                        "subject": subject,
                        "channel": channel,
                        "language": case_language,
                        "severity": "medium",
                        "status": case.status,
                        "owner_id": owner_id,
                        "customer_id": customer.key,
                    },
                )
            )
        else:
            if case.status == CaseStatus.waiting_on_customer.value:
                woken = True
                case.status = CaseStatus.in_progress.value
                audit.append(("case.update", "case", case.key, {"status": case.status}))
            if case.row is not None:
                case.row["message_count"] += 1
            else:
                case.added += 1
                cases_by_id[cast(int, case.key.id)] = case

        attachments = [a.model_dump(mode="json") for a in data.attachments]
        message = {
            "case_id": case.key,
            "customer_id": customer.key,
            "direction": Direction.inbound.value,
            "channel": channel,
            "author_id": None,
            "subject": data.subject,
            "text": text,
            "html": html,
            "attachments": attachments,
            "external_id": data.external_id,
            "sent_at": data.sent_at or now,
            "created_at": now,
        }
        message_key = _Key()
        audit.append(
            (
                "message.create",
                "message",
                message_key,
                {
                    "case_id": case.key,
                    "customer_id": customer.key,
                    "direction": "inbound",
                    "channel": channel,
                    "external_id": data.external_id,
                },
            )
        )
        planned[position] = _Planned(
            item,
            customer,
            case,
            message,
            message_key,
            customer_created,
            case_created,
            woken,
            audit,
        )

    # The rows, each table in one statement, parents before children.
    new_cases = [p.case for p in planned.values() if p.case_created]
    plans = list(planned.values())
    _reserve_ids(
        conn,
        [
            [created.key for _, created in new_customers],
            [c.key for c in new_cases],
            [p.message_key for p in plans],
        ],
    )
    with sent_together(conn):
        _INS_CUSTOMER.insert(
            conn, [row for row, _ in new_customers], [created.key for _, created in new_customers]
        )
        _INS_IDENTITY.insert_rows(
            conn, [{**row, "customer_id": owner.key.id} for row, owner in new_identities]
        )
        _INS_CASE.insert(
            conn,
            [_resolved(c.row) for c in new_cases if c.row is not None],
            [c.key for c in new_cases],
        )
        _TOUCH_CASES.run_many(
            conn,
            [
                {"b_id": c.key.id, "b_added": c.added, "b_now": now, "b_status": c.status}
                for c in cases_by_id.values()
            ],
        )
        messages = [_resolved(p.message) for p in plans]
        _INS_MESSAGE.insert(conn, messages, [p.message_key for p in plans])
        for p, inserted in zip(plans, messages, strict=True):
            inserted["id"] = p.message_key.id
            inserted["sent_at"] = as_utc(inserted["sent_at"])
        _INS_AUDIT.insert_rows(
            conn,
            [
                audit_row(p.item.actor, verb, kind, _id(obj), at=now, after=_resolved(after))
                for p in plans
                for verb, kind, obj, after in p.audit
            ],
        )

    for (position, p), inserted in zip(planned.items(), messages, strict=True):
        outcomes[position] = IngestOutcome(
            inserted,
            Ref(cast(int, p.case.key.id), p.case.status),
            Ref(cast(int, p.customer.key.id)),
            True,
            p.customer_created,
            p.case_created,
        )
    for position, first in repeats:
        done = outcomes[first]
        assert done is not None
        outcomes[position] = IngestOutcome(done.message, done.case, done.customer, False)

    publish_many(
        "case.opened",
        session,
        [
            {"actor": p.item.actor, "case_id": p.case.key.id, "new_customer": p.customer_created}
            for p in plans
            if p.case_created
        ],
    )
    publish_many(
        "case.status_changed",
        session,
        [
            {
                "actor": p.item.actor,
                "case_id": p.case.key.id,
                "old": CaseStatus.waiting_on_customer.value,
                "new": CaseStatus.in_progress.value,
            }
            for p in plans
            if p.woken
        ],
    )
    with jobs_together(session):  # the analysis and grouping jobs, in one statement
        publish_many(
            "message.inbound",
            session,
            [
                {
                    "actor": p.item.actor,
                    "message_id": p.message_key.id,
                    "case_id": p.case.key.id,
                    "customer_id": p.customer.key.id,
                    "new_customer": p.customer_created,
                }
                for p in plans
            ],
        )
    return [o for o in outcomes if o is not None]


def _resolved(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _id(v) for k, v in row.items()}


def _lock_identities(conn: Any, values: list[str]) -> None:
    """PostgreSQL: take a transaction lock on each identity value, in one order for everyone
    (so two transactions never wait for each other crosswise). Elsewhere nothing: SQLite has one
    writer at a time."""
    if conn.dialect.name != "postgresql" or not values:
        return
    conn.exec_driver_sql(_LOCK_IDENTITIES, (_IDENTITY_LOCKS, values)).all()


_IDENTITY_LOCKS = 0x6D635F69  # "mc_i": the first key of the identity locks
_LOCK_IDENTITIES = (
    "SELECT pg_advisory_xact_lock(%s::int4, h) FROM"
    " (SELECT DISTINCT hashtext(v) AS h FROM unnest(%s::text[]) AS v ORDER BY h) AS s"
)


def _reserve_ids(conn: Any, keys: list[list[_Key]]) -> None:
    """PostgreSQL: fill ``keys`` (new customers, cases, messages) from the tables' sequences,
    in one statement (see :class:`_KeyedInsert`). Elsewhere nothing: the inserts return them."""
    if conn.dialect.name != "postgresql" or not any(keys):
        return
    row = conn.exec_driver_sql(_RESERVE_IDS, tuple(len(k) for k in keys)).one()
    for wanted, ids in zip(keys, row, strict=True):
        for key, new_id in zip(wanted, sorted(ids), strict=True):
            key.id = new_id


# The table names are the models' own, not input.
_RESERVE_IDS = "SELECT " + ", ".join(  # noqa: S608
    f"array(SELECT nextval(pg_get_serial_sequence('{t.name}', 'id'))"  # noqa: S608
    " FROM generate_series(1, %s))"
    for t in (_customer, _case, _message)
)


def do_add_reply(session: Session, actor: Actor, case: Case, data: ReplyIn) -> Message:
    """An agent writes to the customer (outbound) or to colleagues (internal note)."""
    check_can_change(actor, case)
    now = utcnow()
    message = Message(
        case_id=case.id,
        customer_id=case.customer_id,
        direction=data.direction.value,
        channel=case.channel,
        author_id=actor.id,
        subject=data.subject,
        text=data.text,
        sent_at=now,
    )
    session.add(message)
    case.message_count += 1
    case.last_message_at = now
    session.flush()
    record(
        session,
        actor,
        "message.create",
        "message",
        message.id,
        after={"case_id": case.id, "direction": message.direction},
    )
    if data.direction is Direction.outbound:
        publish(
            "message.outbound", session=session, actor=actor, message_id=message.id, case_id=case.id
        )
    if data.status is not None:
        do_update_case(session, actor, case, status=data.status.value)
    elif data.direction is Direction.outbound and case.status == CaseStatus.new.value:
        do_update_case(session, actor, case, status=CaseStatus.acknowledged.value)
    return message
