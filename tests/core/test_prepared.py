"""Prepared statements: the same rows and errors as SQLAlchemy, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from meaculpa.core.audit import AuditEvent
from meaculpa.core.prepared import Prepared, sent_together
from meaculpa.customers.models import Customer, CustomerIdentity

CUSTOMER = Customer.__table__
AUDIT = AuditEvent.__table__
assert isinstance(CUSTOMER, Table) and isinstance(AUDIT, Table)
AT = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)

INSERT_CUSTOMER = Prepared(
    insert(CUSTOMER).returning(CUSTOMER.c.id),
    keys=("name", "language", "created_at", "updated_at"),
)
INSERT_AUDIT = Prepared(
    insert(AUDIT),
    keys=("at", "actor_type", "actor_id", "actor_label", "verb", "object_type", "object_id",
          "before", "after"),
)
CUSTOMERS_NAMED = Prepared(
    select(Customer.id, Customer.name)
    .where(Customer.name == bindparam("name"))
    .order_by(Customer.id)
    .limit(5)
)


def add_customer(conn: Any, name: str, at: datetime = AT) -> int:
    return int(
        INSERT_CUSTOMER.scalar(
            conn, {"name": name, "language": "en", "created_at": at, "updated_at": at}
        )
    )


def test_rows_read_back_as_the_orm_wrote_them(db):
    with db.transaction() as s:
        cid = add_customer(s.connection(), "Ana")
        INSERT_AUDIT.run_many(
            s.connection(),
            [
                {"at": AT, "actor_type": "system", "actor_id": None, "actor_label": "t",
                 "verb": "v.one", "object_type": "customer", "object_id": str(cid),
                 "before": None, "after": {"name": "Ana", "n": [1, 2]}},
                {"at": AT + timedelta(seconds=1), "actor_type": "system", "actor_id": None,
                 "actor_label": "t", "verb": "v.two", "object_type": "customer",
                 "object_id": str(cid), "before": {"a": 1}, "after": None},
            ],
        )
    with db.reading() as s:
        customer = s.get(Customer, cid)
        assert customer is not None
        assert customer.created_at == AT and customer.created_at.tzinfo is not None
        # Constant column defaults are filled in as SQLAlchemy fills them.
        assert customer.timezone == "Europe/Madrid"
        assert customer.failures_count == 0 and customer.opt_out is False
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [e.verb for e in events] == ["v.one", "v.two"]
    assert events[0].after == {"name": "Ana", "n": [1, 2]} and events[0].at == AT
    assert events[1].before == {"a": 1}


def test_first_all_scalar_and_fixed_limit(db):
    with db.transaction() as s:
        conn = s.connection()
        ids = [add_customer(conn, "Twin") for _ in range(7)]
        add_customer(conn, "Other")
        assert CUSTOMERS_NAMED.all(conn, {"name": "Twin"}) == [(i, "Twin") for i in ids[:5]]
        assert CUSTOMERS_NAMED.first(conn, {"name": "Twin"}) == (ids[0], "Twin")
        assert CUSTOMERS_NAMED.scalar(conn, {"name": "Nobody"}) is None
        assert CUSTOMERS_NAMED.first(conn, {"name": "Nobody"}) is None


def test_one_parameter_in_two_places(db):
    touch = Prepared(
        update(CUSTOMER)
        .where(CUSTOMER.c.id == bindparam("b_id"))
        .values(created_at=bindparam("b_at"), updated_at=bindparam("b_at"))
    )
    later = AT + timedelta(days=3)
    with db.transaction() as s:
        cid = add_customer(s.connection(), "Bea")
        touch.run(s.connection(), {"b_id": cid, "b_at": later})
    with db.reading() as s:
        row = s.execute(select(Customer.created_at, Customer.updated_at).where(Customer.id == cid))
        assert tuple(row.one()) == (later, later)


def test_driver_errors_are_sqlalchemy_errors_and_roll_back(db):
    identity = Prepared(insert(CustomerIdentity.__table__),
                        keys=("customer_id", "kind", "value", "created_at"))
    with db.transaction() as s:
        cid = add_customer(s.connection(), "Carla")
        identity.run_many(s.connection(), [{"customer_id": cid, "kind": "email",
                                            "value": "c@example.com", "created_at": AT}])
    with pytest.raises(IntegrityError), db.transaction() as s:
        add_customer(s.connection(), "Never stored")
        identity.run(s.connection(), {"customer_id": cid, "kind": "email",
                                      "value": "c@example.com", "created_at": AT})
    with db.reading() as s:
        names = list(s.scalars(select(Customer.name)))
    assert names == ["Carla"]


def test_missing_values_and_unsupported_statements_are_refused(db):
    with db.transaction() as s:
        conn = s.connection()
        with pytest.raises(InvalidRequestError, match="name"):
            CUSTOMERS_NAMED.first(conn, {})
        # created_at's default is computed in Python (utcnow): the caller must pass it.
        no_time = Prepared(insert(CUSTOMER), keys=("name",))
        with pytest.raises(ValueError, match="created_at"):
            no_time.run(conn, {"name": "x"})
        expanding = Prepared(select(Customer.id).where(Customer.name.in_(["a", "b"])))
        with pytest.raises(ValueError, match="IN"):
            expanding.all(conn, {})
        converted = Prepared(select(Customer.created_at))
        with pytest.raises(ValueError, match="converted"):
            converted.all(conn, {})


def test_statement_listeners_still_see_every_statement(db):
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        with db.transaction() as s:
            cid = add_customer(s.connection(), "Dora")
            assert CUSTOMERS_NAMED.first(s.connection(), {"name": "Dora"}) == (cid, "Dora")
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert any(st.lstrip().upper().startswith("INSERT INTO CUSTOMER") for st in seen)
    assert any("FROM customer" in st for st in seen)


IDENTITY = Prepared(insert(CustomerIdentity.__table__),
                    keys=("customer_id", "kind", "value", "created_at"))


def test_statements_sent_together_are_stored_together(db):
    with db.transaction() as s:
        cid = add_customer(s.connection(), "Elsa")
        with sent_together(s.connection()):
            IDENTITY.insert_rows(s.connection(), [
                {"customer_id": cid, "kind": "email", "value": f"e{n}@example.com",
                 "created_at": AT} for n in range(3)])
            IDENTITY.run(s.connection(), {"customer_id": cid, "kind": "phone",
                                          "value": "+34600000001", "created_at": AT})
        # Read back in the same transaction, after the block.
        assert len(s.execute(select(CustomerIdentity.id)).all()) == 4
    with db.reading() as s:
        assert sorted(s.scalars(select(CustomerIdentity.value))) == [
            "+34600000001", "e0@example.com", "e1@example.com", "e2@example.com"]


def test_an_error_sent_together_is_the_first_one_and_rolls_back(db, caplog):
    with db.transaction() as s:
        cid = add_customer(s.connection(), "Fina")
        IDENTITY.run(s.connection(), {"customer_id": cid, "kind": "email",
                                      "value": "f@example.com", "created_at": AT})
    row = {"customer_id": cid, "kind": "email", "created_at": AT}
    taken = r"f@example\.com|uq_customer_identity_kind_value"
    with pytest.raises(IntegrityError, match=taken), db.transaction() as s, sent_together(
        s.connection()
    ):
        IDENTITY.run(s.connection(), {**row, "value": "g@example.com"})
        IDENTITY.run(s.connection(), {**row, "value": "f@example.com"})  # taken
        time.sleep(0.2)  # the server's answer is in: the next statement sent meets it
        IDENTITY.run(s.connection(), {**row, "value": "h@example.com"})  # never runs
        IDENTITY.run(s.connection(), {**row, "value": "f@example.com"})
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    # Nothing of the failed transaction was stored, and the pool's connection still works.
    with db.reading() as s:
        assert list(s.scalars(select(CustomerIdentity.value))) == ["f@example.com"]
    with db.transaction() as s:
        IDENTITY.run(s.connection(), {**row, "value": "i@example.com"})
    with db.reading() as s:
        assert sorted(s.scalars(select(CustomerIdentity.value))) == [
            "f@example.com", "i@example.com"]
