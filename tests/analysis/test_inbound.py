from __future__ import annotations

import json

import pytest

from meaculpa.analysis import ANALYZER_VERSIONS, SentimentModel, analyze_inbound, detect_language
from meaculpa.analysis.text import MAX_RULE_CHARS

FURIOUS_ES = (
    "¡ES LA TERCERA VEZ QUE ESCRIBO! Sois unos sinvergüenzas: como no me devolváis el dinero "
    "esta semana os denuncio en la OMIC y en Consumo."
)


def test_furious_spanish_message(shipped_model: SentimentModel) -> None:
    r = analyze_inbound([FURIOUS_ES], model=shipped_model)[0]
    assert r.language.code == "es"
    assert r.sentiment.label == "negative"
    assert r.sentiment.probabilities["negative"] > 0.8
    assert r.anger.score >= 0.7
    regulator = [s.trigger for s in r.escalation if s.kind == "regulator"]
    assert regulator == ["OMIC", "Consumo"]
    assert {"repeat_contact", "shouting"} <= set(r.escalation_kinds)
    assert r.urgency.level in ("high", "critical")


def test_thanks_and_questions(shipped_model: SentimentModel) -> None:
    results = analyze_inbound(
        [
            "Thank you so much, the technician was lovely and fixed it in ten minutes!",
            "¿Cuál es el horario de la oficina de la calle Mayor?",
            "Muchas gracias por la rapidez, todo perfecto.",
        ],
        model=shipped_model,
    )
    assert [r.sentiment.label for r in results] == ["positive", "neutral", "positive"]
    assert all(r.anger.score < 0.3 for r in results)
    assert [r.language.code for r in results] == ["en", "es", "es"]


@pytest.mark.parametrize(
    ("text", "kind", "trigger"),
    [
        ("This is the third time I write about this.", "repeat_contact", "third time I write"),
        ("Es la tercera vez que escribo.", "repeat_contact", "tercera vez que escribo"),
        ("I'm talking to my lawyer tomorrow.", "lawyer", "lawyer"),
        ("Cancel my subscription today.", "cancel_or_leave", "Cancel my subscription"),
        ("Me doy de baja.", "cancel_or_leave", "Me doy de baja"),
        ("I will post this on social media.", "press_or_social", "social media"),
        ("Voy a ir a FACUA.", "consumer_association", "FACUA"),
        ("Filing a complaint with the CFPB.", "regulator", "CFPB"),
        ("This is shit.", "profanity", "shit"),
        ("NOBODY ANSWERS MY CALLS at all", "shouting", "NOBODY ANSWERS MY CALLS"),
    ],
)
def test_escalation_signals(
    shipped_model: SentimentModel, text: str, kind: str, trigger: str
) -> None:
    r = analyze_inbound([text], model=shipped_model)[0]
    sig = [s for s in r.escalation if s.kind == kind]
    assert sig, r.escalation
    assert (
        sig[0].trigger.lower().endswith(trigger.lower())
        or trigger.lower() in sig[0].trigger.lower()
    )
    assert text[sig[0].start : sig[0].end] == sig[0].trigger


def test_no_false_alarms_on_ordinary_text(shipped_model: SentimentModel) -> None:
    r = analyze_inbound(
        ["El consumo de datos de mi línea es alto, ¿por qué?"], model=shipped_model
    )[0]
    assert r.escalation == []


def test_bad_input_never_crashes(shipped_model: SentimentModel) -> None:
    texts = [
        "",
        "😡😡😡",
        "x" * 1_000_000,
        "Hola \ud800 mundo",
        "Hello, quiero cancelar my account please",
    ]
    results = analyze_inbound(texts, model=shipped_model)
    assert len(results) == 5
    assert results[0].notes == ["empty text"] and results[0].sentiment.label == "neutral"
    assert results[0].language.code == "und"
    assert results[1].sentiment.label == "negative"
    assert results[2].truncated and any(str(MAX_RULE_CHARS) in n for n in results[2].notes)
    assert results[2].text_length == 1_000_000
    assert "1 invalid characters replaced" in results[3].notes
    for r in results:
        json.dumps(r.to_dict())


def test_invalid_types_raise_value_error(shipped_model: SentimentModel) -> None:
    with pytest.raises(ValueError, match="text 1"):
        analyze_inbound(["ok", None], model=shipped_model)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="invalid UTF-8"):
        analyze_inbound([b"\xff\xfe"], model=shipped_model)  # type: ignore[list-item]
    with pytest.raises(ValueError):
        analyze_inbound("one string", model=shipped_model)


def test_results_carry_analyzer_versions(shipped_model: SentimentModel) -> None:
    d = analyze_inbound(["Gracias"], model=shipped_model)[0].to_dict()
    for key in ("language", "sentiment", "anger", "urgency", "escalation"):
        assert ANALYZER_VERSIONS[d[key]["analyzer"]] == d[key]["version"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Buenos días, quería saber el estado de mi pedido", "es"),
        ("Good morning, I would like to know where my order is", "en"),
        ("Bom dia, gostaria de saber onde está a minha encomenda", "pt"),
        ("Bonjour, je voudrais savoir où est ma commande", "fr"),
        ("Bon dia, voldria saber on és la meva comanda", "ca"),
        ("!!!", "und"),
    ],
)
def test_language(text: str, code: str) -> None:
    assert detect_language(text).code == code
