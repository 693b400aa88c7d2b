"""The playbooks meaculpa ships: one per error type and severity, in Spanish and English.

The protocol follows the articles meaculpa is built from: acknowledge the customer at once,
apologise sincerely and early (before they have to insist), put yourself in their place,
explain clearly what happened, remedy it, give a date when it cannot be fixed now, and
come back afterwards to check it really is fixed. Severity sets the deadlines (business
hours from the case's opening); the error type changes how the mistake is explained.

Templates use ``{customer_name}``, ``{case_reference}``, ``{error_title}``, ``{remedy}``,
``{due_date}`` and ``{agent_name}``; see :func:`meaculpa.playbooks.queries.render_template`.
"""

from __future__ import annotations

from typing import Any

from meaculpa.core.enums import ErrorType, Severity
from meaculpa.playbooks.schemas import StepKey

# The playbook a case follows while its customer is not affected by any recorded error.
GENERAL_TYPE = ErrorType.other

# Business hours after the case opened, per severity.
HOURS: dict[Severity, dict[StepKey, float]] = {
    Severity.critical: {
        StepKey.acknowledge: 1,
        StepKey.apologise: 1,
        StepKey.empathise: 1,
        StepKey.explain: 4,
        StepKey.remedy: 8,
        StepKey.give_date: 4,
        StepKey.follow_up: 24,
    },
    Severity.high: {
        StepKey.acknowledge: 2,
        StepKey.apologise: 2,
        StepKey.empathise: 2,
        StepKey.explain: 8,
        StepKey.remedy: 16,
        StepKey.give_date: 8,
        StepKey.follow_up: 40,
    },
    Severity.medium: {
        StepKey.acknowledge: 4,
        StepKey.apologise: 4,
        StepKey.empathise: 4,
        StepKey.explain: 16,
        StepKey.remedy: 24,
        StepKey.give_date: 16,
        StepKey.follow_up: 56,
    },
    Severity.low: {
        StepKey.acknowledge: 8,
        StepKey.apologise: 8,
        StepKey.empathise: 8,
        StepKey.explain: 24,
        StepKey.remedy: 40,
        StepKey.give_date: 24,
        StepKey.follow_up: 80,
    },
}

# How each kind of mistake is explained, in plain words.
WHAT_HAPPENED: dict[ErrorType, dict[str, str]] = {
    ErrorType.concept: {
        "es": "Partimos de una idea equivocada de lo que necesitabas y eso nos llevó a "
        "ofrecerte algo que no encajaba.",
        "en": "We started from the wrong idea of what you needed, and that led us to offer "
        "you something that did not fit.",
    },
    ErrorType.calculation: {
        "es": "Hicimos mal un cálculo (un importe, un precio o una cantidad) y lo que te "
        "llegó no era correcto.",
        "en": "We got a calculation wrong (an amount, a price or a quantity), and what "
        "reached you was not correct.",
    },
    ErrorType.measurement: {
        "es": "Una medida o un dato que tomamos estaba mal, y todo lo que hicimos después "
        "partía de ese dato.",
        "en": "A measurement or a reading we took was wrong, and everything we did "
        "afterwards was based on it.",
    },
    ErrorType.judgement: {
        "es": "Valoramos mal tu caso y tomamos una decisión equivocada. Con la información "
        "que teníamos, debimos decidir de otra forma.",
        "en": "We assessed your case badly and made the wrong call. With the information "
        "we had, we should have decided differently.",
    },
    ErrorType.process: {
        "es": "Falló uno de nuestros procesos internos: un paso que debía hacerse no se "
        "hizo, o se hizo tarde.",
        "en": "One of our internal processes failed: a step that should have happened did "
        "not, or happened late.",
    },
    ErrorType.product: {
        "es": "El producto no estuvo a la altura de lo que te prometimos. El fallo está en "
        "lo que te vendimos, no en cómo lo usaste.",
        "en": "The product did not live up to what we promised you. The fault is in what "
        "we sold you, not in how you used it.",
    },
    ErrorType.delivery: {
        "es": "La entrega no salió como te dijimos: no llegó cuando debía o no llegó como debía.",
        "en": "The delivery did not go the way we told you it would: it did not arrive "
        "when, or how, it should have.",
    },
    ErrorType.communication: {
        "es": "Te informamos mal: lo que te dijimos no era correcto o no fue lo bastante "
        "claro, y eso te hizo esperar algo distinto.",
        "en": "We told you the wrong thing, or did not say it clearly enough, and that "
        "made you expect something different.",
    },
    ErrorType.other: {
        "es": "Cometimos un error al atender tu caso.",
        "en": "We made a mistake while handling your case.",
    },
}

TEMPLATES: dict[StepKey, dict[str, str]] = {
    StepKey.acknowledge: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Hemos recibido tu mensaje y ya está en mis manos: soy {agent_name} y me "
            "encargo personalmente de tu caso ({case_reference}). No tendrás que volver a "
            "explicárselo a nadie.\n\n"
            "Te escribo de nuevo en cuanto tenga algo concreto que contarte.\n\n"
            "Un saludo,\n{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "We have your message and it is in my hands now: I'm {agent_name}, and I'm "
            "looking after your case ({case_reference}) personally. You won't have to "
            "explain it to anyone else.\n\n"
            "I'll write again as soon as I have something concrete to tell you.\n\n"
            "Best regards,\n{agent_name}"
        ),
    },
    StepKey.apologise: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Nos equivocamos y lo siento de verdad. Lo que ha pasado («{error_title}») fue "
            "un error nuestro, no tuyo, y sé que te ha causado molestias.\n\n"
            "No voy a poner excusas. Lo importante ahora es arreglarlo, y en eso estoy.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            'We got this wrong, and I\'m truly sorry. What happened ("{error_title}") was '
            "our mistake, not yours, and I know it has caused you trouble.\n\n"
            "I won't make excuses. What matters now is putting it right, and that is what "
            "I'm doing.\n\n"
            "{agent_name}"
        ),
    },
    StepKey.empathise: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Me pongo en tu lugar: contabas con nosotros y no estuvimos a la altura. Es "
            "lógico que te haya molestado, y te agradezco que nos lo hayas contado en vez "
            "de marcharte sin decir nada.\n\n"
            "Si este problema te ha causado algún otro trastorno, cuéntamelo y lo tendré "
            "en cuenta.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "I can see why this upset you: you counted on us and we let you down. Thank "
            "you for telling us instead of simply walking away.\n\n"
            "If this has caused you any other trouble, tell me and I'll take it into "
            "account.\n\n"
            "{agent_name}"
        ),
    },
    StepKey.explain: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Quiero explicarte con claridad qué ha pasado. {what_happened} Estamos "
            "revisando por qué ocurrió para que no vuelva a pasar.\n\n"
            "Lo que estamos haciendo ahora: {remedy}.\n\n"
            "Si algo no queda claro, pregúntame lo que quieras; prefiero contártelo todo.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "I want to explain clearly what happened. {what_happened} We are looking into "
            "why it happened so that it doesn't happen again.\n\n"
            "What we are doing now: {remedy}.\n\n"
            "If anything is unclear, ask me whatever you like; I'd rather tell you "
            "everything.\n\n"
            "{agent_name}"
        ),
    },
    StepKey.remedy: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Esto es lo que hacemos para arreglarlo: {remedy}.\n\n"
            "Corre de nuestra cuenta y no tienes que hacer nada más. Si otra solución te "
            "viene mejor, dímelo y lo vemos.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "Here is what we are doing to put it right: {remedy}.\n\n"
            "It's on us, and you don't need to do anything else. If another solution "
            "would suit you better, tell me and we'll look at it.\n\n"
            "{agent_name}"
        ),
    },
    StepKey.give_date: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "No puedo dejarlo resuelto hoy mismo y prefiero decírtelo claramente: lo que te "
            "he prometido ({remedy}) estará hecho, como muy tarde, el {due_date}.\n\n"
            "Si algo pusiera en peligro esa fecha, te avisaré antes de que llegue, no "
            "después.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "I can't have this fixed today, and I'd rather tell you plainly: what I "
            "promised you ({remedy}) will be done by {due_date} at the latest.\n\n"
            "If anything puts that date at risk, I'll tell you before it arrives, not "
            "after.\n\n"
            "{agent_name}"
        ),
    },
    StepKey.follow_up: {
        "es": (
            "Hola, {customer_name}:\n\n"
            "Te escribo para comprobar que todo ha quedado bien con tu caso "
            "{case_reference}. ¿Está resuelto del todo? Si queda cualquier cosa pendiente, "
            "responde a este mensaje y me encargo.\n\n"
            "Gracias por tu paciencia y por darnos la oportunidad de arreglarlo.\n\n"
            "{agent_name}"
        ),
        "en": (
            "Hi {customer_name},\n\n"
            "I'm writing to check that everything is now right with your case "
            "{case_reference}. Is it fully sorted? If anything is still pending, reply to "
            "this message and I'll take care of it.\n\n"
            "Thank you for your patience, and for giving us the chance to put it right.\n\n"
            "{agent_name}"
        ),
    },
}


def default_steps(error_type: str, severity: str) -> list[dict[str, Any]]:
    """The shipped steps of one playbook, in order, as stored in ``Playbook.steps``."""
    kind, level = ErrorType(error_type), Severity(severity)
    steps: list[dict[str, Any]] = []
    for key in StepKey:
        templates = {
            lang: text.replace("{what_happened}", WHAT_HAPPENED[kind][lang])
            for lang, text in TEMPLATES[key].items()
        }
        steps.append({"key": key.value, "hours": float(HOURS[level][key]), "templates": templates})
    return steps


def all_defaults() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Every shipped playbook: ``(error_type, severity, steps)``."""
    return [(t.value, s.value, default_steps(t, s)) for t in ErrorType for s in Severity]
