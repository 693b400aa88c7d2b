from __future__ import annotations

import json

from meaculpa.analysis import coach_reply

GOOD_ES = (
    "Hola Ana, tiene toda la razón: le cobramos dos veces y lo sentimos mucho. "
    "Imagino lo molesto que ha sido. Se debió a un error en nuestra facturación. "
    "Le reembolsaremos los 49 € el jueves antes de las 14:00 y le escribiré para confirmarlo. "
    "Gracias por avisarnos."
)


def test_complete_spanish_reply_scores_high() -> None:
    report = coach_reply(GOOD_ES)
    assert report.language == "es"
    assert set(report.present) == {
        "acknowledgement",
        "apology",
        "empathy",
        "explanation",
        "remedy",
        "concrete_time",
        "next_step",
        "thanks",
    }
    assert report.anti_patterns == []
    assert report.score >= 90


def test_blame_shifting_is_flagged_with_span() -> None:
    text = "Lo sentimos, pero no es culpa nuestra: el transportista es el responsable del retraso."
    report = coach_reply(text)
    blame = [a for a in report.anti_patterns if a.kind == "blame_shifting"]
    assert [text[a.start : a.end] for a in blame] == [
        "no es culpa nuestra",
        "el transportista es el responsable",
    ]
    assert all(a.text == text[a.start : a.end] for a in blame)
    assert "error nuestro" in blame[0].suggestion  # Spanish rewrite for a Spanish reply
    assert "en" in blame[0].suggestions


def test_conditional_apology_is_not_an_apology() -> None:
    report = coach_reply(
        "Lamentamos si se sintió molesto por la espera. Eso lo lleva otro departamento."
    )
    kinds = [a.kind for a in report.anti_patterns]
    assert "conditional_apology" in kinds and "not_my_department" in kinds
    assert "apology" in report.missing
    assert report.score < 30


def test_english_anti_patterns() -> None:
    text = (
        "Sorry if you feel that way. That's not my department. We're very busy due to high volume, "
        "we'll get back to you soon and we guarantee it will never happen again."
    )
    report = coach_reply(text)
    kinds = {a.kind for a in report.anti_patterns}
    assert {
        "conditional_apology",
        "not_my_department",
        "excuse",
        "vague_time",
        "over_promise",
    } <= kinds
    soon = next(a for a in report.anti_patterns if a.kind == "vague_time")
    assert text[soon.start : soon.end] == "soon"
    assert report.language == "en"
    assert report.score == 0


def test_concrete_time_is_not_vague() -> None:
    report = coach_reply("We'll call you tomorrow at 10am. Thanks for your patience.")
    assert "concrete_time" in report.present and "next_step" in report.present
    assert not [a for a in report.anti_patterns if a.kind == "vague_time"]


def test_jargon_and_to_dict() -> None:
    report = coach_reply("Su ticket ha sido escalado a N2 conforme a lo establecido en el SLA.")
    assert {a.text for a in report.anti_patterns if a.kind == "jargon"} >= {"escalado a N2", "SLA"}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["analyzer"] == "reply_coach" and 0 <= data["score"] <= 100


def test_empty_reply() -> None:
    assert coach_reply("").score == 0
