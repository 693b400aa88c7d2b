"""Shipped playbooks, deadlines in business hours, which playbook a case follows, templates."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor
from meaculpa.core.enums import ErrorType, Severity
from meaculpa.errors.actions import do_add_affected, do_create_error
from meaculpa.errors.schemas import AffectedIn, ErrorCreate
from meaculpa.playbooks.actions import do_install_default_playbooks
from meaculpa.playbooks.defaults import all_defaults, default_steps
from meaculpa.playbooks.models import Playbook, PlaybookRevision
from meaculpa.playbooks.queries import (
    TEMPLATE_VARIABLES,
    case_checklist,
    render_template,
    rendered_step_text,
    resolve_playbook,
)
from meaculpa.playbooks.schemas import StepKey
from tests.conftest import audit_verbs
from tests.playbooks.conftest import OFFICE, make_org, set_opened
from tests.web.helpers import seed_case

MADRID = ZoneInfo("Europe/Madrid")
SYSTEM = Actor.system("test")


def test_every_type_and_severity_has_the_whole_protocol_in_both_languages():
    defaults = all_defaults()
    assert len(defaults) == len(ErrorType) * len(Severity)
    for error_type, severity, steps in defaults:
        assert [s["key"] for s in steps] == [k.value for k in StepKey], (error_type, severity)
        for step in steps:
            for lang in ("es", "en"):
                text = step["templates"][lang]
                assert len(text) > 80, (error_type, severity, step["key"], lang)
                used = set(re.findall(r"\{([a-z_]+)\}", text))
                assert used <= set(TEMPLATE_VARIABLES), used
    # The explanation changes with the type of mistake, in each language.
    delivery = default_steps("delivery", "medium")[3]["templates"]
    calculation = default_steps("calculation", "medium")[3]["templates"]
    assert "entrega" in delivery["es"] and "delivery" in delivery["en"]
    assert "cálculo" in calculation["es"] and "calculation" in calculation["en"]


def test_severity_sets_the_deadlines():
    def hours(severity: str) -> dict[str, float]:
        return {s["key"]: s["hours"] for s in default_steps("other", severity)}

    critical, high, medium, low = (hours(s) for s in ("critical", "high", "medium", "low"))
    assert critical["acknowledge"] == 1 and critical["apologise"] == 1
    for key in critical:
        assert critical[key] <= high[key] <= medium[key] <= low[key], key


def test_render_fills_known_variables_and_leaves_the_rest_visible():
    values = {"customer_name": "Lucía", "case_reference": "MC-7", "remedy": None}
    text = "Hola, {customer_name}: {case_reference} · {remedy} · {unknown} · {due_date}"
    assert render_template(text, values) == "Hola, Lucía: MC-7 · {remedy} · {unknown} · {due_date}"
    # Nothing is evaluated: no attribute access, indexing, conversions or format specs.
    tricky = "{customer_name.__class__} {customer_name[0]} {customer_name!r} {0} {customer_name:>9}"
    assert render_template(tricky, {"customer_name": "Lucía"}) == tricky
    # Values are inserted as they are, never rendered again.
    assert render_template("{customer_name}", {"customer_name": "{agent_name}"}) == "{agent_name}"


def test_templates_render_in_the_case_language(db, agent):
    es = seed_case(db, owner_id=agent.id)
    en = seed_case(
        db,
        owner_id=agent.id,
        name="Hannah Smith",
        email="hannah@example.com",
        subject="Parcel never arrived",
        text="My parcel never arrived and nobody answers.",
    )
    with db.transaction() as s:
        get_case(s, en["case"]).language = "en"
    with db.reading() as s:
        spanish = rendered_step_text(s, get_case(s, es["case"]), "apologise", agent_name="Alberto")
        english = rendered_step_text(s, get_case(s, en["case"]), "apologise", agent_name="Alberto")
        follow = rendered_step_text(s, get_case(s, en["case"]), "follow_up", agent_name="Alberto")
        date = rendered_step_text(s, get_case(s, es["case"]), "give_date")
    assert spanish.startswith("Hola, Lucía Fernández:") and "lo siento de verdad" in spanish
    assert "«Cobro duplicado»" in spanish and spanish.rstrip().endswith("Alberto")
    assert english.startswith("Hi Hannah Smith,") and "I'm truly sorry" in english
    assert '"Parcel never arrived"' in english
    assert f"MC-{en['case']}" in follow
    # No remedy is known yet: it stays visible for the agent; the date is a real date.
    assert "({remedy})" in date and "{due_date}" not in date and "de 20" in date
    assert "Alberto Agente" in date  # without an agent name, the case owner signs


def test_defaults_are_stored_once_with_a_first_revision(db):
    with db.transaction() as s:
        assert do_install_default_playbooks(s, SYSTEM) == 36
    with db.transaction() as s:
        assert do_install_default_playbooks(s, SYSTEM) == 0
    with db.reading() as s:
        assert s.scalar(select(func.count(Playbook.id))) == 36
        assert s.scalar(select(func.count(PlaybookRevision.id))) == 36
        revision = s.scalar(select(PlaybookRevision).limit(1))
        assert revision.version == 1 and revision.snapshot["steps"]
    assert audit_verbs(db, "playbook") == ["playbook.install_defaults"]


def test_deadlines_count_business_hours_across_a_weekend_and_a_holiday(db, agent):
    # Monday 7 December 2026 is a holiday; the office opens 9:00-18:00 on weekdays.
    make_org(db, OFFICE, ["2026-12-07"])
    ids = seed_case(db, owner_id=agent.id)
    set_opened(db, ids["case"], datetime(2026, 12, 4, 17, 0, tzinfo=MADRID))  # a Friday
    tuesday_noon = datetime(2026, 12, 8, 12, 30, tzinfo=MADRID)
    with db.reading() as s:
        checklist = case_checklist(s, get_case(s, ids["case"]), now=tuesday_noon)
    due = {step.key: step.due_at.astimezone(MADRID) for step in checklist.steps}
    # 4 business hours (medium): 1 on Friday, then Tuesday 9:00 + 3 h.
    assert due["acknowledge"] == datetime(2026, 12, 8, 12, 0, tzinfo=MADRID)
    # 16 business hours: 1 on Friday, 9 on Tuesday, 6 on Wednesday.
    assert due["explain"] == datetime(2026, 12, 9, 15, 0, tzinfo=MADRID)
    states = {step.key: step.state for step in checklist.steps}
    assert states["acknowledge"] == states["empathise"] == "overdue"
    assert states["explain"] == states["follow_up"] == "due"


def test_a_case_follows_the_error_its_customer_was_hurt_by(db, agent):
    ids = seed_case(db, owner_id=agent.id, severity="low")
    with db.reading() as s:
        general = resolve_playbook(s, get_case(s, ids["case"]))
    assert (general.error_type, general.severity, general.error_id) == ("other", "low", None)
    with db.transaction() as s:
        error = do_create_error(
            s,
            SYSTEM,
            ErrorCreate(
                title="Pedidos sin enviar por un fallo del almacén",
                type="delivery",
                severity="critical",
            ),
        )
        do_add_affected(s, SYSTEM, error, AffectedIn(customer_id=ids["customer"]))
        error_id = error.id
    with db.reading() as s:
        chosen = resolve_playbook(s, get_case(s, ids["case"]))
        checklist = case_checklist(s, get_case(s, ids["case"]))
        text = rendered_step_text(s, get_case(s, ids["case"]), "apologise")
    assert (chosen.error_type, chosen.severity, chosen.error_id) == (
        "delivery",
        "critical",
        error_id,
    )
    assert checklist.step("acknowledge").hours == 1
    assert "«Pedidos sin enviar por un fallo del almacén»" in text
