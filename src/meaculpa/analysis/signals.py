# ruff: noqa: E501  (pattern tables: one regex alternative per line reads better than split strings)
"""Rule signals for inbound messages: escalation, profanity, shouting, urgency.

Patterns are written lower case without accents and run over the folded text (see
``text.fold``), so each match's span points into the original message. Spanish and English
patterns both run on every message: customers mix languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .text import PreparedText, letters_ratio_upper

NAME = "signals"
VERSION = "1.0.0"


@dataclass(slots=True)
class Signal:
    """One escalation signal: its kind and the words that triggered it."""

    kind: str
    trigger: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "trigger": self.trigger, "span": [self.start, self.end]}


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


_B = r"\b"

ESCALATION_PATTERNS: dict[str, re.Pattern[str]] = {
    "cancel_or_leave": _rx(
        r"\b(?:me\s+doy|darme|me\s+dare|nos\s+damos)\s+de\s+baja\b",
        r"\b(?:dar|solicito\s+la|pido\s+la|tramitar\s+la)\s+(?:de\s+)?baja\b",
        r"\b(?:cancelar|cancelare|cancelo|anular|rescindir|rescindo)\s+(?:mi|el|la|mis|los|de\s+una\s+vez\s+)?\s*"
        r"(?:contrato|cuenta|suscripcion|pedido|servicio|tarjeta|poliza|linea|reserva|seguro)",
        r"\b(?:me\s+(?:voy|paso|cambio)|cambiarme|irme)\s+(?:a\s+(?:la|otra)\s+)?(?:competencia|otra\s+compania|otro\s+banco|otra\s+empresa|otro\s+operador)",
        r"\bno\s+(?:vuelvo|volvere|pienso\s+volver)\s+a\s+(?:comprar|contratar|volar|pedir|confiar)",
        r"\b(?:perdeis|han\s+perdido|habeis\s+perdido|acaban\s+de\s+perder|perderan)\s+(?:a\s+)?un\s+cliente",
        r"\b(?:cancel|close|terminate)\s+(?:my|the|our)\s+(?:account|subscription|order|service|contract|membership|card|policy|plan|booking)",
        r"\bi(?:'m|\s+am)\s+(?:cancel+ing|leaving|switching|done\s+with\s+you)",
        r"\b(?:switch(?:ing)?|moving|going)\s+to\s+(?:a\s+)?(?:another|a\s+different|your\s+competitor|the\s+competition)",
        r"\btake\s+my\s+(?:business|money)\s+(?:elsewhere|somewhere\s+else)",
        r"\bnever\s+(?:again\s+)?(?:buy|buying|fly|flying|order|ordering|shop|shopping|use|using|book|booking)\b[^.!?\n]{0,40}\bagain\b",
        r"\bnever\s+again\b",
        r"\b(?:you(?:'ve|\s+have|\s+just)?\s+)?lost\s+(?:a|another|one)\s+(?:loyal\s+)?customer",
    ),
    "regulator": _rx(
        r"\bomic\b",
        r"\b(?:oficina|direccion\s+general|instituto|agencia)\s+(?:municipal\s+)?(?:de|del)\s+(?:informacion\s+al\s+)?consum(?:o|idor)\b",
        r"\bhojas?\s+de\s+reclamaci(?:on|ones)\b",
        r"\blibro\s+de\s+reclamaciones\b",
        r"\b(?:aesa|cnmc|cnmv|aepd|profeco|sernac|indecopi|procon)\b",
        r"\bbanco\s+de\s+espana\b",
        r"\bdefensor\s+del\s+(?:cliente|pueblo|consumidor|asegurado)\b",
        r"\barbitraje\s+de\s+consumo\b",
        r"\bproteccion\s+de\s+datos\b",
        r"\b(?:cfpb|ftc|fcc|bbb|ofcom|ofgem|fca|ico)\b",
        r"\bconsumer\s+financial\s+protection\b",
        r"\bbetter\s+business\s+bureau\b",
        r"\battorney\s+general\b",
        r"\bombudsman\b",
        r"\btrading\s+standards\b",
        r"\b(?:department|dept\.?)\s+of\s+transportation\b",
        r"\bregulators?\b|\bregulador(?:es)?\b",
        r"\b(?:report|reporting)\s+(?:you|this|this\s+company|your\s+company)\s+to\s+(?:the\s+)?(?:authorities|regulator)",
    ),
    "consumer_association": _rx(
        r"\b(?:facua|ocu|adicae|asufin|usuarios\s+de\s+banca)\b",
        r"\basociaci(?:on|ones)\s+de\s+(?:consumidores|usuarios)\b",
        r"\bconsumer\s+(?:association|group|rights\s+group|organi[sz]ation|watchdog)s?\b",
        r"\bwhich\?\s",
        r"\bconsumer\s+reports\b",
    ),
    "lawyer": _rx(
        r"\babogad[oa]s?\b",
        r"\b(?:demanda|demandar\w*|demandare|demandaremos|querella)\b",
        r"\b(?:juzgado|juicio|tribunal(?:es)?|via\s+judicial|acciones?\s+legales?|medidas\s+legales)\b",
        r"\b(?:lawyers?|attorneys?|solicitors?|legal\s+action|legal\s+counsel|small\s+claims|lawsuit|class\s+action)\b",
        r"\b(?:sue|suing)\s+(?:you|them|your|the|this)\b",
        r"\btake\s+(?:you|this|it)\s+to\s+court\b",
        r"\bsee\s+you\s+in\s+court\b",
    ),
    "press_or_social": _rx(
        r"\b(?:prensa|periodic[oa]s?|periodistas?|television|la\s+tele|medios\s+de\s+comunicacion)\b",
        r"\bredes\s+sociales\b",
        r"\b(?:lo\s+)?(?:publicare|contare|difundire|subire|pondre)\b[^.!?\n]{0,40}\b(?:redes|twitter|facebook|instagram|tiktok|internet|todas\s+partes|google|resenas?)\b",
        r"\b(?:hacer|hacerlo|se\s+hara)\s+viral\b",
        r"\b(?:mala|pesima)\s+resena\b|\b1\s+estrella\b|\buna\s+estrella\b",
        r"\b(?:press|newspapers?|journalists?|reporters?|the\s+media|news\s+channel|tv\s+station)\b",
        r"\bsocial\s+media\b",
        r"\bgo(?:ing)?\s+viral\b",
        r"\b(?:post|posting|share|sharing|tweet|tweeting)\s+(?:this|it|about\s+this)\s+(?:everywhere|on\s+(?:twitter|facebook|instagram|tiktok|reddit|every))",
        r"\b(?:bad|terrible|1[- ]star|one[- ]star)\s+reviews?\b",
        r"\b(?:trustpilot|yelp|tripadvisor)\b",
    ),
    "repeat_contact": _rx(
        r"\b(?:es\s+la\s+|por\s+|ya\s+van\s+|van\s+)?(?:segunda|tercera|cuarta|quinta|enesima|\d+a?)\s+vez\s+que\s+(?:os\s+|les\s+|le\s+|te\s+)?(?:escribo|llamo|reclamo|contacto|pregunto|pido|lo\s+digo|me\s+quejo)",
        r"\bya\s+(?:os\s+|les\s+|le\s+|te\s+)?(?:he|hemos)\s+(?:escrito|llamado|reclamado|contactado|pedido)\s+(?:\d+|dos|tres|cuatro|cinco|varias|muchas|mil|un\s+monton\s+de)\s+veces\b",
        r"\b(?:\d+|dos|tres|cuatro|cinco|varias|muchas|mil)\s+veces\b",
        r"\bsigo\s+(?:esperando|sin)\b",
        r"\b(?:nadie|ninguno)\s+(?:me|nos)\s+(?:responde|contesta|ha\s+respondido|ha\s+contestado|da\s+solucion)",
        r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th))\s+time\s+(?:i(?:'ve|\s+have|\s+am|'m)?\s+)?(?:writ|call|contact|email|messag|ask|report|complain|tweet|reach)\w*",
        r"\b(?:\d+|two|three|four|five|several|multiple|many|countless|numerous|so\s+many)\s+times\b",
        r"\bstill\s+(?:waiting|no\s+(?:answer|response|reply|refund|one))\b",
        r"\b(?:no\s+one|nobody)\s+(?:has\s+)?(?:answered|responded|replied|gets?\s+back|got\s+back|helps?|called)",
        r"\bagain\s+and\s+again\b|\bover\s+and\s+over\b",
        r"\byet\s+again\b|\bonce\s+again\b|\bde\s+nuevo\b|\botra\s+vez\b",
    ),
}

# Profanity: whole words only. Ambiguous everyday Spanish words ("coger", "concha", "polla"
# in Chile means lottery...) are left out on purpose.
_PROFANITY_WORDS = (
    # es
    "mierda",
    "joder",
    "jodido",
    "jodida",
    "jodidos",
    "puta",
    "puto",
    "putos",
    "putas",
    "cabron",
    "cabrones",
    "cabrona",
    "gilipollas",
    "hostia",
    "hostias",
    "coño",
    "cojones",
    "carajo",
    "pendejo",
    "pendejos",
    "chingada",
    "chingar",
    "mamones",
    "capullo",
    "capullos",
    "imbecil",
    "imbeciles",
    "idiota",
    "idiotas",
    "estupido",
    "estupidos",
    "ladrones",
    "sinverguenzas",
    "sinverguenza",
    "timadores",
    "estafadores",
    "me cago",
    "hijos de puta",
    "malditos",
    "maldita sea",
    "tomadura de pelo",
    "verguenza",
    # en
    "fuck",
    "fucking",
    "fucked",
    "fck",
    "f\\*+k",
    "f\\*+cking",
    "shit",
    "shitty",
    "bullshit",
    "crap",
    "crappy",
    "damn",
    "goddamn",
    "dammit",
    "ass",
    "asshole",
    "assholes",
    "bastard",
    "bastards",
    "bitch",
    "idiot",
    "idiots",
    "morons",
    "moron",
    "stupid",
    "scam",
    "scammers",
    "thieves",
    "wtf",
    "hell",
    "pissed",
    "piss",
    "sucks",
    "screw you",
    "disgrace",
)
PROFANITY = re.compile(
    r"(?<![\w])(?:"
    + "|".join(w.replace("ñ", "n").replace(" ", r"\s+") for w in _PROFANITY_WORDS)
    + r")(?![\w])"
)
# Words that sound rude but are mild or routine in complaints are "soft": still a signal
# of frustration, not reported as profanity.
_SOFT_PROFANITY = {
    "verguenza",
    "tomadura de pelo",
    "stupid",
    "scam",
    "hell",
    "disgrace",
    "sucks",
    "estupido",
    "estupidos",
    "damn",
    "crap",
    "crappy",
    "ladrones",
    "thieves",
    "timadores",
    "estafadores",
    "scammers",
    "sinverguenzas",
    "sinverguenza",
}

URGENCY = _rx(
    r"\burgent[e]?(?:mente)?\b|\burgencia\b|\burgently\b",
    r"\basap\b|\bcuanto\s+antes\b|\blo\s+antes\s+posible\b|\bas\s+soon\s+as\s+possible\b",
    r"\b(?:ya\s+mismo|ahora\s+mismo|hoy\s+mismo|inmediatamente|de\s+inmediato|right\s+now|immediately|right\s+away)\b",
    r"\b(?:emergencia|emergency)\b",
    r"\b(?:sin|no\s+tengo|no\s+tenemos)\s+(?:luz|agua|gas|calefaccion|internet|linea|telefono|conexion)\b",
    r"\b(?:no|without)\s+(?:power|electricity|water|heating|internet|phone\s+line|connection)\b",
    r"\b(?:manana|hoy|esta\s+noche|tomorrow|today|tonight)\b[^.!?\n]{0,30}\b(?:viajo|vuelo|boda|operacion|flight|wedding|surgery|travel(?:l?ing)?)\b",
    r"\b(?:viajo|vuelo|flight|leave|leaving)\b[^.!?\n]{0,25}\b(?:manana|hoy|tomorrow|today|tonight|in\s+\d+\s+hours?)\b",
    r"\b(?:deadline|fecha\s+limite|plazo\s+vence|vence\s+hoy|expires?\s+today)\b",
    r"\b(?:cobrado|cobro|charged)\s+(?:dos\s+veces|twice|double)\b",
    r"\bme\s+han\s+(?:cortado|cobrado)\b|\bcut\s+off\b",
)

ANGER_CUES = _rx(
    r"\b(?:indignad[oa]s?|harto|harta|hartos|furios[oa]s?|cabread[oa]s?|enfadad[oa]s?|enojad[oa]s?|cansad[oa]\s+de)\b",
    r"\b(?:vergonzoso|inaceptable|intolerable|lamentable|penoso|pesimo|pesima|nefasto|horrible|asqueroso|indignante|una\s+estafa|un\s+robo|estafa)\b",
    r"\b(?:furious|livid|outraged|fed\s+up|sick\s+(?:and\s+tired\s+)?of|angry|pissed\s+off|infuriat\w*|frustrat\w*|disgusted|appalled)\b",
    r"\b(?:unacceptable|disgraceful|ridiculous|pathetic|outrageous|joke|useless|incompetent|worst|terrible|horrible|awful|shameful|rip[- ]?off)\b",
    r"\b(?:inutiles?|incompetentes?|ridiculo|una\s+broma|un\s+chiste|de\s+risa|tomando\s+el\s+pelo|una\s+tomadura)\b",
    "[\U0001f620\U0001f621\U0001f92c\U0001f624\U0001f4a2\U0001f44e\U0001f47f\U0001f595]",
)

POSITIVE_CUES = _rx(
    r"\b(?:gracias|agradezco|agradecid[oa]|encantad[oa]|genial|estupend[oa]|excelente|perfecto|maravillos[oa]|fantastic[oa]|increible\s+servicio|muy\s+amables?|de\s+10|felicidades|enhorabuena)\b",
    r"\b(?:thanks?|thank\s+you|thx|appreciate|grateful|great|excellent|amazing|awesome|perfect|wonderful|fantastic|love|lovely|brilliant|kudos|impressed|helpful|superb)\b",
    "[\U0001f60d\U0001f44d\U0001f60a\U0001f64f\u2764\U0001f970\U0001f600\U0001f601\U0001f603\U0001f642\U0001f44f\U0001f389\U0001f4af\u263a\U0001f618\U0001f917]",
)

# Keywords that are a signal only with some context before them ("iré a Consumo" yes,
# "el consumo de datos" no). The trigger reported is the keyword itself.
CONTEXT_KEYWORDS: dict[str, list[tuple[re.Pattern[str], re.Pattern[str]]]] = {
    "regulator": [
        (
            re.compile(r"\bconsumo\b"),
            re.compile(
                r"\b(?:denunci\w*|reclam\w*|queja\w*|acudir\w*|acudo|ir|ire|voy|vamos|hoja|oficina|omic)\b"
                r"[^.!?\n]{0,60}$"
            ),
        ),
    ],
}

_CAPS_WORD = re.compile(r"\b[^\W\d_]{3,}\b")


def _collect(pattern: re.Pattern[str], prepared: PreparedText, kind: str) -> list[Signal]:
    out = []
    for m in pattern.finditer(prepared.folded):
        out.append(Signal(kind, prepared.text[m.start() : m.end()], m.start(), m.end()))
    return out


def escalation_signals(prepared: PreparedText) -> list[Signal]:
    """All escalation signals, sorted by position, overlapping ones of one kind merged."""
    signals: list[Signal] = []
    for kind, pattern in ESCALATION_PATTERNS.items():
        last_end = -1
        for sig in _collect(pattern, prepared, kind):
            if sig.start < last_end:
                continue
            signals.append(sig)
            last_end = sig.end
        for keyword, context in CONTEXT_KEYWORDS.get(kind, []):
            for m in keyword.finditer(prepared.folded):
                window = prepared.folded[max(0, m.start() - 80) : m.start()]
                if context.search(window) and not any(
                    s.start <= m.start() < s.end for s in signals
                ):
                    signals.append(
                        Signal(kind, prepared.text[m.start() : m.end()], m.start(), m.end())
                    )
    for m in PROFANITY.finditer(prepared.folded):
        word = re.sub(r"\s+", " ", m.group(0))
        if word in _SOFT_PROFANITY:
            continue
        signals.append(Signal("profanity", prepared.text[m.start() : m.end()], m.start(), m.end()))
    signals.extend(shouting_signals(prepared))
    signals.sort(key=lambda s: (s.start, s.kind))
    return signals


def shouting_signals(prepared: PreparedText) -> list[Signal]:
    """SHOUTING: runs of upper-case words.

    A run of three or more consecutive all-caps words is shouting; in a text written mostly
    in capitals every run of two or more is. Acronyms alone (OMIC, DNI, USA) do not count.
    """
    text = prepared.text
    caps = [m for m in _CAPS_WORD.finditer(text) if m.group(0).isupper()]
    if len(caps) < 2:
        return []
    mostly_caps = letters_ratio_upper(text) >= 0.5
    runs: list[tuple[int, int, int]] = []
    run_start, run_end, count = caps[0].start(), caps[0].end(), 1
    for m in caps[1:]:
        if not any(ch.islower() for ch in text[run_end : m.start()]):
            run_end = m.end()
            count += 1
            continue
        runs.append((run_start, run_end, count))
        run_start, run_end, count = m.start(), m.end(), 1
    runs.append((run_start, run_end, count))
    needed = 2 if mostly_caps else 3
    return [Signal("shouting", text[a:b], a, b) for a, b, n in runs if n >= needed]


def count_matches(pattern: re.Pattern[str], folded: str) -> int:
    return sum(1 for _ in pattern.finditer(folded))


def soft_profanity_count(folded: str) -> int:
    return sum(
        1 for m in PROFANITY.finditer(folded) if re.sub(r"\s+", " ", m.group(0)) in _SOFT_PROFANITY
    )


def urgency_triggers(prepared: PreparedText) -> list[Signal]:
    return _collect(URGENCY, prepared, "urgency")


RULE_FEATURE_NAMES = (
    "anger_cues",
    "positive_cues",
    "profanity",
    "soft_profanity",
    "shouting",
    "exclamations",
    "questions",
    "escalation_kinds",
    "repeat_contact",
    "urgency",
)


def rule_features(prepared: PreparedText, signals: list[Signal]) -> list[float]:
    """Small numeric vector of rule signals appended to the embedding for the model."""
    folded = prepared.folded
    kinds = {s.kind for s in signals}
    legal = {"cancel_or_leave", "regulator", "consumer_association", "lawyer", "press_or_social"}
    text = prepared.text
    return [
        min(count_matches(ANGER_CUES, folded), 3) / 3.0,
        min(count_matches(POSITIVE_CUES, folded), 3) / 3.0,
        1.0 if "profanity" in kinds else 0.0,
        min(soft_profanity_count(folded), 2) / 2.0,
        1.0 if "shouting" in kinds else 0.0,
        min(text.count("!"), 5) / 5.0,
        min(text.count("?"), 5) / 5.0,
        min(len(kinds & legal), 3) / 3.0,
        1.0 if "repeat_contact" in kinds else 0.0,
        1.0 if URGENCY.search(folded) else 0.0,
    ]
