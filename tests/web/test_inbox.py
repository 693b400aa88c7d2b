"""The inbox: open cases with owner, customer, age, channel and severity; filters; paging."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from meaculpa.cases.actions import do_open_case, do_update_case
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from tests.web.helpers import seed_case


@contextmanager
def counting(db):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def many_cases(db, owner_id, n, *, channel="web"):
    with db.transaction() as s:
        customer = do_create_customer(s, Actor.system(), CustomerCreate(name="Bulk Customer"))
        for i in range(n):
            do_open_case(s, Actor.system(), customer, channel=channel, subject=f"Bulk {i:03d}",
                         owner_id=owner_id)


def test_inbox_lists_open_cases_with_their_facts(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id, severity="high")
    page = signed_in.get("/").text
    assert f"MC-{ids['case']}" in page and "Cobro duplicado" in page
    assert "Lucía Fernández" in page and f"/customers/{ids['customer']}" in page
    assert "Alberto Agente" in page                      # owner
    assert "Correo electrónico" in page                  # channel, translated
    assert "Alta" in page                                # severity, translated
    assert "Nuevo" in page                               # status
    assert "1 minuto" in page                            # age
    assert "1 mensaje" in page
    english = signed_in.get("/?lang=en").text
    assert "E-mail" in english and "High" in english and "1 minute" in english


def test_closed_cases_leave_the_inbox(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    with db.transaction() as s:
        do_update_case(s, Actor.system(), s.get(Case, ids["case"]), status="resolved")
    assert "Cobro duplicado" not in signed_in.get("/").text
    assert "No hay casos abiertos aquí" in signed_in.get("/").text


def test_mine_all_channel_and_severity_filters(signed_in, db, agent, other_agent):
    seed_case(db, owner_id=agent.id, subject="Mine by mail", channel="email", severity="low")
    seed_case(db, owner_id=other_agent.id, name="John Smith", email="john@example.com",
              subject="Olivia's tweet", channel="twitter", severity="critical")
    seed_case(db, owner_id=None, name="Ana", email="ana@example.es",
              subject="Nobody's chat", channel="chat", severity="high")

    mine = signed_in.get("/").text  # agents start with their own and unassigned cases
    assert "Mine by mail" in mine and "Nobody&#39;s chat" in mine
    assert "Olivia&#39;s tweet" not in mine
    everyone = signed_in.get("/?scope=all").text
    assert "Olivia&#39;s tweet" in everyone
    twitter = signed_in.get("/?scope=all&channel=twitter").text
    assert "Olivia&#39;s tweet" in twitter and "Mine by mail" not in twitter
    high = signed_in.get("/?scope=all&severity=high").text
    assert "Nobody&#39;s chat" in high and "Mine by mail" not in high
    # Unknown filter values are ignored rather than failing.
    assert signed_in.get("/?scope=x&channel=fax&severity=huge&sort=up").status_code == 200


def test_sort_and_paging(signed_in, db, agent):
    many_cases(db, agent.id, 55)
    first = signed_in.get("/").text
    assert "Bulk 000" in first and "Bulk 049" in first and "Bulk 050" not in first
    assert "Página 1" in first and "page=2" in first
    second = signed_in.get("/?page=2").text
    assert "Bulk 050" in second and "Bulk 054" in second and "Bulk 000" not in second
    assert "Página 2" in second and "page=1" in second
    newest = signed_in.get("/?sort=newest").text
    assert newest.index("Bulk 054") < newest.index("Bulk 053")
    assert signed_in.get("/?page=0").status_code == 422


def test_htmx_gets_only_the_results(signed_in, db, agent):
    seed_case(db, owner_id=agent.id)
    response = signed_in.get("/?severity=medium", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "Cobro duplicado" in response.text
    assert "HX-Request" in response.headers["vary"]


def test_inbox_query_count_does_not_grow_with_rows(signed_in, db, agent):
    many_cases(db, agent.id, 3)
    with counting(db) as few:
        assert signed_in.get("/").status_code == 200
    many_cases(db, agent.id, 40, channel="email")
    with counting(db) as many:
        assert signed_in.get("/").status_code == 200
    assert len(many) == len(few) <= 3  # the user, the organisation, one inbox query


def test_inbox_alias_redirects(signed_in):
    response = signed_in.get("/inbox?sort=newest", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/?sort=newest"
