# ruff: noqa: E501  (pattern tables: one regex alternative per line reads better than split strings)
"""Reply coach: checks an outbound reply against the service-recovery protocol.

It reports which protocol elements are present (acknowledgement, sincere apology, empathy,
explanation, remedy, a concrete date or time, next step, thanks), which anti-patterns appear
(blame-shifting, "not my department", excuses, conditional non-apologies, vague "soon",
over-promising, jargon) with their character spans and a suggested rewrite in Spanish and
English, and a 0–100 score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .calendar import DEFAULT_CALENDAR
from .commitments import _SENTENCE, _VAGUE, extract_commitments, resolve_due
from .language import detect_language, rule_language
from .text import PreparedText, prepare

NAME = "reply_coach"
VERSION = "1.0.0"


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


ELEMENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "acknowledgement": _rx(
        r"\b(?:entendemos|entiendo|comprendemos|comprendo)\s+que\b",
        r"\b(?:tiene|tienes)\s+(?:toda\s+la\s+)?razon\b",
        r"\b(?:reconocemos|reconozco)\b",
        r"\b(?:nos\s+equivocamos|me\s+equivoque|(?:fue|es|ha\s+sido)\s+(?:un\s+)?(?:error|fallo|culpa)\s+(?:nuestr[oa]|mio|de\s+nuestro\s+equipo))\b",
        r"\bhemos\s+(?:recibido|leido|revisado)\s+(?:su|tu)\b",
        r"\b(?:i|we)\s+(?:understand|see|hear|recogni[sz]e|acknowledge)\s+(?:that|how|what|your)\b",
        r"\byou(?:'re|\s+are)\s+(?:absolutely\s+|completely\s+|quite\s+)?right\b",
        r"\b(?:we|i)\s+(?:made\s+a\s+mistake|got\s+(?:this|it)\s+wrong|messed\s+up|dropped\s+the\s+ball)\b",
        r"\b(?:this|that|it)\s+(?:was|is)\s+(?:our|my)\s+(?:mistake|fault|error)\b",
        r"\b(?:we(?:'ve|\s+have)|i(?:'ve|\s+have))\s+(?:received|read|reviewed|looked\s+at)\s+your\b",
    ),
    "apology": _rx(
        r"\b(?:lo\s+)?(?:sentimos|siento)\s+(?:mucho|muchisimo|profundamente|de\s+veras|sinceramente)?\b(?!\s+(?:si|que\s+(?:usted\s+)?(?:se\s+haya\s+sentido|sienta|piense|considere|crea)))",
        r"\b(?:le|les|te|os)\s+(?:pedimos|pido)\s+(?:sinceras\s+)?(?:disculpas|perdon)\b",
        r"\b(?:pedimos|pido)\s+(?:disculpas|perdon)\b(?!\s+si)",
        r"\bdisculpe(?:n)?\s+(?:las|la|por)\b",
        r"\blamentamos\s+(?:mucho\s+|profundamente\s+|sinceramente\s+)?(?:el|la|los|las|haber(?:le|te)?|lo\s+ocurrido|lo\s+sucedido|este|esta)\b",
        r"\b(?:we(?:'re|\s+are)|i(?:'m|\s+am))\s+(?:so\s+|very\s+|truly\s+|really\s+|deeply\s+|sincerely\s+|terribly\s+)?sorry\s+(?:for|that|about|to)\b",
        r"\b(?:we|i)\s+(?:sincerely\s+|truly\s+)?apologi[sz]e\b(?!\s+(?:if|for\s+any\s+inconvenience\s+(?:this|that|it)\s+may))",
        r"\b(?:my|our)\s+(?:sincere\s+|deepest\s+)?apologies\b(?!\s+if)",
        r"\bplease\s+accept\s+(?:our|my)\s+(?:sincere\s+)?apologies\b",
    ),
    "empathy": _rx(
        r"\b(?:entiendo|entendemos|comprendo|comprendemos)\s+(?:perfectamente\s+)?(?:lo\s+)?(?:frustrante|molest[oa]|su\s+(?:malestar|enfado|frustracion|preocupacion)|tu\s+(?:malestar|enfado|frustracion)|como\s+se\s+siente)",
        r"\b(?:imagino|me\s+imagino|podemos\s+imaginar)\b",
        r"\bdebe(?:\s+de)?\s+(?:haber\s+sido|ser)\s+(?:muy\s+)?(?:frustrante|molesto|dificil|un\s+trastorno)",
        r"\bes\s+(?:normal|logico|comprensible)\s+que\b",
        r"\bsabemos\s+(?:lo\s+)?(?:importante|mucho)\b",
        r"\b(?:i|we)\s+can\s+(?:only\s+)?imagine\b",
        r"\bmust\s+(?:have\s+been|be)\s+(?:so\s+|really\s+|very\s+)?(?:frustrating|annoying|stressful|upsetting|difficult|inconvenient)",
        r"\b(?:i|we)\s+(?:completely\s+|totally\s+|fully\s+)?understand\s+(?:how\s+|your\s+)(?:frustrat|annoy|upset|disappoint|concern|important)",
        r"\b(?:that|this)(?:'s|\s+is)\s+(?:so\s+|really\s+)?(?:frustrating|not\s+the\s+experience)",
        r"\bwe\s+know\s+how\s+(?:important|frustrating|stressful)\b",
    ),
    "explanation": _rx(
        r"\b(?:se\s+debio|se\s+debe|fue\s+debido|ha\s+sido\s+debido|debido\s+a|a\s+causa\s+de|por\s+culpa\s+de\s+(?:un|una)\s+(?:error|fallo)\s+nuestr)",
        r"\b(?:el\s+motivo|la\s+causa|la\s+razon)\s+(?:es|fue|ha\s+sido)\b",
        r"\b(?:lo\s+que\s+(?:ocurrio|paso|sucedio)\s+(?:es|fue))\b",
        r"\bthis\s+happened\s+because\b|\bdue\s+to\b|\bcaused\s+by\b|\bthe\s+(?:reason|cause)\s+(?:is|was)\b|\bwhat\s+happened\s+(?:is|was)\b|\bbecause\s+(?:of\s+)?(?:a|an|our)\b",
        r"\bporque\s+(?:un|una|nuestro|nuestra|el|la)\b",
    ),
    "remedy": _rx(
        r"\b(?:reembols|abonad|abonaremos|abonamos|reintegr|compensaci|compensar|indemniz)\w*",
        r"\b(?:le|te)\s+(?:hemos\s+)?(?:devuelto|devolveremos|enviaremos|enviamos|regalamos)\s+(?:el|la|su|tu|un|una)\s+",
        r"\b(?:sin\s+(?:coste|costo|cargo)|gratis|gratuit[oa]|descuento|cheque\s+regalo|vale\s+de)\b",
        r"\bhemos\s+(?:corregido|solucionado|arreglado|anulado|cancelado\s+el\s+cargo|rectificado|restablecido|reactivado)\b",
        r"\b(?:refund\w*|reimburs\w*|credit(?:ed)?|replacement|compensat\w*|free\s+of\s+charge|voucher|discount|waiv\w*|goodwill)\b",
        r"\b(?:we(?:'ve|\s+have)|i(?:'ve|\s+have))\s+(?:fixed|corrected|reversed|removed|restored|reactivated|cancell?ed\s+the\s+charge|sorted)\b",
    ),
    "thanks": _rx(
        r"\b(?:muchas\s+)?gracias\b",
        r"\b(?:le|te|les|os)?\s*agradec(?:emos|emos\s+mucho|o)\b",
        r"\b(?:thank\s+you|thanks)\b",
        r"\b(?:we|i)\s+(?:really\s+|truly\s+)?appreciate\b",
    ),
}

ELEMENT_WEIGHTS = {
    "acknowledgement": 12,
    "apology": 18,
    "empathy": 10,
    "explanation": 10,
    "remedy": 15,
    "concrete_time": 12,
    "next_step": 13,
    "thanks": 10,
}

ANTI_PATTERNS: dict[str, re.Pattern[str]] = {
    "blame_shifting": _rx(
        r"\b(?:es|fue|era)\s+(?:culpa|responsabilidad)\s+(?:suya|tuya|del\s+(?:cliente|usuario|transportista|mensajero|proveedor|banco|fabricante)|de\s+(?:la\s+)?(?:empresa\s+de\s+transporte|mensajeria|agencia))",
        r"\bno\s+(?:es|fue)\s+(?:culpa|responsabilidad)\s+(?:nuestra|de\s+la\s+empresa|mia)\b",
        r"\busted\s+(?:debio|deberia\s+haber|tendria\s+que\s+haber|no\s+(?:leyo|reviso|siguio|comprobo|indico))\b",
        r"\b(?:tu|tú)\s+(?:debiste|deberias\s+haber|no\s+(?:leiste|revisaste|seguiste))\b",
        r"\bel\s+error\s+(?:fue|es)\s+(?:suyo|tuyo|del\s+(?:cliente|transportista|banco|proveedor))\b",
        r"\b(?:el\s+transportista|la\s+mensajeria|la\s+empresa\s+de\s+transporte|el\s+proveedor|el\s+banco)\s+(?:es|fue)\s+(?:el\s+|la\s+)?(?:responsable|culpable)\b",
        r"\bcomo\s+(?:ya\s+)?(?:se\s+indica|se\s+indicaba|indicamos|le\s+dijimos|le\s+explicamos|consta)\s+(?:claramente\s+)?en\b",
        r"\b(?:it(?:'s|\s+is)|that(?:'s|\s+is)|this\s+is|it\s+was)\s+not\s+our\s+(?:fault|responsibility|problem)\b",
        r"\byou\s+should\s+have\b|\byou\s+(?:failed|forgot|neglected)\s+to\b|\byou\s+(?:didn't|did\s+not)\s+(?:read|check|follow|select|enter|tell)\b",
        r"\b(?:the|our)\s+(?:courier|carrier|supplier|bank|partner|manufacturer|delivery\s+company)(?:'s|\s+is|\s+was)\s+(?:fault|to\s+blame|responsible)\b",
        r"\bas\s+(?:clearly\s+)?(?:stated|mentioned|explained|indicated)\s+in\s+(?:our|the)\b",
        r"\buser\s+error\b|\b(?:is|was)\s+your\s+(?:fault|responsibility|own)\b",
    ),
    "not_my_department": _rx(
        r"\b(?:eso|esto|ese\s+tema|este\s+tema)\s+(?:lo\s+lleva|lo\s+gestiona|es\s+cosa\s+de|corresponde\s+a|es\s+competencia\s+de|depende\s+de)\s+otro\s+(?:departamento|equipo|area)",
        r"\bno\s+es\s+(?:de\s+)?(?:mi|nuestro)\s+(?:departamento|area|competencia)\b",
        r"\b(?:no\s+(?:es|depende)\s+(?:cosa\s+)?de\s+nosotros|no\s+podemos\s+hacer\s+nada)\b",
        r"\b(?:tiene|tendra|tienes|debera|debe)\s+que\s+(?:llamar|contactar|dirigirse|escribir)\s+(?:a|al|con)\s+(?:otro|el\s+departamento|el\s+area|atencion)",
        r"\bnot\s+(?:my|our)\s+(?:department|team|area|job|problem)\b",
        r"\b(?:that(?:'s|\s+is)|it(?:'s|\s+is)|this\s+is)\s+(?:handled\s+by|up\s+to|a\s+matter\s+for|dealt\s+with\s+by)\s+(?:another|a\s+different|the\s+other)\s+(?:team|department)",
        r"\byou(?:'ll|\s+will)?\s+(?:need|have)\s+to\s+(?:contact|call|reach\s+out\s+to|speak\s+to)\s+(?:another|a\s+different|the\s+other|the\s+relevant)\s+(?:department|team)",
        r"\b(?:not\s+something\s+(?:we|i)\s+can\s+(?:help|deal)\s+with|out\s+of\s+(?:my|our)\s+hands|nothing\s+(?:we|i)\s+can\s+do)\b",
    ),
    "excuse": _rx(
        r"\b(?:estamos|hemos\s+estado|andamos)\s+(?:muy\s+)?(?:desbordados|saturados|colapsados|con\s+mucho\s+trabajo|hasta\s+arriba)\b",
        r"\b(?:debido\s+al|por\s+el)\s+(?:alto\s+|gran\s+)?volumen\b",
        r"\b(?:falta|escasez)\s+de\s+personal\b",
        r"\b(?:son|fueron)\s+cosas\s+que\s+pasan\b|\bestas\s+cosas\s+pasan\b",
        r"\b(?:el\s+sistema|la\s+aplicacion)\s+(?:no\s+(?:nos\s+)?(?:permite|deja)|fallo|tuvo\s+un\s+problema)\b",
        r"\bdue\s+to\s+(?:an?\s+)?(?:high|heavy|unusually\s+high|increased|large)\s+(?:volume|demand|number)",
        r"\bwe(?:'re|\s+are|\s+were|\s+have\s+been)\s+(?:very\s+|extremely\s+)?(?:busy|short[- ]staffed|understaffed|swamped|overwhelmed)\b",
        r"\b(?:beyond|outside)\s+(?:of\s+)?our\s+control\b|\bfuera\s+de\s+nuestro\s+control\b",
        r"\bthese\s+things\s+happen\b|\bit\s+happens\b|\bthe\s+system\s+(?:doesn't|does\s+not|won't)\s+(?:let|allow)\b",
    ),
    "conditional_apology": _rx(
        r"\b(?:lamentamos|sentimos|siento|lamento|perdon|disculpe|disculpen|pedimos\s+disculpas)\s+si\b",
        r"\b(?:lamentamos|sentimos|lamento|siento)\s+que\s+(?:usted\s+)?(?:se\s+haya\s+sentido|se\s+sienta|piense|considere|crea|perciba|le\s+haya\s+parecido)",
        r"\b(?:sorry|apologi[sz]e)\s+if\b|\b(?:our\s+)?apologies\s+if\b",
        r"\bsorry\s+(?:that\s+)?you\s+(?:feel|felt|think|thought|were\s+upset|are\s+upset|see\s+it)",
        r"\bapologi[sz]e\s+for\s+any\s+inconvenience\s+(?:this|that|it)\s+may\s+have\s+caused\b",
        r"\bif\s+(?:you|anyone)\s+(?:were|was|felt)\s+(?:upset|offended|inconvenienced)\b",
    ),
    "vague_time": _VAGUE,
    "over_promise": _rx(
        r"\bnunca\s+(?:mas|jamas)\b|\bjamas\s+(?:volvera|volvera\s+a)\b",
        r"\bno\s+(?:volvera|va\s+a\s+volver)\s+a\s+(?:pasar|ocurrir|suceder|repetirse)\b",
        r"\b(?:le|te|les)?\s*garantiz(?:amos|o)\b|\bgarantizad[oa]\b|\b100\s*%\s*(?:garantizado|seguro)",
        r"\b(?:never|won't\s+ever|will\s+not\s+ever)\s+happen\s+again\b|\bwon't\s+happen\s+again\b|\bnever\s+again\b",
        r"\bguarantee(?:d)?\b|\bwe\s+promise\s+(?:this|it|that)\s+will\s+never\b|\b100\s*%\s+(?:guaranteed|sure|certain)\b",
    ),
    "jargon": _rx(
        r"\b(?:sla|rma|kpi|eta|crm|n1|n2|l1|l2|tier\s*[123]|backoffice|back[- ]office|workflow|ticketing)\b",
        r"\bescalad[oa]\s+a\s+(?:n\d|nivel\s+\d|segundo\s+nivel)\b|\bnivel\s+[123]\b",
        r"\b(?:as\s+per|pursuant\s+to|aforementioned|hereby|per\s+our\s+(?:policy|terms|t&cs))\b",
        r"\b(?:conforme\s+a\s+lo\s+(?:estipulado|establecido)|segun\s+(?:la\s+)?normativa\s+vigente|procedimiento\s+interno|el\s+citado|la\s+citada)\b",
        r"\binternal\s+(?:procedure|process|policy)\b",
    ),
}

ANTI_PATTERN_PENALTIES = {
    "blame_shifting": 25,
    "not_my_department": 20,
    "excuse": 12,
    "conditional_apology": 20,
    "vague_time": 8,
    "over_promise": 10,
    "jargon": 5,
}

SUGGESTIONS: dict[str, dict[str, str]] = {
    "blame_shifting": {
        "es": "Asuma el error sin buscar culpables: «Es un error nuestro y nos encargamos de solucionarlo.»",
        "en": "Own the mistake instead of assigning blame: \u201cThis was our mistake and we will put it right.\u201d",
    },
    "not_my_department": {
        "es": "Hágase cargo del traspaso: «He pasado su caso a [equipo] y le escribiré yo mismo antes del [fecha] con su respuesta.»",
        "en": "Own the hand-off: \u201cI have passed your case to [team] and I will write to you myself by [date] with their answer.\u201d",
    },
    "excuse": {
        "es": "Cambie la excusa por lo que va a hacer: «No debimos hacerle esperar. Tendrá respuesta antes del [fecha].»",
        "en": "Replace the excuse with action: \u201cWe should not have kept you waiting. You will have an answer by [date].\u201d",
    },
    "conditional_apology": {
        "es": "Pida perdón sin condiciones y nombre el error: «Sentimos haberle [cobrado dos veces].»",
        "en": "Apologise without conditions and name the mistake: \u201cWe are sorry we [charged you twice].\u201d",
    },
    "vague_time": {
        "es": "Dé una fecha y hora concretas: «… antes del [jueves 12] a las [14:00].»",
        "en": "Give a concrete date and time: \u201c\u2026 by [Thursday 12th] at [2 pm].\u201d",
    },
    "over_promise": {
        "es": "Prometa solo lo que controla: «Hemos cambiado [proceso] para evitar que se repita y lo revisaremos el [fecha].»",
        "en": "Promise only what you control: \u201cWe have changed [process] to prevent a repeat and will check it on [date].\u201d",
    },
    "jargon": {
        "es": "Use palabras del cliente: explique qué pasará y cuándo, sin siglas ni términos internos.",
        "en": "Use the customer's words: say what will happen and when, without internal terms or acronyms.",
    },
}

MISSING_ELEMENT_TIPS: dict[str, dict[str, str]] = {
    "acknowledgement": {
        "es": "Reconozca el problema con sus palabras: «Tiene razón, le cobramos dos veces.»",
        "en": "Acknowledge the problem in plain words: \u201cYou are right, we charged you twice.\u201d",
    },
    "apology": {
        "es": "Pida perdón de forma directa: «Lo sentimos mucho.»",
        "en": "Apologise directly: \u201cWe are very sorry.\u201d",
    },
    "empathy": {
        "es": "Muestre que entiende el impacto: «Imagino lo frustrante que ha sido.»",
        "en": "Show you understand the impact: \u201cI can imagine how frustrating this has been.\u201d",
    },
    "explanation": {
        "es": "Explique brevemente qué pasó: «Se debió a un error en nuestra facturación.»",
        "en": "Briefly explain what happened: \u201cThis happened because of an error in our billing.\u201d",
    },
    "remedy": {
        "es": "Diga cómo lo arregla: «Le reembolsamos el importe hoy mismo.»",
        "en": "Say how you fix it: \u201cWe are refunding the amount today.\u201d",
    },
    "concrete_time": {
        "es": "Ponga fecha: «antes del viernes a las 14:00».",
        "en": "Add a date: \u201cby Friday at 2 pm\u201d.",
    },
    "next_step": {
        "es": "Diga el siguiente paso: «Le llamaré mañana para confirmarlo.»",
        "en": "State the next step: \u201cI will call you tomorrow to confirm.\u201d",
    },
    "thanks": {
        "es": "Agradezca el aviso: «Gracias por contárnoslo.»",
        "en": "Thank them for telling you: \u201cThank you for letting us know.\u201d",
    },
}


@dataclass(slots=True)
class Evidence:
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "span": [self.start, self.end]}


@dataclass(slots=True)
class ElementResult:
    name: str
    present: bool
    evidence: list[Evidence] = field(default_factory=list)
    tip: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "present": self.present,
            "evidence": [e.to_dict() for e in self.evidence],
            "tip": self.tip,
        }


@dataclass(slots=True)
class AntiPattern:
    kind: str
    text: str
    start: int
    end: int
    suggestion: str
    suggestions: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "span": [self.start, self.end],
            "suggestion": self.suggestion,
            "suggestions": dict(self.suggestions),
        }


@dataclass(slots=True)
class CoachReport:
    language: str
    score: int
    elements: list[ElementResult]
    anti_patterns: list[AntiPattern]
    truncated: bool = False
    analyzer: str = NAME
    version: str = VERSION

    @property
    def present(self) -> list[str]:
        return [e.name for e in self.elements if e.present]

    @property
    def missing(self) -> list[str]:
        return [e.name for e in self.elements if not e.present]

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "score": self.score,
            "present": self.present,
            "missing": self.missing,
            "elements": [e.to_dict() for e in self.elements],
            "anti_patterns": [a.to_dict() for a in self.anti_patterns],
            "truncated": self.truncated,
            "analyzer": self.analyzer,
            "version": self.version,
        }


def _find(pattern: re.Pattern[str], prepared: PreparedText) -> list[Evidence]:
    out: list[Evidence] = []
    for m in pattern.finditer(prepared.folded):
        if m.end() <= m.start():
            continue
        start, end = m.start(), m.end()
        # trim whitespace that optional groups may have swallowed
        while start < end and prepared.text[start].isspace():
            start += 1
        while end > start and prepared.text[end - 1].isspace():
            end -= 1
        out.append(Evidence(prepared.text[start:end], start, end))
    return out


_REF_TIME = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)  # a Wednesday; only presence matters


def coach_reply(text: str, language: str | None = None) -> CoachReport:
    """Score one outbound reply or draft against the service-recovery protocol."""
    prepared = prepare(text)
    lang = language or detect_language(prepared.text).code
    tip_lang = rule_language(lang)
    elements: list[ElementResult] = []
    anti: list[AntiPattern] = []

    for kind, pattern in ANTI_PATTERNS.items():
        for ev in _find(pattern, prepared):
            if kind == "vague_time":
                continue  # handled per sentence below
            anti.append(
                AntiPattern(
                    kind, ev.text, ev.start, ev.end, SUGGESTIONS[kind][tip_lang], SUGGESTIONS[kind]
                )
            )

    # Concrete times and vague ones, sentence by sentence.
    concrete: list[Evidence] = []
    zone = ZoneInfo("UTC")
    for m in _SENTENCE.finditer(prepared.folded):
        sent_f = m.group(0)
        if not sent_f.strip():
            continue
        due = resolve_due(
            sent_f, m.start(), _REF_TIME, zone, DEFAULT_CALENDAR, month_first=(tip_lang == "en")
        )
        if due is not None:
            concrete.append(Evidence(prepared.text[due.start : due.end], due.start, due.end))
            continue
        for vm in _VAGUE.finditer(sent_f):
            s, e = m.start() + vm.start(), m.start() + vm.end()
            anti.append(
                AntiPattern(
                    "vague_time",
                    prepared.text[s:e],
                    s,
                    e,
                    SUGGESTIONS["vague_time"][tip_lang],
                    SUGGESTIONS["vague_time"],
                )
            )

    conditional_spans = [(a.start, a.end) for a in anti if a.kind == "conditional_apology"]
    commitments = extract_commitments(prepared.text, _REF_TIME, "UTC", language=tip_lang)
    for name in ELEMENT_WEIGHTS:
        if name == "concrete_time":
            evidence = concrete
        elif name == "next_step":
            evidence = [Evidence(c.trigger, c.start, c.end) for c in commitments]
        else:
            evidence = _find(ELEMENT_PATTERNS[name], prepared)
            if name == "apology":
                evidence = [
                    e
                    for e in evidence
                    if not any(
                        s <= e.start < t or e.start <= s < e.end for s, t in conditional_spans
                    )
                ]
        present = bool(evidence)
        elements.append(
            ElementResult(
                name, present, evidence, None if present else MISSING_ELEMENT_TIPS[name][tip_lang]
            )
        )

    anti.sort(key=lambda a: (a.start, a.kind))
    score = sum(ELEMENT_WEIGHTS[e.name] for e in elements if e.present)
    jargon_penalty = 0
    seen: set[str] = set()
    for a in anti:
        if a.kind == "jargon":
            jargon_penalty = min(jargon_penalty + ANTI_PATTERN_PENALTIES["jargon"], 15)
            continue
        if a.kind in seen:
            continue
        seen.add(a.kind)
        score -= ANTI_PATTERN_PENALTIES[a.kind]
    score -= jargon_penalty
    if not prepared.text.strip():
        score = 0
    return CoachReport(
        language=lang,
        score=max(0, min(100, score)),
        elements=elements,
        anti_patterns=anti,
        truncated=prepared.truncated,
    )
