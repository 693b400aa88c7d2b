# ruff: noqa: E501  (pattern tables: one regex alternative per line reads better than split strings)
"""Commitment extraction from outbound replies (es/en), with due times resolved.

A commitment is a sentence where the company says it will do something: call back, write,
refund, deliver, visit, update or investigate. For each one this module says whether it
depends on the customer acting first ("si nos envía el ticket…", "DM us and we'll…") and
resolves the due time against the reply's send time, the customer's time zone and a
:class:`~meaculpa.analysis.calendar.BusinessCalendar` (working days, hours, holidays).

Pure rules (no Duckling): business days need our own calendar logic anyway, and the
measured figures are in ``docs/analysis.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .calendar import DEFAULT_CALENDAR, BusinessCalendar
from .text import prepare

NAME = "commitments"
VERSION = "1.0.0"

ACTIONS = ("call_back", "write", "refund", "deliver", "visit", "update", "investigate")

_WE_WILL_EN = r"(?:we(?:'ll|\s+will|\s+shall|'re\s+going\s+to|\s+are\s+going\s+to|\s+can|\s+could|'d\s+be\s+happy\s+to|\s+would\s+be\s+happy\s+to|\s+need\s+to|'ll\s+be\s+sure\s+to)|i(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|\s+can|'d\s+be\s+happy\s+to)|(?:our|a|the)\s+(?:team|agent|specialist|colleague|manager|supervisor|department)s?\s+(?:will|can|is\s+going\s+to)|someone\s+(?:will|from\s+our\s+team\s+will)|happy\s+to)\s+(?:also\s+|then\s+|now\s+|gladly\s+|personally\s+|definitely\s+|be\s+able\s+to\s+|surely\s+)?"
_WE_ES = r"(?:(?:le|les|te|os|se\s+lo|se\s+la|se\s+los|lo|la)\s+)?"

ACTION_PATTERNS: dict[str, re.Pattern[str]] = {
    "call_back": re.compile(
        r"\b(?:"
        + _WE_ES
        + r"(?:llamaremos|llamare|volveremos\s+a\s+llamar|devolveremos\s+la\s+llamada)"
        r"|(?:vamos|voy)\s+a\s+(?:llamar(?:le|te|les|os)?|devolver(?:le|te)?\s+la\s+llamada)"
        r"|(?:recibira|recibiras|recibiran)\s+una\s+llamada"
        r"|(?:un|una|nuestro|nuestra)\s+(?:agente|tecnico|gestor|gestora|companer[oa]|asesor|asesora)\s+(?:le|te)\s+llamara"
        r"|" + _WE_WILL_EN + r"(?:call|ring|phone|give\s+you\s+a\s+(?:call|ring))(?:\s+you)?\b"
        r"|you(?:'ll|\s+will)\s+(?:receive|get)\s+a\s+(?:phone\s+)?call)"
    ),
    "refund": re.compile(
        r"\b(?:"
        + _WE_ES
        + r"(?:reembolsaremos|reintegraremos|abonaremos"
        r"|(?:devolveremos|devolvemos)\s+(?:el|su|tu|los|las|la)\s+(?:dinero|importe|cargo|cobro|pago|cantidad|cargos|cobros|diferencia)"
        r"|(?:devolveremos|devolvemos|reembolsamos|abonamos)\s+(?:(?:el|los|las|la)\s+)?\d[\d.,]*\s*(?:€|eur\b|euros?\b))"
        r"|(?:vamos|voy)\s+a\s+(?:reembolsar|abonar|reintegrar|devolver(?:le|te)?\s+(?:el|su|tu)\s+(?:dinero|importe))"
        r"|procederemos\s+(?:a\s+|al\s+)(?:reembolso|abono|devolucion|reembolsar|abonar)"
        r"|(?:recibira|recibiras|vera|veras)\s+(?:el|su|tu)\s+(?:reembolso|abono|devolucion)"
        r"|"
        + _WE_WILL_EN
        + r"(?:refund|reimburse|credit|issue\s+(?:you\s+)?(?:a|the|your|a\s+full)\s+(?:refund|credit)|process\s+(?:a|the|your)\s+refund)"
        r"|(?:the|your|a)\s+(?:full\s+)?refund\s+will\s+be\s+(?:processed|issued|credited|sent)"
        r"|you(?:'ll|\s+will)\s+(?:receive|get|see)\s+(?:a|the|your|a\s+full)\s+(?:refund|credit|reimbursement))"
    ),
    "deliver": re.compile(
        r"\b(?:"
        + _WE_ES
        + r"(?:enviaremos|mandaremos|entregaremos|remitiremos)\s+(?:un|una|el|la|su|tu|otro|otra|el\s+nuevo|la\s+nueva)\s+(?:nuevo\s+|nueva\s+)?(?:pedido|paquete|producto|recambio|repuesto|sustituto|reemplazo|unidad|articulo|dispositivo|tarjeta|equipo|router|terminal)"
        r"|(?:su|tu)\s+(?:pedido|paquete|envio|producto)\s+(?:le\s+|te\s+)?(?:llegara|sera\s+entregado|se\s+entregara|saldra)"
        r"|(?:recibira|recibiras)\s+(?:su|tu|el|un|una|la)\s+(?:nuevo\s+|nueva\s+)?(?:pedido|paquete|producto|recambio|repuesto|sustituto|reemplazo|unidad|tarjeta)"
        r"|"
        + _WE_WILL_EN
        + r"(?:ship|send|deliver|dispatch|mail)\s+(?:you\s+|out\s+)?(?:a|an|the|your)\s+(?:new\s+|free\s+)?(?:replacement|order|package|parcel|item|unit|card|device|router|product|part)"
        r"|(?:your|the)\s+(?:order|package|parcel|replacement|item|delivery)\s+(?:will|should)\s+(?:arrive|be\s+delivered|ship|be\s+shipped|be\s+dispatched|reach\s+you)"
        r"|we(?:'re|\s+are|\s+will\s+be)\s+(?:introducing|releasing|rolling\s+out|shipping|launching)\s+(?:an?|the)\s+(?:fix|update|patch|new|\w+\s+(?:app|update|fix|version))"
        r"|(?:lanzaremos|publicaremos)\s+(?:una|un)\s+(?:actualizacion|correccion|version))"
    ),
    "visit": re.compile(
        r"\b(?:(?:un|una|nuestro|nuestra|el|la)\s+(?:tecnico|tecnica|instalador|instaladora|operario|equipo\s+tecnico)\s+(?:le\s+|te\s+)?(?:visitara|ira|pasara|acudira|se\s+desplazara)"
        r"|"
        + _WE_ES
        + r"(?:visitaremos|pasaremos\s+por\s+(?:su|tu)\s+(?:domicilio|casa|local|oficina))"
        r"|(?:vamos|voy)\s+a\s+(?:enviar(?:le|te)?|mandar(?:le|te)?)\s+(?:a\s+)?un\s+tecnico"
        r"|" + _WE_ES + r"(?:enviaremos|mandaremos)\s+(?:a\s+)?un\s+tecnico"
        r"|(?:a|an|our|the)\s+(?:technician|engineer|installer|field\s+tech)\s+(?:will|is\s+going\s+to)\s+(?:visit|come|be\s+(?:there|at\s+your))"
        r"|"
        + _WE_WILL_EN
        + r"(?:send|schedule|book|arrange)\s+(?:a|an)\s+(?:technician|engineer|installer|visit|appointment))"
    ),
    "update": re.compile(
        r"\b(?:" + _WE_ES + r"(?:mantendremos|mantendre)\s+informad[oa]s?"
        r"|"
        + _WE_ES
        + r"(?:informaremos|confirmaremos|avisaremos|actualizaremos|comunicaremos|notificaremos|daremos\s+(?:una\s+)?respuesta|diremos\s+algo)"
        r"|(?:vamos|voy)\s+a\s+(?:informar(?:le|te)?|confirmar(?:le|te)?|avisar(?:le|te)?)"
        r"|"
        + _WE_WILL_EN
        + r"(?:keep\s+you\s+(?:posted|updated|informed|in\s+the\s+loop)|update\s+you|provide\s+(?:you\s+with\s+)?(?:an\s+)?update|let\s+you\s+know|confirm|notify\s+you|inform\s+you|advise\s+you))"
    ),
    "write": re.compile(
        r"\b(?:"
        + _WE_ES
        + r"(?:escribiremos|responderemos|contestaremos|enviaremos\s+(?:un|una|el|la)\s+(?:correo|email|e-mail|mensaje|mail|sms|respuesta|confirmacion|factura|presupuesto|enlace))"
        r"|nos\s+pondremos\s+en\s+contacto|me\s+pondre\s+en\s+contacto|(?:le|te)\s+contactaremos|(?:vamos|voy)\s+a\s+(?:escribir(?:le|te)?|contactar(?:le|te)?|responder(?:le|te)?)"
        r"|(?:le|te)\s+(?:volveremos|volvere)\s+a\s+escribir"
        r"|"
        + _WE_WILL_EN
        + r"(?:e-?mail|write\s+(?:to\s+)?(?:you|back)|message|dm|reply|respond|get\s+back\s+to|reach\s+(?:out|back)|follow\s+up|contact|send\s+(?:you\s+)?(?:an?\s+)?(?:e-?mail|message|dm|confirmation|invoice|link|quote))"
        r"|you(?:'ll|\s+will)\s+(?:receive|get|hear\s+back|hear\s+from\s+us)(?:\s+(?:an?|the)\s+(?:e-?mail|message|confirmation|response|reply))?"
        r"|(?:we|i)(?:'ll|\s+will)\s+(?:be\s+(?:glad|happy)\s+to\s+)?(?:assist|help)(?!\s+(?:you\s+)?(?:look|check|sort|figure))"
        r"|(?:we|i)(?:'d|\s+would)\s+be\s+(?:more\s+than\s+)?(?:happy|glad)\s+to\s+(?:assist|help)\s+you\s+personally"
        r"|they(?:'ll|\s+will)\s+(?:reply|respond|get\s+back\s+to\s+you|follow\s+up|contact\s+you)"
        r"|(?:looped\s+in|assigned|asked)\s+(?:an?\s+|our\s+)?(?:expert|specialist|agent|colleague)s?\s+to\s+(?:reply|respond|follow\s+up|contact\s+you)"
        r"|(?:le|te)\s+(?:atenderemos|ayudaremos))"
    ),
    "investigate": re.compile(
        r"\b(?:"
        + _WE_ES
        + r"(?:revisaremos|investigaremos|comprobaremos|analizaremos|estudiaremos|escalaremos|verificaremos|trasladaremos|consultaremos|miraremos)"
        r"|(?:vamos|voy)\s+a\s+(?:revisar(?:lo|la)?|investigar(?:lo)?|comprobar(?:lo)?|analizar(?:lo)?|estudiar(?:lo)?|escalar(?:lo)?|verificar(?:lo)?|mirar(?:lo)?|trasladar(?:lo)?)"
        r"|(?:estamos|estoy)\s+(?:revisando|investigando|comprobando|analizando|estudiando)"
        r"|"
        + _WE_WILL_EN
        + r"(?:look\s+into|investigate|check(?:\s+(?:on|into|this|that|it))?|review|escalate|examine|take\s+a\s+(?:closer\s+)?look|look\s+at|dig\s+into|pass\s+(?:this|it|that)\s+(?:on|along)|flag|raise|sort\s+(?:this|it)\s+out|help\s+(?:you\s+)?(?:look\s+into|check|sort|figure))"
        r"|we(?:'re|\s+are)\s+(?:currently\s+|actively\s+)?(?:looking\s+into|investigating|checking|reviewing|working\s+on|working\s+to\s+fix)"
        r"(?=\s+(?:this|it|that|these|your|the\s+(?:issue|problem|matter|case|error|outage))\b|\s*[.!,;]|\s*$)"
        r"|(?:we|i)(?:'ll|\s+will)\s+(?:see\s+if\s+we\s+can|pass\s+(?:along|on)|share\s+(?:your|this|the)\s+(?:thoughts|feedback|comments|interest))"
        r"|(?:team|engineers?)\s+(?:is|are)\s+(?:actively\s+|currently\s+)?(?:working\s+on|looking\s+into|investigating)"
        r"|they(?:'ll|\s+will)\s+(?:have\s+a\s+look|take\s+a\s+look|look\s+into|check|investigate)"
        r"|(?:we|i)(?:'ll|\s+will)\s+(?:send|forward|pass|escalate)\s+(?:that|this|it|your\s+\w+)\s+(?:on\s+)?to\s+(?:an?\s+|our\s+|the\s+)?(?:engineer|specialist|team|expert|department)s?)"
    ),
}

_NEGATION_BEFORE = re.compile(
    r"(?:\bno|\bnunca|\bnot|n't|\bnever|\bunable\s+to|\bwon't)\s+(?:\w+\s+){0,1}$|\bso\s+(?:that\s+)?$|\bpara\s+que\s+$"
)

_CONDITION = re.compile(
    r"\b(?:si\s+(?:nos|me|usted\s+nos|tu\s+nos)?\s*(?:envia|envias|facilita|facilitas|manda|mandas|indica|indicas|confirma|confirmas|escribe|escribes|remite|adjunta|devuelve|devuelves|llama|responde)"
    r"|una\s+vez\s+(?:que\s+)?(?:nos|recibamos|reciba|tengamos|usted|devuelva|haya)"
    r"|(?:cuando|en\s+cuanto|tan\s+pronto\s+como)\s+(?:nos\s+)?(?:envie|facilite|recibamos|tengamos|confirme|devuelva|nos\s+escriba|responda|nos\s+llegue|nos\s+mande)"
    r"|tras\s+(?:recibir|la\s+recepcion)|previa\s+(?:recepcion|entrega)"
    r"|(?:envienos|envianos|mandenos|mandanos|facilitenos|facilitanos|escribanos|escribenos|indiquenos|indicanos|remitanos|confirmenos|llamenos|contacte\s+con\s+nosotros)"
    r"|necesitamos\s+que|nos\s+(?:falta|hace\s+falta)"
    r"|if\s+you(?:'d)?\s+(?:could\s+|can\s+|would\s+|please\s+|like\s+to\s+|want\s+to\s+)?(?:send|dm|provide|share|reply|email|e-mail|give|let\s+us|confirm|follow|reach|contact|return|message|call|fill|submit|drop)"
    r"|once\s+(?:you(?:'ve|\s+have)?|we(?:'ve|\s+have)?\s+(?:received|got|get|receive|have))"
    r"|(?:when|after|as\s+soon\s+as)\s+you(?:'ve|\s+have)?\s+(?:send|sent|dm|provide|reply|return|confirm|get\s+back|contact|reach)"
    r"|upon\s+(?:receipt|receiving)|pending\s+(?:your|receipt)"
    r"|\b(?:please|pls|plz|kindly)\s+(?:\w+\s+){0,2}(?:dm|send|provide|share|reply|email|e-mail|follow|reach|contact|give|let\s+us|confirm|message|drop|fill|submit|call|open|create|sign\s+up|visit|complete)"
    r"|(?:sign\s+up|submit|open\s+a|create\s+a|provide|fill\s+(?:in|out))\b"
    r"|(?:dm|send|drop|message|email|e-mail|pm|shoot)\s+us\b"
    r"|(?:can|could|would)\s+you\s+(?:please\s+)?(?:send|dm|provide|share|confirm|reply|email|follow|reach|let\s+us|give|message)"
    r"|(?:reach|get)\s+(?:out\s+to|in\s+touch\s+with|back\s+to)\s+us\b|\bcontact\s+us\b|\bgive\s+us\s+a\s+(?:call|shout)"
    r"|we(?:'ll|\s+will)?\s+need\s+(?:you|your|some|more|a\s+few|the)\b)"
)

_VAGUE = re.compile(
    r"\b(?:pronto|en\s+breve|lo\s+antes\s+posible|cuanto\s+antes|a\s+la\s+mayor\s+brevedad|en\s+los\s+proximos\s+dias"
    r"|proximamente|en\s+cuanto\s+(?:podamos|sea\s+posible)|soon|shortly|asap|as\s+soon\s+as\s+(?:possible|we\s+can)"
    r"|in\s+the\s+(?:coming|next\s+few)\s+days|in\s+due\s+course|at\s+the\s+earliest|promptly|quickly)\b"
)

_NUM_WORDS = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "one": 1,
    "a": 1,
    "an": 1,
    "dos": 2,
    "two": 2,
    "tres": 3,
    "three": 3,
    "cuatro": 4,
    "four": 4,
    "cinco": 5,
    "five": 5,
    "seis": 6,
    "six": 6,
    "siete": 7,
    "seven": 7,
    "ocho": 8,
    "eight": 8,
    "nueve": 9,
    "nine": 9,
    "diez": 10,
    "ten": 10,
    "doce": 12,
    "twelve": 12,
    "quince": 15,
    "fifteen": 15,
    "veinte": 20,
    "twenty": 20,
    "treinta": 30,
    "thirty": 30,
    "cuarenta y ocho": 48,
    "veinticuatro": 24,
    "setenta y dos": 72,
    "forty-eight": 48,
    "forty eight": 48,
    "twenty-four": 24,
    "twenty four": 24,
    "seventy-two": 72,
    "seventy two": 72,
}
_NUM = (
    r"(\d{1,3}|"
    + "|".join(sorted((re.escape(k) for k in _NUM_WORDS), key=len, reverse=True))
    + r")"
)
_RANGE = r"(?:\s*(?:-|a|to|o|or|–)\s*" + _NUM + r")?"

_WEEKDAYS = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
}
_MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}

_PRE = r"(?:en(?:\s+un\s+(?:plazo|maximo)\s+de)?|dentro\s+de|en\s+(?:las|los)\s+(?:proximas|proximos|siguientes)|en\s+un\s+plazo\s+(?:maximo\s+)?de|plazo\s+de|maximo|within|in|in\s+the\s+next|over\s+the\s+next|no\s+later\s+than|up\s+to)"

_R_HOURS = re.compile(
    r"\b"
    + _PRE
    + r"\s+(?:unas\s+|about\s+|around\s+|approximately\s+|aproximadamente\s+)?"
    + _NUM
    + _RANGE
    + r"\s*(horas?|h|hrs?|hours?|minutos?|mins?|minutes?)\b"
)
_R_BUSDAYS = re.compile(
    r"\b(?:"
    + _PRE
    + r"\s+)?(?:unos\s+|about\s+|around\s+)?"
    + _NUM
    + _RANGE
    + r"\s+(?:dias?\s+(?:habiles|laborables|laborales)|(?:business|working)\s+days?)\b"
)
_R_DAYS = re.compile(
    r"\b"
    + _PRE
    + r"\s+(?:unos\s+|about\s+|around\s+)?"
    + _NUM
    + _RANGE
    + r"\s+(dias?|days?|semanas?|weeks?)\b"
)
_R_DAY_AFTER = re.compile(r"\b(?:pasado\s+manana|(?:the\s+)?day\s+after\s+tomorrow)\b")
_R_TOMORROW = re.compile(r"(?<!la\s)(?<!esta\s)(?<!de\s)(?<!por\s)\b(?:manana|tomorrow|tmrw|tmr)\b")
_R_TODAY = re.compile(
    r"\b(?:hoy(?:\s+mismo)?|a\s+lo\s+largo\s+del\s+dia|antes\s+de\s+que\s+(?:acabe|termine)\s+el\s+dia|esta\s+tarde|esta\s+noche"
    r"|today|tonight|this\s+(?:afternoon|evening|morning)|later\s+today|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(?:business\s+)?day|eod|cob)\b"
)
_R_WEEKDAY = re.compile(
    r"\b(?:(?:el|este|el\s+proximo|antes\s+del|para\s+el|hasta\s+el|by|on|this|next|before|until|no\s+later\s+than)\s+)?("
    + "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
    + r")\b"
)
_R_THIS_WEEK = re.compile(
    r"\b(?:esta\s+semana|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the|this)\s+week|this\s+week(?:end)?|(?:by|before)\s+the\s+weekend"
    r"|antes\s+del\s+(?:fin(?:al)?\s+de\s+(?:la\s+)?semana|fin\s+de\s+semana)|(?:para\s+)?este\s+fin\s+de\s+semana)\b"
)
_R_NEXT_WEEK = re.compile(r"\b(?:la\s+(?:proxima\s+semana|semana\s+que\s+viene)|next\s+week)\b")
_R_DATE_ES = re.compile(
    r"\b(\d{1,2})\s+de\s+("
    + "|".join(
        m
        for m in _MONTHS
        if len(m) > 4 or m in ("mayo", "julio", "junio", "enero", "marzo", "abril")
    )
    + r")\b"
)
_R_DATE_EN = re.compile(
    r"\b("
    + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b"
)
_R_DATE_EN2 = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?("
    + "|".join(sorted((m for m in _MONTHS if len(m) > 3), key=len, reverse=True))
    + r")\b"
)
_R_DATE_NUM = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_R_CLOCK = re.compile(
    r"\b(?:antes\s+de\s+las|a\s+las|hacia\s+las|sobre\s+las|hasta\s+las|before|by|at|around|until|no\s+later\s+than)\s+"
    r"(\d{1,2})(?:[:.h](\d{2}))?\s*(a\.?m\.?|p\.?m\.?|h|hrs)?\b"
)
_R_CLOCK_BARE = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?!\w)")
_R_NOON = re.compile(r"\b(?:mediodia|noon|midday)\b")
_R_MORNING = re.compile(
    r"\b(?:por\s+la\s+manana|de\s+la\s+manana|a\s+primera\s+hora|in\s+the\s+morning|first\s+thing|tomorrow\s+morning)\b"
)
_R_AFTERNOON = re.compile(r"\b(?:por\s+la\s+tarde|in\s+the\s+afternoon)\b")

_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+(?=\s|$)|\n|$)|[^\n]+?(?:\n|$)")


@dataclass(slots=True)
class Due:
    """A resolved due time (aware UTC), how it was read, and its source words."""

    at: datetime
    basis: str
    text: str
    start: int
    end: int


@dataclass(slots=True)
class Commitment:
    """One promise found in a reply."""

    action: str
    trigger: str
    start: int
    end: int
    sentence: str
    depends_on_customer: bool
    condition: str | None
    due_utc: datetime | None
    due_local: datetime | None
    due_text: str | None
    due_basis: str | None
    vague: bool
    timezone: str
    on_working_day: bool | None
    analyzer: str = NAME
    version: str = VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "trigger": self.trigger,
            "span": [self.start, self.end],
            "sentence": self.sentence,
            "depends_on_customer": self.depends_on_customer,
            "condition": self.condition,
            "due_utc": self.due_utc.isoformat() if self.due_utc else None,
            "due_local": self.due_local.isoformat() if self.due_local else None,
            "due_text": self.due_text,
            "due_basis": self.due_basis,
            "vague": self.vague,
            "timezone": self.timezone,
            "on_working_day": self.on_working_day,
            "analyzer": self.analyzer,
            "version": self.version,
        }


def _num(token: str | None) -> int | None:
    if token is None:
        return None
    token = token.strip()
    if token.isdigit():
        return int(token)
    return _NUM_WORDS.get(re.sub(r"\s+", " ", token))


def _hour(h: int, minute: int, suffix: str | None, cal: BusinessCalendar) -> time | None:
    suffix = (suffix or "").replace(".", "")
    if suffix == "pm" and h < 12:
        h += 12
    elif suffix == "am" and h == 12:
        h = 0
    elif not suffix.startswith(("a", "p")) and 1 <= h <= 7:
        h += 12  # "antes de las 5" in a business context is 17:00
    if not (0 <= h <= 23 and 0 <= minute <= 59):
        return None
    if h == 24:
        return None
    return time(h, minute)


def _clock(folded: str, cal: BusinessCalendar) -> tuple[time, re.Match[str]] | None:
    m = _R_CLOCK.search(folded)
    if m:
        t = _hour(int(m.group(1)), int(m.group(2) or 0), m.group(3), cal)
        if t is not None:
            return t, m
    m = _R_CLOCK_BARE.search(folded)
    if m:
        t = _hour(int(m.group(1)), int(m.group(2) or 0), m.group(3), cal)
        if t is not None:
            return t, m
    m = _R_NOON.search(folded)
    if m:
        return time(12, 0), m
    m = _R_MORNING.search(folded)
    if m:
        return time(12, 0), m
    m = _R_AFTERNOON.search(folded)
    if m:
        return cal.closes, m
    return None


def _at(day: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=tz).astimezone(UTC)


def resolve_due(
    folded: str,
    offset: int,
    sent_local: datetime,
    tz: ZoneInfo,
    calendar: BusinessCalendar,
    *,
    month_first: bool = False,
) -> Due | None:
    """Find and resolve the first due-time expression in one folded sentence."""
    today = sent_local.date()
    clock = _clock(folded, calendar)
    clock_t = clock[0] if clock else None

    def with_clock(day: date, default: time, m: re.Match[str], basis: str) -> Due:
        t = clock_t or default
        start, end = m.start(), m.end()
        if clock is not None:
            start, end = min(start, clock[1].start()), max(end, clock[1].end())
        return Due(_at(day, t, tz), basis, folded[start:end], offset + start, offset + end)

    m = _R_HOURS.search(folded)
    if m:
        amount = _num(m.group(2)) or _num(m.group(1))
        if amount:
            unit = m.group(3)
            delta = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
            return Due(
                (sent_local + delta).astimezone(UTC),
                "hours" if unit.startswith("h") else "minutes",
                m.group(0),
                offset + m.start(),
                offset + m.end(),
            )
    m = _R_BUSDAYS.search(folded)
    if m:
        amount = _num(m.group(2)) or _num(m.group(1))
        if amount is not None:
            day = calendar.add_working_days(today, amount)
            return with_clock(day, calendar.closes, m, "business_days")
    m = _R_DAYS.search(folded)
    if m:
        amount = _num(m.group(2)) or _num(m.group(1))
        if amount is not None:
            days = amount * 7 if m.group(3).startswith(("semana", "week")) else amount
            return with_clock(today + timedelta(days=days), calendar.closes, m, "days")
    m = _R_DAY_AFTER.search(folded)
    if m:
        return with_clock(today + timedelta(days=2), calendar.closes, m, "relative_day")
    m = _R_TOMORROW.search(folded)
    if m:
        return with_clock(today + timedelta(days=1), calendar.closes, m, "relative_day")
    m = _R_TODAY.search(folded)
    if m:
        default = (
            time(22, 0) if ("noche" in m.group(0) or "tonight" in m.group(0)) else calendar.closes
        )
        if "morning" in m.group(0):
            default = time(12, 0)
        return with_clock(today, default, m, "today")
    for rx, order in ((_R_DATE_ES, "dm"), (_R_DATE_EN, "md"), (_R_DATE_EN2, "dm")):
        m = rx.search(folded)
        if m:
            if order == "dm":
                day_n, month_n = int(m.group(1)), _MONTHS[m.group(2)]
            else:
                month_n, day_n = _MONTHS[m.group(1)], int(m.group(2))
            found = _date_in_future(today, month_n, day_n, None)
            if found:
                return with_clock(found, calendar.closes, m, "date")
    m = _R_DATE_NUM.search(folded)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        month_n, day_n = (a, b) if month_first else (b, a)
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        found = _date_in_future(today, month_n, day_n, year)
        if found:
            return with_clock(found, calendar.closes, m, "date")
    m = _R_WEEKDAY.search(folded)
    if m:
        target = _WEEKDAYS[m.group(1)]
        ahead = (target - today.weekday()) % 7 or 7
        if m.group(0).startswith("next") and ahead < 7 and target < today.weekday():
            ahead = ahead  # "next Monday" said on Thursday is the coming Monday
        return with_clock(today + timedelta(days=ahead), calendar.closes, m, "weekday")
    m = _R_THIS_WEEK.search(folded)
    if m:
        return with_clock(calendar.last_working_day_of_week(today), calendar.closes, m, "this_week")
    m = _R_NEXT_WEEK.search(folded)
    if m:
        return with_clock(
            calendar.last_working_day_of_week(today + timedelta(days=7)),
            calendar.closes,
            m,
            "next_week",
        )
    if clock is not None and clock[1].re is not _R_MORNING and clock[1].re is not _R_AFTERNOON:
        t = clock[0]
        day = today if t > sent_local.time() else today + timedelta(days=1)
        cm = clock[1]
        return Due(_at(day, t, tz), "clock", cm.group(0), offset + cm.start(), offset + cm.end())
    return None


def _date_in_future(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(today.year, month, day)
        if candidate < today:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    for m in _SENTENCE.finditer(text):
        if m.end() > m.start() and text[m.start() : m.end()].strip():
            yield m.start(), m.end()


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {tz!r}") from exc


def extract_commitments(
    text: str,
    sent_at: datetime,
    tz: str | ZoneInfo = "UTC",
    calendar: BusinessCalendar | None = None,
    language: str | None = None,
) -> list[Commitment]:
    """Find promises in a reply and resolve their due times.

    ``sent_at`` must be timezone-aware (any zone; it is converted to ``tz``, the customer's
    IANA time zone). ``language`` only matters for numeric dates: ``"en"`` reads 03/04 as
    March 4th, every other value as 3 April.
    """
    if not isinstance(sent_at, datetime) or sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise ValueError("sent_at must be a timezone-aware datetime")
    zone = _zone(tz)
    cal = calendar or DEFAULT_CALENDAR
    prepared = prepare(text)
    sent_local = sent_at.astimezone(zone)
    found: list[Commitment] = []
    prev_condition: re.Match[str] | None = None
    prev_offset = 0
    for s_start, s_end in _sentences(prepared.folded):
        sentence_f = prepared.folded[s_start:s_end]
        triggers: list[tuple[int, int, str]] = []
        for action, pattern in ACTION_PATTERNS.items():
            for m in pattern.finditer(sentence_f):
                before = sentence_f[max(0, m.start() - 25) : m.start()]
                if _NEGATION_BEFORE.search(before):
                    continue
                if any(m.start() < e and s < m.end() for s, e, _ in triggers):
                    continue
                triggers.append((m.start(), m.end(), action))
        cond_here = _CONDITION.search(sentence_f)
        if triggers:
            triggers.sort()
            due = resolve_due(
                sentence_f, s_start, sent_local, zone, cal, month_first=(language == "en")
            )
            vague = due is None and _VAGUE.search(sentence_f) is not None
            condition_match: re.Match[str] | None = None
            cond_offset = s_start
            if cond_here is not None and cond_here.start() < triggers[-1][1] + 60:
                condition_match = cond_here
            elif prev_condition is not None:
                condition_match, cond_offset = prev_condition, prev_offset
            for t_start, t_end, action in triggers:
                due_local = due.at.astimezone(zone) if due else None
                condition_text = None
                if condition_match is not None:
                    c0, c1 = (
                        cond_offset + condition_match.start(),
                        cond_offset + condition_match.end(),
                    )
                    condition_text = prepared.text[c0:c1].strip()
                found.append(
                    Commitment(
                        action=action,
                        trigger=prepared.text[s_start + t_start : s_start + t_end],
                        start=s_start + t_start,
                        end=s_start + t_end,
                        sentence=prepared.text[s_start:s_end].strip(),
                        depends_on_customer=condition_match is not None,
                        condition=condition_text,
                        due_utc=due.at if due else None,
                        due_local=due_local,
                        due_text=prepared.text[due.start : due.end] if due else None,
                        due_basis=due.basis if due else None,
                        vague=vague,
                        timezone=zone.key,
                        on_working_day=cal.is_working_day(due_local.date()) if due_local else None,
                    )
                )
        prev_condition, prev_offset = cond_here, s_start
    return found
