"""Realistic bilingual demo data for ``meaculpa demo``.

The demo company is *Olivar Hogar S.L.*, a Spanish online shop for home appliances and
furniture (Madrid, warehouse in Getafe). About 60 % of its customers write in Spanish, the
rest in English (expats in Spain and customers in the UK and Ireland).

Everything is deterministic: one seeded :class:`random.Random` invents the people, the
mistakes and the conversations, so two runs tell the same story (only anchored to the
current date). The story covers the last ~60 days and is replayed in time order through the
domain actions (``do_ingest_message``, ``do_add_reply``, ``do_update_case``,
``do_create_error``, ...), so customers, cases, messages, errors and their audit events look
exactly like the ones real work produces. A *story clock* (see :func:`_story_time`) gives
every row and audit event the moment it happened in the story instead of the moment it was
seeded.

Seeding runs in one transaction and only on a database without customers, so running the
demo twice never seeds twice and a failed seeding leaves nothing behind.
"""

from __future__ import annotations

import heapq
import random
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.actions import (
    do_create_team,
    do_create_user,
    do_setup_organisation,
    do_update_organisation,
)
from meaculpa.accounts.models import Team, User
from meaculpa.accounts.queries import get_organisation, get_user_by_email
from meaculpa.accounts.schemas import OrganisationUpdate, TeamCreate, UserCreate
from meaculpa.cases.actions import do_reopen_case, do_update_case
from meaculpa.cases.models import Case
from meaculpa.commitments.actions import MailContext, do_keep_commitment
from meaculpa.commitments.jobs import mark_missed
from meaculpa.commitments.models import Commitment
from meaculpa.core.audit import Actor
from meaculpa.core.clock import override as clock_override
from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.core.exceptions import Conflict, NotFound
from meaculpa.core.security import hash_password
from meaculpa.customers.models import Customer
from meaculpa.errors.actions import (
    do_add_affected,
    do_create_error,
    do_update_affected,
    do_update_error,
)
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.errors.schemas import AffectedIn, AffectedUpdate, ErrorCreate, ErrorUpdate
from meaculpa.followups.actions import do_answer_followup, do_send_followup
from meaculpa.followups.models import Followup
from meaculpa.followups.schemas import AnswerIn
from meaculpa.messages.actions import do_add_reply, do_ingest_message
from meaculpa.messages.models import Message
from meaculpa.messages.schemas import InboundMessage, ReplyIn
from meaculpa.notifications.models import OutboundEmail
from meaculpa.playbooks.actions import do_mark_step_done
from meaculpa.playbooks.models import CaseStep
from meaculpa.remedies.actions import (
    do_approve_remedy,
    do_deliver_remedy,
    do_propose_remedy,
    do_reject_remedy,
)
from meaculpa.remedies.models import Remedy
from meaculpa.remedies.queries import load_policy
from meaculpa.remedies.schemas import RemedyCreate
from meaculpa.settings import Settings

DEMO_ADMIN_EMAIL = "admin@demo.meaculpa"
DEMO_PASSWORD = "meaculpa-demo"  # noqa: S105 - a published demo password, printed on start
SEED = 2026
COMPANY = "Olivar Hogar S.L."
MADRID = ZoneInfo("Europe/Madrid")


@dataclass
class DemoResult:
    seeded: bool
    customers: int
    cases: int
    messages: int
    errors: int
    users: int
    seconds: float
    login: str | None
    # Promises (kept, broken), remedies (delivered, rejected), checklist steps done and
    # follow-up answers; empty when nothing was seeded.
    recovery: dict[str, int] = field(default_factory=dict)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- people -----------------------------------------------------------------------------------

ES_FIRST = _words(
    "Lucía María Carmen Ana Laura Marta Elena Sara Paula Cristina Isabel Pilar Rocío Nuria "
    "Beatriz Alba Irene Raquel Silvia Noelia Ainhoa Montse Inmaculada Rosa Lorena Claudia "
    "Antonio José Manuel Francisco David Javier Daniel Carlos Jesús Alejandro Miguel Rafael "
    "Pablo Sergio Fernando Jorge Alberto Álvaro Iñaki Raúl Rubén Óscar Adrián Víctor Andrés "
    "Ignacio Joaquín Gonzalo Xavier Hugo Mario Enrique"
)
ES_LAST = _words(
    "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez "
    "Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez "
    "Vázquez Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro "
    "Ortiz Rubio Marín Sanz Iglesias Núñez Medina Garrido Cortés Castillo Santos Lozano "
    "Guerrero Cano Prieto Méndez Cruz Calvo Gallego Vidal León Herrera Márquez Peña Cabrera "
    "Flores Campos Vega Fuentes Carrasco Diez Caballero Reyes Nieto Aguilar Pascual Santana "
    "Herrero Lorenzo Montero Hidalgo Giménez Ibáñez Ferrer Durán Santiago Benítez Arias "
    "Etxeberria Goikoetxea Puig Soler Vila Casas Quintana Bermejo"
)
EN_FIRST = _words(
    "Oliver Emma James Sophie Harry Charlotte George Amelia Thomas Emily William Grace Jack "
    "Olivia Daniel Lucy Michael Hannah Matthew Chloe Samuel Jessica Ryan Rebecca Liam Megan "
    "Connor Aoife Sean Niamh Patrick Siobhan Andrew Rachel Peter Laura Mark Helen Richard "
    "Claire Stephen Fiona Paul Alice Edward Katie"
)
EN_LAST = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Hughes Edwards Turner Hill Cooper "
    "Ward Morris King Harrison Baker Murphy Kelly O'Brien Byrne Ryan O'Connor Walsh "
    "McCarthy Doyle Gallagher Fraser Campbell Stewart Reid Bennett Foster Marshall"
)
ES_MAIL = ("gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "telefonica.net", "gmail.com")
EN_MAIL = ("gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "icloud.com", "eircom.net")
ES_CITIES = (
    "Madrid",
    "Toledo",
    "Sevilla",
    "Valencia",
    "Zaragoza",
    "Bilbao",
    "Málaga",
    "Murcia",
    "Valladolid",
    "A Coruña",
    "Granada",
    "Alicante",
    "Getafe",
    "Córdoba",
)
EN_CITIES = (
    "Málaga",
    "Alicante",
    "Marbella",
    "Valencia",
    "Torrevieja",
    "London",
    "Manchester",
    "Dublin",
    "Bristol",
    "Cork",
)
UK_CITIES = {"London", "Manchester", "Bristol"}
IE_CITIES = {"Dublin", "Cork"}
CARRIERS = ("Transportes Meseta", "PaqExpress", "Rutas del Sur Logística")

# (Spanish name, its gender, English name, price in euros); the kettle is the one that breaks.
PRODUCTS = (
    ("hervidor eléctrico KE-200", "m", "KE-200 electric kettle", 34.90),
    ("cafetera superautomática Aroma 5", "f", "Aroma 5 bean-to-cup coffee machine", 389.00),
    ("aspiradora sin cable Brisa X", "f", "Brisa X cordless vacuum cleaner", 219.00),
    ("colchón viscoelástico de 150×190", "m", "150×190 memory foam mattress", 429.00),
    ("juego de sartenes Fuego (3 piezas)", "m", "Fuego frying pan set (3 pieces)", 59.90),
    ("freidora de aire Crujiente 5,5 l", "f", "Crujiente 5.5 l air fryer", 89.99),
    ("silla de oficina Ergo Plus", "f", "Ergo Plus office chair", 179.00),
    ("lámpara de pie Nórdica", "f", "Nordic floor lamp", 74.50),
    ("juego de sábanas de algodón de 300 hilos", "m", "300-thread cotton sheet set", 45.00),
    ("robot de cocina Chef 9", "m", "Chef 9 kitchen robot", 499.00),
    ("ventilador de techo Cierzo", "m", "Cierzo ceiling fan", 129.00),
    ("microondas con grill de 25 l", "m", "25 l grill microwave", 119.00),
)

# Products that fit a topic (by index); other topics can be about any product.
TOPIC_PRODUCTS = {
    "broken_product": (0,),
    "missed_callback": (1, 2, 9, 10, 11),
    "rude_service": (1, 2, 5, 9, 11),
}

ES_MONTHS = _words(
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
EN_MONTHS = _words(
    "January February March April May June July August September October November December"
)


# --- what customers and agents write ----------------------------------------------------------
# Slots: {first} {full} {order} {amount} {product} {a_product} {the_product} {The_product}
# {date} {carrier} {city} {days} {digits}
# {ref} {code} {refund_days} {agent} {invoice}

TOPICS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "double_charge": {
        "es": {
            "subject": (
                "Cobro duplicado del pedido {order}",
                "Me habéis cobrado dos veces",
                "Doble cargo en mi tarjeta",
                "Cargo repetido de {amount}",
            ),
            "complaint": (
                "Hola:\n\nAcabo de revisar mi cuenta y me habéis cobrado dos veces el pedido "
                "{order} ({amount}). Solo hice una compra, la del {date}. Quiero que me "
                "devolváis el cargo duplicado cuanto antes.\n\nGracias,\n{full}",
                "Buenas tardes. El {date} compré {a_product} y en el banco me aparecen dos "
                "cargos de {amount}. ¿Me podéis explicar qué ha pasado? No es la primera vez "
                "que tengo problemas con los pagos en vuestra web.\n{full}",
                "Me habéis cobrado {amount} dos veces por el mismo pedido ({order}). Ya sé que "
                "se devolverá, pero me habéis dejado la cuenta en números rojos y el banco me "
                "cobra comisión. Espero una solución hoy mismo.",
                "Hola, al pagar en la app me salió un error, lo volví a intentar y ahora tengo "
                "dos cargos de {amount} y un solo pedido ({order}). ¿Cuándo me devolvéis el "
                "dinero?\n\nUn saludo,\n{first}",
            ),
            "short": (
                "me habéis cobrado dos veces el pedido {order}. ¿Quién me devuelve los {amount}?",
                "doble cargo de {amount} en mi tarjeta y nadie contesta al correo. Muy mal.",
            ),
            "chase": (
                "Sigo esperando la devolución del cargo duplicado. ¿Hay alguna novedad?",
                "Han pasado {days} días y el segundo cargo sigue en mi cuenta.",
            ),
            "apology": (
                "Tienes toda la razón y te pido disculpas: el cargo duplicado de {amount} es un "
                "error nuestro, no tuyo. Un fallo de nuestra pasarela de pago repitió el cobro "
                "de algunos pedidos. Ya he pedido la devolución del segundo cargo y verás el "
                "dinero en tu cuenta en un plazo de {refund_days} días hábiles.",
                "Siento mucho el susto. He comprobado el pedido {order} y, efectivamente, te "
                "cobramos dos veces {amount}. Ha sido un fallo nuestro y ya lo estamos "
                "corrigiendo. Mañana te confirmo por escrito la devolución.",
                "Gracias por avisarnos y perdona las molestias. Confirmo que el segundo cargo "
                "de {amount} no debió producirse. Lo estoy revisando con el departamento de "
                "pagos y te escribo en cuanto tenga el justificante de la devolución.",
            ),
            "ask": (
                "Para localizar el segundo cargo, ¿podrías decirme los cuatro últimos dígitos "
                "de la tarjeta y la fecha que aparece en tu extracto? No hace falta que nos "
                "envíes el extracto completo.",
                "¿Me confirmas si los dos cargos aparecen ya como cobrados o si uno sigue como "
                "pendiente? Así sé si basta con anular la retención o hay que devolverlo.",
            ),
            "info": (
                "La tarjeta termina en {digits} y los dos cargos son del {date}, los dos "
                "ya cobrados.",
                "Os confirmo: los dos aparecen como cobrados, tarjeta acabada en {digits}.",
            ),
            "fix": (
                "Ya hemos hecho la devolución de {amount} (referencia {ref}). Según tu banco "
                "puede tardar hasta {refund_days} días hábiles en aparecer. Si tu banco te ha "
                "cobrado alguna comisión, envíanos el recibo y te la reembolsamos. De nuevo, "
                "perdona el error.",
                "Te confirmo que hemos devuelto el cargo duplicado de {amount}. Como "
                "compensación por las molestias tienes un cupón de 10 € ({code}) para tu "
                "próxima compra. Hemos corregido el fallo de la pasarela para que no vuelva a "
                "pasar.",
            ),
            "note": (
                "Confirmado en el TPV: dos cargos con el mismo pedido {order}. Pedida la "
                "devolución a Finanzas.",
                "Ligado al fallo de la pasarela de pago. El cliente tiene comisión del "
                "banco: ofrecer reembolso de la comisión.",
                "Finanzas confirma la devolución, ref. {ref}. Falta avisar al cliente.",
            ),
        },
        "en": {
            "subject": (
                "Charged twice for order {order}",
                "Double charge on my card",
                "Duplicate payment of {amount}",
            ),
            "complaint": (
                "Hello,\n\nI have just checked my bank account and you have charged me twice "
                "for order {order} ({amount}). I only placed one order, on {date}. Please "
                "refund the duplicate payment as soon as possible.\n\nThanks,\n{full}",
                "Hi, I bought {a_product} on {date} and my bank shows two payments of "
                "{amount}. Can someone explain what happened? This is not the first payment "
                "problem I have had with your website.\n{full}",
                "You took {amount} twice for the same order ({order}). I know it will be "
                "refunded eventually but my account is now overdrawn and my bank is charging "
                "me fees. I expect this sorted today.",
            ),
            "short": (
                "you charged me twice for order {order}. Who is giving me my {amount} back?",
                "double charge of {amount} on my card and nobody answers emails. Not good enough.",
            ),
            "chase": (
                "Still waiting for the duplicate charge to be refunded. Any news?",
                "It has been {days} days and the second charge is still on my account.",
            ),
            "apology": (
                "You are absolutely right and I am sorry: the duplicate charge of {amount} is "
                "our mistake, not yours. A fault in our payment gateway repeated the payment "
                "for some orders. I have already requested the refund of the second charge; "
                "it will reach your account within {refund_days} working days.",
                "I am very sorry for the worry this caused. I have checked order {order} and "
                "we did charge you {amount} twice. That was our fault and we are fixing it. "
                "I will confirm the refund in writing tomorrow.",
            ),
            "ask": (
                "To find the second payment, could you tell me the last four digits of the "
                "card and the date shown on your statement? There is no need to send the "
                "whole statement.",
                "Could you confirm whether both payments show as completed, or is one still "
                "pending? That tells me whether we cancel a hold or issue a refund.",
            ),
            "info": (
                "The card ends in {digits} and both payments are from {date}, both completed.",
                "Confirmed: both show as completed, card ending {digits}.",
            ),
            "fix": (
                "The refund of {amount} is done (reference {ref}). Depending on your bank it "
                "can take up to {refund_days} working days to appear. If your bank charged "
                "you any fees, send us the receipt and we will pay them back. Again, sorry "
                "for our mistake.",
                "I can confirm we have refunded the duplicate charge of {amount}. To make up "
                "for the trouble, here is a €10 voucher ({code}) for your next order. We have "
                "fixed the gateway fault so this does not happen again.",
            ),
            "note": (
                "Payment terminal confirms two charges for order {order}. Refund "
                "requested from Finance.",
                "Customer got overdraft fees: offer to reimburse them.",
                "Finance confirms refund ref. {ref}. Customer still to be told.",
            ),
        },
    },
    "late_delivery": {
        "es": {
            "subject": (
                "Pedido {order} sin entregar",
                "Mi pedido no llega",
                "Retraso en la entrega",
                "¿Dónde está mi pedido {order}?",
            ),
            "complaint": (
                "Hola. Hice el pedido {order} el {date} y me dijisteis que llegaría en 48 "
                "horas. Llevo {days} días esperando y el seguimiento de {carrier} no se mueve "
                "desde que salió de Getafe. ¿Qué pasa con mi pedido?\n{full}",
                "Buenos días:\n{The_product} tenía que llegar el viernes. Pedí el día libre en el "
                "trabajo para recibirlo y nadie vino. En la web de {carrier} pone «ausente», "
                "cosa que es mentira porque estuve en casa todo el día.\n\n{full}",
                "Es la tercera vez que llamo por el pedido {order}. Cada vez me dais una fecha "
                "distinta. Necesito {the_product} para esta semana, si no, cancelo el pedido.",
            ),
            "short": (
                "pedido {order} con {days} días de retraso y el seguimiento sin "
                "moverse. ¿Alguien me dice algo?",
                "me marcáis el pedido como «ausente» y estaba en casa. Así no.",
            ),
            "chase": (
                "Sigo sin noticias del pedido {order}. ¿Me podéis decir algo?",
                "Hoy tampoco ha venido nadie. Ya son {days} días.",
            ),
            "apology": (
                "Lo siento de verdad. Te prometimos la entrega en 48 horas y no hemos "
                "cumplido: el retraso es responsabilidad nuestra, no de {carrier} ni tuya. He "
                "abierto una incidencia urgente con el transporte y mañana antes de las 14:00 "
                "te digo el día exacto de entrega.",
                "Tienes razón en estar molesto con nosotros y te pido disculpas. El pedido "
                "{order} se quedó retenido en nuestro almacén por un error de etiquetado. Ya "
                "ha salido con envío urgente y te aviso en cuanto tenga el número de "
                "seguimiento.",
                "Perdona el retraso y que te hayas quedado esperando en casa para nada. He "
                "revisado el envío y el repartidor no llegó a pasar por tu dirección. Ya lo "
                "he reclamado y hoy te confirmo una nueva franja de entrega.",
            ),
            "ask": (
                "¿Me confirmas la dirección de entrega y un teléfono en el que el "
                "repartidor pueda localizarte? Quiero asegurarme de que esta vez no "
                "falla nada.",
                "¿Qué franja horaria te viene mejor para la entrega: mañana o tarde?",
            ),
            "info": (
                "La dirección es la misma del pedido, en {city}. Mejor por la tarde, a "
                "partir de las 16:00.",
                "Por la mañana. El portal tiene portero, se lo pueden dejar a él.",
            ),
            "fix": (
                "Tu pedido se entregó hoy a las 11:40, según {carrier}. Como compensación te "
                "hemos devuelto los gastos de envío y tienes un 15 % de descuento en tu "
                "próxima compra con el código {code}. Gracias por tu paciencia.",
                "Te confirmo que ya tienes tu {product} en casa. Hemos cambiado la forma de "
                "asignar los envíos urgentes para que no se queden retenidos en el almacén. "
                "Te devolvemos los 4,95 € del envío.",
            ),
            "note": (
                "{carrier} dice que el paquete está en la delegación de {city} sin "
                "asignar a ruta. Reclamado con prioridad.",
                "Retraso ligado a la incidencia de etiquetas del almacén de Getafe.",
                "Devolución de gastos de envío hecha, ref. {ref}.",
            ),
        },
        "en": {
            "subject": (
                "Order {order} not delivered",
                "Where is my order?",
                "Late delivery of my {product}",
            ),
            "complaint": (
                "Hello. I placed order {order} on {date} and was told it would arrive within "
                "48 hours. I have now waited {days} days and the {carrier} tracking has not "
                "moved since it left Getafe. What is going on?\n{full}",
                "Hi,\nMy {product} was due on Friday. I took a day off work to receive it and "
                'nobody came. The {carrier} website says "recipient absent", which is not '
                "true: I was at home all day.\n\n{full}",
                "This is the third time I have contacted you about order {order}. Every time "
                "I get a different date. I need the {product} this week, otherwise I am "
                "cancelling.",
            ),
            "short": (
                "order {order} is {days} days late and the tracking has not moved. Anyone?",
                'you marked my parcel as "absent" while I was at home all day.',
            ),
            "chase": (
                "Still no news about order {order}. Can anyone update me?",
                "Nobody came today either. That is {days} days now.",
            ),
            "apology": (
                "I am truly sorry. We promised delivery within 48 hours and we did not keep "
                "that promise: the delay is our responsibility, not yours. I have opened an "
                "urgent claim with the carrier and will give you an exact delivery date "
                "tomorrow before 2 pm.",
                "You have every reason to be annoyed with us, and I apologise. Order {order} "
                "was held in our warehouse because of a labelling mistake on our side. It has "
                "now left by express delivery and I will send you the tracking number as "
                "soon as I have it.",
            ),
            "ask": (
                "Could you confirm the delivery address and a phone number the driver "
                "can call? I want to make sure nothing goes wrong this time.",
                "Which delivery slot suits you better: morning or afternoon?",
            ),
            "info": (
                "Same address as on the order, in {city}. Afternoons are better, after 4 pm.",
                "Mornings please. A neighbour can take it if I am out.",
            ),
            "fix": (
                "Your order was delivered today at 11:40 according to {carrier}. To make up "
                "for it we have refunded the delivery charge, and code {code} gives you 15 % "
                "off your next order. Thank you for your patience.",
                "I can confirm your {product} has been delivered. We have changed how "
                "express orders are routed so they are not held in the warehouse again, and "
                "we have refunded the €4.95 delivery fee.",
            ),
            "note": (
                "{carrier} says the parcel sits at the {city} depot without a route. "
                "Chased as priority.",
                "Delay linked to the Getafe warehouse labelling incident.",
                "Delivery fee refunded, ref. {ref}.",
            ),
        },
    },
    "wrong_order": {
        "es": {
            "subject": (
                "Me ha llegado un producto equivocado",
                "Pedido {order} incorrecto",
                "Esto no es lo que pedí",
            ),
            "complaint": (
                "Hola:\nHoy he recibido el pedido {order}, pero dentro de la caja no está "
                "{the_product} que compré, sino una lámpara que no he pedido. Necesito mi producto "
                "y que os llevéis esto.\n\n{full}",
                "Buenas. Pedí {the_product} y me ha llegado otro modelo distinto, más pequeño. "
                "La etiqueta de la caja sí tiene mi número de pedido ({order}). ¿Cómo lo "
                "solucionamos?",
                "Es increíble: pedido {order}, caja abierta y el producto no es el mío. Era un "
                "regalo de cumpleaños para el sábado.",
            ),
            "short": (
                "pedí {a_product} y me ha llegado otra cosa. Pedido {order}.",
                "producto equivocado en el pedido {order}. ¿Y ahora qué?",
            ),
            "chase": (
                "¿Cuándo pasáis a recoger el producto equivocado?",
                "Sigo con la caja equivocada en casa y sin mi pedido.",
            ),
            "apology": (
                "Te pido perdón: hemos cometido un error al preparar tu pedido en el almacén y "
                "te hemos enviado un producto que no era el tuyo. No tienes que hacer nada: "
                "mañana sale tu pedido correcto ({product}) con entrega urgente y el mismo "
                "mensajero se lleva el equivocado.",
                "Siento mucho el error, sobre todo sabiendo que era un regalo. La equivocación "
                "es nuestra. Estoy comprobando que tengamos stock de {the_product} para "
                "enviar tu pedido hoy mismo y te confirmo en unas horas.",
            ),
            "ask": (
                "¿Podrías enviarme una foto de la etiqueta de la caja que has recibido? "
                "Con ella encontramos en qué punto del almacén se cruzaron los pedidos.",
                "¿Te viene bien que el mensajero recoja el producto equivocado el mismo "
                "día que te entregue el correcto?",
            ),
            "info": (
                "Os adjunto la foto de la etiqueta. Pone {order} pero el código de "
                "producto no coincide.",
                "Sí, perfecto, que lo recoja cuando traiga el bueno.",
            ),
            "fix": (
                "Tu pedido correcto ({product}) se entregó esta mañana y el mensajero ya ha "
                "recogido el equivocado. Como disculpa te hemos devuelto los gastos de envío. "
                "Hemos añadido una comprobación con escáner antes de cerrar cada caja.",
                "Ya tienes tu pedido correcto y hemos recogido el otro producto. Tienes un "
                "cupón de 10 € ({code}) por las molestias. Gracias por avisarnos tan rápido.",
            ),
            "note": (
                "Almacén confirma cruce de etiquetas en la línea 3 de Getafe.",
                "Reenvío urgente creado. Recogida del producto equivocado programada.",
                "Cliente con regalo para el fin de semana: priorizar.",
            ),
        },
        "en": {
            "subject": (
                "Wrong item received",
                "Order {order} is wrong",
                "This is not what I ordered",
            ),
            "complaint": (
                "Hello,\nI received order {order} today, but the box does not contain the "
                "{product} I bought. It is a lamp I never ordered. I need my item and you "
                "need to collect this one.\n\n{full}",
                "Hi. I ordered the {product} and received a different, smaller model. The "
                "label on the box does have my order number ({order}). How do we sort this "
                "out?",
            ),
            "short": (
                "ordered {a_product}, received something else. Order {order}.",
                "wrong item in order {order}. What now?",
            ),
            "chase": (
                "When are you collecting the wrong item?",
                "Still have the wrong box at home and no sign of my order.",
            ),
            "apology": (
                "I am sorry: we made a mistake while packing your order and sent you someone "
                "else's item. You do not need to do anything: the right {product} leaves "
                "tomorrow by express delivery and the same driver will collect the wrong one.",
                "I am very sorry for the mix-up; it is entirely our mistake. I am checking "
                "stock so we can send the {product} today and I will confirm within a few "
                "hours.",
            ),
            "ask": (
                "Could you send me a photo of the label on the box you received? It "
                "helps us find where in the warehouse the orders got swapped.",
                "Is it all right if the driver collects the wrong item when delivering "
                "the right one?",
            ),
            "info": (
                "Photo of the label attached. It says {order} but the product code is different.",
                "Yes, that works, collect it when you bring the right one.",
            ),
            "fix": (
                "Your {product} was delivered this morning and the driver collected the wrong "
                "item. We have refunded your delivery charge and added a scanner check before "
                "every box is sealed.",
                "You now have the right item and we have collected the other one. Here is a "
                "€10 voucher ({code}) for the trouble. Thanks for telling us so quickly.",
            ),
            "note": (
                "Warehouse confirms a label swap on line 3 in Getafe.",
                "Express replacement created, collection of wrong item booked.",
                "Item is a gift: prioritise.",
            ),
        },
    },
    "billing_error": {
        "es": {
            "subject": (
                "Error en la factura {invoice}",
                "Me cobráis de más en Olivar Plus",
                "Factura incorrecta",
            ),
            "complaint": (
                "Hola:\nEn la factura {invoice} de mi suscripción Olivar Plus me habéis "
                "aplicado el IVA dos veces: el total es {amount} cuando debería ser mucho "
                "menos. Quiero una factura corregida y que me devolváis la diferencia.\n{full}",
                "Buenas tardes. Di de baja Olivar Plus el mes pasado y este mes me habéis "
                "vuelto a cobrar {amount}. Tengo el correo de confirmación de la baja.\n\n"
                "{full}",
                "La factura {invoice} sale a nombre de otra persona y con un NIF que no es el "
                "mío. La necesito correcta para presentarla en la empresa.",
            ),
            "short": (
                "me habéis cobrado la suscripción después de darme de baja. {amount} "
                "que quiero de vuelta.",
                "factura {invoice} con el IVA aplicado dos veces. Revisadlo, por favor.",
            ),
            "chase": (
                "¿Tenéis ya la factura corregida?",
                "Sigo esperando la devolución de lo cobrado de más.",
            ),
            "apology": (
                "Tienes razón y lo siento: la factura {invoice} está mal calculada por un "
                "error nuestro al aplicar el IVA. No tienes que hacer nada; te enviaremos una "
                "factura rectificativa y te devolveremos la diferencia esta semana.",
                "Te pido disculpas. Tu baja de Olivar Plus se registró bien, pero nuestro "
                "sistema siguió cobrando la renovación. El cobro de {amount} no debió hacerse "
                "y te lo devolvemos íntegro.",
            ),
            "ask": (
                "¿Me confirmas el nombre completo y el NIF que deben aparecer en la factura?",
                "¿Quieres que la devolución vaya a la misma tarjeta del cobro o "
                "prefieres una transferencia?",
            ),
            "info": (
                "Los datos correctos son: {full}, y el NIF es el que tenéis en mi cuenta.",
                "A la misma tarjeta, gracias.",
            ),
            "fix": (
                "Te adjunto la factura rectificativa de {invoice} y te hemos devuelto la "
                "diferencia (ref. {ref}). Hemos corregido la regla de IVA de las "
                "suscripciones para que no vuelva a pasar.",
                "Hemos devuelto los {amount} cobrados después de tu baja (ref. {ref}) y la "
                "suscripción está cancelada del todo. Perdona las molestias.",
            ),
            "note": (
                "Facturación confirma IVA duplicado en renovaciones de Olivar Plus.",
                "Baja registrada el día correcto; la renovación automática no la respetó.",
                "Rectificativa emitida y devolución ref. {ref}.",
            ),
        },
        "en": {
            "subject": (
                "Wrong invoice {invoice}",
                "Overcharged for Olivar Plus",
                "Incorrect invoice",
            ),
            "complaint": (
                "Hello,\nInvoice {invoice} for my Olivar Plus subscription adds VAT twice: "
                "the total is {amount}, far more than it should be. I want a corrected "
                "invoice and the difference refunded.\n{full}",
                "Hi. I cancelled Olivar Plus last month and you have charged me {amount} "
                "again this month. I have the cancellation confirmation email.\n\n{full}",
            ),
            "short": (
                "you charged my subscription after I cancelled. I want my {amount} back.",
                "invoice {invoice} has VAT added twice. Please check.",
            ),
            "chase": (
                "Do you have the corrected invoice yet?",
                "Still waiting for the overcharge to be refunded.",
            ),
            "apology": (
                "You are right and I am sorry: invoice {invoice} was calculated wrongly "
                "because of our mistake in applying VAT. You do not need to do anything; we "
                "will send a corrected invoice and refund the difference this week.",
                "I apologise. Your Olivar Plus cancellation was recorded correctly, but our "
                "system still charged the renewal. The {amount} charge should never have "
                "happened and we are refunding it in full.",
            ),
            "ask": (
                "Could you confirm the full name and tax number the invoice should show?",
                "Would you like the refund on the same card, or by bank transfer?",
            ),
            "info": (
                "The right details are {full}, with the tax number on my account.",
                "Same card please.",
            ),
            "fix": (
                "Attached is the corrected invoice for {invoice}, and the difference has "
                "been refunded (ref. {ref}). We have fixed the VAT rule for subscriptions.",
                "We have refunded the {amount} charged after your cancellation (ref. {ref}) "
                "and the subscription is fully cancelled. Sorry for the trouble.",
            ),
            "note": (
                "Billing confirms double VAT on Olivar Plus renewals.",
                "Cancellation recorded on time; auto-renewal ignored it.",
                "Credit note issued, refund ref. {ref}.",
            ),
        },
    },
    "rude_service": {
        "es": {
            "subject": (
                "Trato muy desagradable en el chat",
                "Queja por la atención recibida",
                "Me colgaron el teléfono",
            ),
            "complaint": (
                "Quiero poner una queja formal. Ayer hablé por chat sobre mi pedido {order} y "
                "la persona que me atendió fue borde y me acabó cerrando la conversación sin "
                "resolver nada. No es forma de tratar a un cliente.\n{full}",
                "Llamé para preguntar por la garantía de mi {product} y me colgaron dos veces. "
                "La segunda vez me dijeron que «eso no es cosa nuestra». Estoy muy "
                "decepcionada/o con vuestro servicio.",
            ),
            "short": (
                "me habéis colgado dos veces el teléfono. Vaya atención al cliente.",
                "el trato en vuestro chat ha sido lamentable.",
            ),
            "chase": ("Nadie me ha contestado a la queja. Lo mismo que en el chat.",),
            "apology": (
                "Lo que nos cuentas no es el trato que mereces y te pido perdón en nombre de "
                "todo el equipo. Voy a revisar la conversación con la responsable del equipo "
                "y, mientras tanto, me ocupo yo personalmente de tu consulta sobre el pedido "
                "{order}.",
                "Siento mucho cómo te atendimos. Colgar una llamada y decirte que no es cosa "
                "nuestra fue un error: la garantía de tu {product} sí es responsabilidad "
                "nuestra. Me encargo yo a partir de ahora.",
            ),
            "ask": (
                "Para revisar la conversación, ¿recuerdas la hora aproximada del chat o "
                "de la llamada?",
            ),
            "info": ("Fue sobre las 19:30, por el chat de la web.",),
            "fix": (
                "He revisado la conversación con la responsable del equipo: no se siguió "
                "nuestro protocolo y ya lo hemos hablado con la persona. Tu consulta está "
                "resuelta: la garantía cubre la reparación y el mensajero recoge "
                "{the_product} el lunes. Gracias por contárnoslo; nos ayuda a mejorar.",
                "Quería decirte que hemos tomado medidas: el equipo del chat ha repasado "
                "cómo atender las consultas de garantía. Tu {product} ya está en reparación "
                "y te avisaremos cuando salga.",
            ),
            "note": (
                "Revisada la grabación: tono inadecuado y cierre de chat sin resolver. "
                "Hablado con la responsable del turno.",
                "Pico de rebajas, chat con 40 min de espera. Contexto, no excusa.",
            ),
        },
        "en": {
            "subject": (
                "Very rude treatment on chat",
                "Complaint about your service",
                "I was hung up on",
            ),
            "complaint": (
                "I want to make a formal complaint. Yesterday I used your chat about order "
                "{order}; the person was rude and closed the conversation without solving "
                "anything. That is no way to treat a customer.\n{full}",
                "I called about the warranty on my {product} and was hung up on twice. The "
                'second time I was told "that is not our problem". Very disappointed.',
            ),
            "short": (
                "hung up on twice. Great customer service.",
                "the way I was treated on your chat was awful.",
            ),
            "chase": ("Nobody has answered my complaint. Same as on the chat.",),
            "apology": (
                "What you describe is not how you deserve to be treated, and I apologise on "
                "behalf of the whole team. I will review the conversation with the team lead "
                "and, meanwhile, I am personally taking care of your question about order "
                "{order}.",
                "I am very sorry about how we treated you. Hanging up and telling you it was "
                "not our problem was wrong: the warranty on your {product} is our "
                "responsibility. I will handle it from now on.",
            ),
            "ask": (
                "To review the conversation, do you remember roughly what time the chat "
                "or call was?",
            ),
            "info": ("Around 7.30 pm, on the website chat.",),
            "fix": (
                "I reviewed the conversation with the team lead: our standards were not "
                "followed and we have spoken with the person involved. Your question is "
                "resolved: the warranty covers the repair and the courier collects your "
                "{product} on Monday. Thank you for telling us.",
            ),
            "note": (
                "Recording reviewed: inappropriate tone, chat closed unresolved. Raised "
                "with the shift lead.",
                "Sale peak, 40 min chat queue. Context, not an excuse.",
            ),
        },
    },
    "broken_product": {
        "es": {
            "subject": (
                "{product} roto",
                "El producto ha llegado dañado",
                "Mi {product} ha dejado de funcionar",
            ),
            "complaint": (
                "Hola:\nEl {product} del pedido {order} ha llegado con la caja aplastada y "
                "el producto roto por un lado. Adjunto fotos. Quiero que me lo cambiéis.\n\n"
                "{full}",
                "Compré un {product} hace dos semanas y ya ha dejado de funcionar: se apaga "
                "solo a los pocos segundos. Para lo que cuesta ({amount}) no es normal.",
                "Buenas, el {product} hace un ruido muy raro desde el primer día y huele a "
                "quemado. Me da miedo usarlo. Pedido {order}.",
            ),
            "short": (
                "el {product} que os compré ha durado dos semanas. Pedido {order}.",
                "me ha llegado el {product} roto y nadie me contesta.",
            ),
            "chase": (
                "¿Me vais a cambiar el producto o no?",
                "Siguen sin decirme nada del cambio del {product}.",
            ),
            "apology": (
                "Siento mucho que tu {product} haya llegado así. No es la calidad que te "
                "prometimos y no tienes por qué pagar por nuestro error: te enviamos uno nuevo "
                "sin coste y recogemos el dañado.",
                "Te pido disculpas. Por lo que cuentas, tu {product} puede ser de un lote con "
                "un defecto que ya estamos investigando. Por seguridad, no lo uses; te "
                "enviamos uno nuevo o te devolvemos el dinero, lo que prefieras.",
            ),
            "ask": (
                "¿Nos podrías enviar una foto del producto y de la etiqueta con el "
                "número de serie? Así comprobamos de qué lote es.",
                "¿Prefieres un {product} nuevo o que te devolvamos los {amount}?",
            ),
            "info": (
                "Os mando las fotos. El número de serie empieza por KE2-24.",
                "Prefiero que me devolváis el dinero, la verdad.",
            ),
            "fix": (
                "Tu {product} nuevo se entregó ayer y el mensajero ya recogió el dañado. "
                "Hemos retirado de la venta el lote afectado. Gracias por la paciencia y "
                "perdona las molestias.",
                "Te hemos devuelto los {amount} (ref. {ref}). El mensajero recogerá el "
                "{product} cuando te venga bien; no hace falta la caja original.",
            ),
            "note": (
                "Número de serie del lote KE2-24. Posible defecto de termostato, "
                "abierto con Calidad.",
                "Sustitución enviada sin coste. Recogida programada.",
                "Cliente prefiere reembolso. Hecho, ref. {ref}.",
            ),
        },
        "en": {
            "subject": ("Broken {product}", "Item arrived damaged", "My {product} stopped working"),
            "complaint": (
                "Hello,\nThe {product} from order {order} arrived with a crushed box and "
                "the item broken on one side. Photos attached. I want a replacement.\n\n"
                "{full}",
                "I bought {a_product} two weeks ago and it has already stopped working: it "
                "switches itself off after a few seconds. For {amount} that is not "
                "acceptable.",
            ),
            "short": (
                "the {product} I bought from you lasted two weeks. Order {order}.",
                "my {product} arrived broken and nobody replies.",
            ),
            "chase": (
                "Are you replacing the item or not?",
                "Still nothing about replacing my {product}.",
            ),
            "apology": (
                "I am so sorry your {product} arrived like this. It is not the quality we "
                "promised and you should not pay for our mistake: we are sending a new one "
                "free of charge and collecting the damaged one.",
                "I apologise. From what you describe, your {product} may come from a batch "
                "with a fault we are already investigating. For safety please do not use it; "
                "we will send a new one or refund you, whichever you prefer.",
            ),
            "ask": (
                "Could you send a photo of the item and of the label with the serial "
                "number? That tells us which batch it is from.",
                "Would you prefer a new {product} or a refund of {amount}?",
            ),
            "info": ("Photos attached. The serial number starts with KE2-24.", "A refund please."),
            "fix": (
                "Your new {product} was delivered yesterday and the damaged one was "
                "collected. We have withdrawn the faulty batch from sale. Thanks for your "
                "patience.",
                "We have refunded {amount} (ref. {ref}). The courier will collect the "
                "{product} whenever suits you; no need for the original box.",
            ),
            "note": (
                "Serial from batch KE2-24. Possible thermostat fault, raised with QA.",
                "Free replacement sent, collection booked.",
                "Customer chose a refund. Done, ref. {ref}.",
            ),
        },
    },
    "missed_callback": {
        "es": {
            "subject": (
                "Nadie me ha llamado",
                "Llamada prometida que no llegó",
                "Sigo esperando vuestra llamada",
            ),
            "complaint": (
                "El {date} me dijeron por teléfono que un técnico me llamaría en 24 horas para "
                "lo de {the_product}. Han pasado {days} días y nadie ha llamado. ¿Tengo que "
                "volver a explicarlo todo desde el principio?\n{full}",
                "Es la segunda vez que me prometéis una llamada que no llega. Estoy "
                "esperando con el móvil en la mano para nada. Pedido {order}.",
            ),
            "short": (
                "me prometisteis una llamada hace {days} días. Seguimos esperando.",
                "otra llamada prometida que nunca llega.",
            ),
            "chase": ("Hoy tampoco me ha llamado nadie.",),
            "apology": (
                "Tienes toda la razón y lo siento: te prometimos una llamada y no la hicimos. "
                "No tienes que repetir nada, ya tengo todo el historial de tu {product}. Te "
                "llamo yo mañana entre las 10:00 y las 11:00.",
                "Perdona. Tu solicitud de llamada se quedó en una cola sin asignar por un "
                "error nuestro. Esta vez me encargo yo: te llamo hoy antes de las 18:00.",
            ),
            "ask": ("¿Cuál es el mejor número y la mejor hora para llamarte?",),
            "info": ("Al móvil que tenéis, a partir de las 17:00.",),
            "fix": (
                "Gracias por atenderme hoy por teléfono. Como hablamos, el técnico pasa el "
                "jueves por la mañana a revisar {the_product}. Te dejo aquí mi contacto "
                "directo por si necesitas algo antes.",
                "Te confirmo lo que hablamos por teléfono: sustituimos tu {product} sin coste y "
                "te llega esta semana. Hemos corregido la cola de llamadas para que "
                "ninguna se quede sin asignar.",
            ),
            "note": (
                "La solicitud de llamada estaba en la cola «sin asignar» desde el {date}.",
                "Llamada hecha. Cliente tranquilo tras la explicación.",
            ),
        },
        "en": {
            "subject": (
                "Nobody called me back",
                "Promised call never came",
                "Still waiting for your call",
            ),
            "complaint": (
                "On {date} I was told on the phone that a technician would call me within "
                "24 hours about my {product}. It has been {days} days and nobody has called. "
                "Do I have to explain everything from the start again?\n{full}",
                "This is the second time you have promised a call that never comes. I have "
                "been waiting by the phone for nothing. Order {order}.",
            ),
            "short": (
                "you promised a call {days} days ago. Still waiting.",
                "another promised call that never came.",
            ),
            "chase": ("Nobody called today either.",),
            "apology": (
                "You are absolutely right and I am sorry: we promised a call and did not "
                "make it. You do not need to repeat anything, I have the full history of "
                "your {product}. I will call you myself tomorrow between 10 and 11 am.",
                "I apologise. Your call-back request sat in an unassigned queue because of "
                "our mistake. This time I am handling it: I will call you today before 6 pm.",
            ),
            "ask": ("What is the best number and time to call you?",),
            "info": ("My mobile, after 5 pm.",),
            "fix": (
                "Thanks for taking my call today. As agreed, the technician visits on "
                "Thursday morning to check your {product}. Here is my direct contact in case "
                "you need anything before then.",
            ),
            "note": (
                "Call-back request had been in the unassigned queue since {date}.",
                "Call made. Customer reassured.",
            ),
        },
    },
}
TOPIC_WEIGHTS = {
    "double_charge": 16,
    "late_delivery": 26,
    "wrong_order": 14,
    "billing_error": 12,
    "rude_service": 8,
    "broken_product": 14,
    "missed_callback": 10,
}

GENERIC: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "greeting": (
            "Hola, {first}:",
            "Buenos días, {first}:",
            "Buenas tardes, {first}:",
            "{first}, gracias por escribirnos.",
        ),
        "signoff": (
            "Un saludo,\n{agent}\nAtención al cliente · Olivar Hogar",
            "Quedo pendiente,\n{agent}\nOlivar Hogar",
            "Gracias por tu paciencia.\n{agent}",
        ),
        "chase": (
            "¿Hay alguien ahí? Os escribí y no he tenido respuesta.",
            "Sigo esperando una respuesta.",
        ),
        "thanks": (
            "Muchas gracias, ya está todo bien.",
            "Recibido, gracias por la rapidez y por la disculpa.",
            "Vale, gracias. Espero que no vuelva a pasar.",
            "Perfecto, todo correcto. Gracias, {agent}.",
        ),
        "wait_ok": ("De acuerdo, quedo a la espera.", "Vale, gracias por responder."),
        "closing": (
            "Me alegro de que esté resuelto. Cierro el caso; si necesitas algo más, "
            "responde a este mensaje.",
            "Gracias por confirmarlo. Cierro la incidencia, pero aquí estamos para lo "
            "que necesites.",
        ),
        "followup_ok": (
            "¿Nos confirmas que todo ha quedado bien?",
            "Cuando puedas, dinos si todo está correcto.",
        ),
        "reopen": (
            "El cliente llama: el reembolso no le ha llegado todavía.",
            "El cliente responde que el problema ha vuelto a aparecer.",
            "Reabro: la solución no funcionó, el cliente sigue afectado.",
        ),
        "reapology": (
            "Tienes razón, no lo resolvimos bien a la primera y lo siento. Lo he "
            "revisado de nuevo y esta vez está solucionado; te lo confirmo por "
            "escrito.",
        ),
        "handover": (
            "Paso el caso a {agent}, que lleva este tipo de incidencias.",
            "Reasigno a {agent} por carga de trabajo.",
        ),
    },
    "en": {
        "greeting": (
            "Hi {first},",
            "Hello {first},",
            "Dear {first},",
            "{first}, thank you for writing to us.",
        ),
        "signoff": (
            "Best regards,\n{agent}\nCustomer care · Olivar Hogar",
            "Kind regards,\n{agent}\nOlivar Hogar",
            "Thanks for your patience.\n{agent}",
        ),
        "chase": (
            "Is anyone there? I wrote to you and have had no reply.",
            "Still waiting for an answer.",
        ),
        "thanks": (
            "Thank you, all sorted now.",
            "Received, thanks for the quick fix and the apology.",
            "OK, thanks. I hope it does not happen again.",
            "Perfect, all good. Thanks {agent}.",
        ),
        "wait_ok": ("OK, I will wait to hear from you.", "Fine, thanks for replying."),
        "closing": (
            "Glad it is sorted. I am closing the case; if you need anything else, "
            "just reply to this message.",
            "Thanks for confirming. I am closing this, but we are here if you need us.",
        ),
        "followup_ok": (
            "Could you confirm everything is fine now?",
            "When you can, let us know if all is well.",
        ),
        "reopen": (
            "Customer called: the refund has not arrived yet.",
            "Customer says the problem is back.",
            "Reopening: the fix did not work, customer still affected.",
        ),
        "reapology": (
            "You are right, we did not get it right the first time and I am sorry. "
            "I have looked at it again and this time it is fixed; I will confirm "
            "in writing.",
        ),
        "handover": (
            "Handing this case to {agent}, who deals with these issues.",
            "Reassigning to {agent} to balance the workload.",
        ),
    },
}

# --- the recovery layer: promises, remedies, follow-up answers --------------------------------
# Promises agents add to their replies, worded so the commitment extraction reads them (each
# is checked in tests/cli/test_demo.py); slots as in TOPICS.
PROMISES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "double_charge": (
            "Te devolveremos el importe del cargo duplicado en {refund_days} días hábiles.",
            "Te reembolsaremos los {amount} en un plazo de {refund_days} días hábiles.",
            "Te llamaremos mañana antes de las 12 para confirmarte la devolución.",
        ),
        "late_delivery": (
            "Tu pedido te llegará el viernes como muy tarde.",
            "Te confirmaremos la nueva fecha de entrega en 48 horas.",
            "Te llamaremos mañana antes de las 12 con la franja de entrega.",
        ),
        "wrong_order": (
            "Te enviaremos un producto nuevo mañana por la mañana y el mensajero recogerá "
            "el equivocado.",
            "Tu pedido te llegará el viernes, esta vez con el producto correcto.",
            "Te escribiremos mañana con el número de seguimiento del reenvío.",
        ),
        "billing_error": (
            "Te devolveremos la diferencia en 5 días hábiles.",
            "Te enviaremos la factura corregida mañana.",
            "Te llamaremos mañana antes de las 12 para explicarte la factura.",
        ),
        "rude_service": (
            "Te llamaré mañana antes de las 12 para disculparme en persona.",
            "Te escribiremos el lunes, cuando hayamos revisado la conversación.",
        ),
        "broken_product": (
            "Te enviaremos un producto nuevo mañana por la mañana.",
            "Tu pedido te llegará el viernes con la unidad nueva.",
            "Un técnico pasará el jueves por la mañana a recoger {the_product}.",
        ),
        "missed_callback": (
            "Te llamaremos mañana antes de las 12, sin falta.",
            "Un técnico pasará el jueves por la mañana a revisar {the_product}.",
            "Te llamaré hoy antes de las 18:00.",
        ),
        "reapology": (
            "Te llamaré mañana antes de las 12 para comprobar que todo está bien.",
            "Te escribiremos el lunes para confirmar que no ha vuelto a pasar.",
        ),
    },
    "en": {
        "double_charge": (
            "We will refund the duplicate charge within {refund_days} working days.",
            "We will refund the {amount} within {refund_days} working days.",
            "We'll call you back tomorrow before noon to confirm the refund.",
        ),
        "late_delivery": (
            "Your order will arrive by Friday at the latest.",
            "We'll confirm the new delivery date within 48 hours.",
            "We'll call you back tomorrow before noon with the delivery slot.",
        ),
        "wrong_order": (
            "We will send you a replacement tomorrow and the driver will collect the wrong item.",
            "Your replacement will arrive by Friday.",
            "I will email you the tracking number tomorrow.",
        ),
        "billing_error": (
            "We will refund the difference within 5 working days.",
            "I will email you the corrected invoice tomorrow.",
        ),
        "rude_service": (
            "I will call you tomorrow before noon to apologise in person.",
            "I will email you on Monday once I have reviewed the conversation.",
        ),
        "broken_product": (
            "We will send you a replacement tomorrow.",
            "Your replacement will arrive by Friday.",
            "A technician will visit on Thursday morning to collect the {product}.",
        ),
        "missed_callback": (
            "We'll call you back tomorrow before noon, without fail.",
            "A technician will visit on Thursday morning.",
            "I will call you today before 6 pm.",
        ),
        "reapology": (
            "I will call you tomorrow before noon to check everything is fine.",
            "I will email you on Monday to confirm it has not happened again.",
        ),
    },
}

# What the owner proposes to make good, by topic: (kind, amount in EUR or None, description
# in Spanish, in English). "{amount_value}" is the order's amount.
REMEDIES: dict[str, tuple[tuple[str, str | None, str, str], ...]] = {
    "double_charge": (
        (
            "refund",
            "{amount_value}",
            "Devolución del cargo duplicado del pedido {order}",
            "Refund of the duplicate charge on order {order}",
        ),
        (
            "compensation",
            "10.00",
            "Cupón de 10 € y reembolso de la comisión del banco",
            "€10 voucher and the bank's overdraft fee paid back",
        ),
    ),
    "late_delivery": (
        (
            "refund",
            "4.95",
            "Devolución de los gastos de envío del pedido {order}",
            "Delivery fee of order {order} refunded",
        ),
        (
            "credit",
            "15.00",
            "Saldo de 15 € para la próxima compra",
            "€15 store credit for the next order",
        ),
    ),
    "wrong_order": (
        (
            "replacement_or_redo",
            None,
            "Reenvío urgente del pedido correcto y recogida del equivocado",
            "Express dispatch of the right item and collection of the wrong one",
        ),
        ("compensation", "10.00", "Cupón de 10 € por las molestias", "€10 voucher for the trouble"),
    ),
    "billing_error": (
        (
            "refund",
            "{amount_value}",
            "Devolución de la diferencia de la factura {invoice}",
            "Refund of the difference on invoice {invoice}",
        ),
        ("credit", "9.99", "Un mes de Olivar Plus sin coste", "One month of Olivar Plus free"),
    ),
    "rude_service": (
        (
            "gift_or_surprise",
            "25.00",
            "Tarjeta regalo de 25 € con una disculpa por escrito",
            "€25 gift card with a written apology",
        ),
        (
            "upgrade_or_better_service",
            None,
            "Atención personal de la responsable del turno",
            "Personal service from the shift lead",
        ),
    ),
    "broken_product": (
        (
            "replacement_or_redo",
            "{amount_value}",
            "Sustitución sin coste del {product}",
            "Free replacement of the {product}",
        ),
        (
            "refund",
            "{amount_value}",
            "Reembolso completo del {product}",
            "Full refund of the {product}",
        ),
    ),
    "missed_callback": (
        (
            "upgrade_or_better_service",
            None,
            "Visita prioritaria del técnico",
            "Priority technician visit",
        ),
        (
            "compensation",
            "15.00",
            "Cupón de 15 € por la llamada que no hicimos",
            "€15 voucher for the call we did not make",
        ),
    ),
}
# Proposals a manager turns down, and why (the owner then proposes the usual remedy).
GENEROUS = {
    "es": (
        (
            "compensation",
            "120.00",
            "Compensación de 120 € por las molestias",
            "Desproporcionado para este error: devuelve lo cobrado de más y ofrece un cupón.",
        ),
        (
            "gift_or_surprise",
            "80.00",
            "Tarjeta regalo de 80 €",
            "Supera lo que damos por este tipo de error; aplica la política estándar.",
        ),
    ),
    "en": (
        (
            "compensation",
            "120.00",
            "€120 compensation for the trouble",
            "Out of proportion for this mistake: refund what we overcharged and add a voucher.",
        ),
        (
            "gift_or_surprise",
            "80.00",
            "€80 gift card",
            "More than we give for this kind of error; apply the standard policy.",
        ),
    ),
}
# What customers write with their follow-up answer: (rating, solved) -> comments.
FOLLOWUP_COMMENTS = {
    "es": {
        "happy": (
            "Todo perfecto, gracias por la rapidez.",
            "Me gustó que reconocierais el error sin excusas.",
            "",
            "",
        ),
        "meh": ("Al final se solucionó, pero tardasteis demasiado.", ""),
        "unsolved": (
            "El reembolso todavía no ha llegado.",
            "El problema ha vuelto a aparecer.",
            "Nadie me llamó cuando dijisteis.",
        ),
    },
    "en": {
        "happy": (
            "All sorted, thanks for being so quick.",
            "I appreciated that you owned the mistake.",
            "",
            "",
        ),
        "meh": ("Sorted in the end, but it took far too long.", ""),
        "unsolved": (
            "The refund has still not arrived.",
            "The problem is back.",
            "Nobody called when you said they would.",
        ),
    },
}

# The company's own record of its mistakes: (topic, type, severity, final status,
# reporter "es"/"en", proactive, title, description, root cause).
ERRORS: tuple[tuple[str, str, str, str, str, bool, str, str, str], ...] = (
    (
        "double_charge",
        "calculation",
        "high",
        "fixed",
        "es",
        False,
        "Cobro duplicado por reintento de la pasarela de pago",
        "La pasarela repitió el cargo de pedidos pagados con tarjeta cuando la primera "
        "respuesta del banco tardó más de 30 segundos. Los clientes ven dos cargos y un solo "
        "pedido.",
        "El reintento automático no comprobaba si el primer cargo se había confirmado.",
    ),
    (
        "late_delivery",
        "delivery",
        "medium",
        "fixing",
        "es",
        False,
        "Retrasos de entrega de Transportes Meseta en Madrid y Toledo",
        "Envíos de 48 horas que tardan entre 4 y 9 días; varios marcados como «ausente» sin "
        "visita del repartidor.",
        "Falta de repartidores en la delegación de Toledo y rutas sin asignar los lunes.",
    ),
    (
        "wrong_order",
        "process",
        "high",
        "fixed",
        "es",
        False,
        "Etiquetas cruzadas en la línea 3 del almacén de Getafe",
        "Cajas con la etiqueta de un pedido y el contenido de otro, en pedidos preparados en el "
        "turno de tarde.",
        "La impresora de la línea 3 imprimía la etiqueta del siguiente pedido tras un atasco.",
    ),
    (
        "billing_error",
        "calculation",
        "medium",
        "closed",
        "es",
        True,
        "IVA aplicado dos veces en las renovaciones de Olivar Plus",
        "Las renovaciones automáticas sumaban el IVA sobre un importe que ya lo incluía, y "
        "algunas bajas no se respetaron.",
        "Cambio de tarifas del mes pasado sin prueba de la regla de impuestos.",
    ),
    (
        "broken_product",
        "product",
        "critical",
        "investigating",
        "en",
        True,
        "KE-200 kettles from batch KE2-24 switch off or overheat",
        "Customers report kettles that cut out after a few seconds or smell of burning. "
        "Possible safety issue: batch withdrawn from sale.",
        "",
    ),
    (
        "missed_callback",
        "communication",
        "medium",
        "open",
        "en",
        False,
        "Call-back requests left in an unassigned queue",
        "Promised call-backs were never made: requests created outside business hours were "
        "not assigned to anyone.",
        "",
    ),
    (
        "rude_service",
        "judgement",
        "low",
        "investigating",
        "es",
        False,
        "Trato inadecuado en el chat durante el pico de rebajas",
        "Conversaciones cerradas sin resolver y respuestas bruscas con colas de más de 30 minutos.",
        "",
    ),
)

STATUS_WEIGHTS = {
    "new": 10,
    "acknowledged": 10,
    "in_progress": 18,
    "waiting_on_customer": 11,
    "resolved": 28,
    "closed": 18,
}
# How many days ago a case in each final status was opened (range).
STATUS_AGE = {
    "new": (0.05, 3),
    "acknowledged": (0.3, 6),
    "in_progress": (1, 20),
    "waiting_on_customer": (2, 22),
    "resolved": (4, 45),
    "closed": (8, 58),
}
CHANNEL_WEIGHTS = {
    "email": 40,
    "web": 16,
    "phone": 9,
    "whatsapp": 11,
    "twitter": 9,
    "instagram": 5,
    "facebook": 4,
    "chat": 6,
}
SOCIAL = ("twitter", "instagram", "facebook")
# Channels where people write short messages and agents answer in a line or two.
CHAT_LIKE = (*SOCIAL, "whatsapp", "chat")
CHANNEL_IDENTITY = {
    "email": "email",
    "web": "email",
    "chat": "email",
    "phone": "phone",
    "whatsapp": "whatsapp",
    "twitter": "twitter",
    "instagram": "instagram",
    "facebook": "facebook",
}

STAFF = (
    # email, name, role, language, team index
    (DEMO_ADMIN_EMAIL, "Inés Navarro Prieto", "admin", "es", None),
    ("marta.ruiz@demo.meaculpa", "Marta Ruiz Castaño", "manager", "es", 0),
    ("helen.carter@demo.meaculpa", "Helen Carter", "manager", "en", 1),
    ("lucia.romero@demo.meaculpa", "Lucía Romero", "agent", "es", 0),
    ("javier.ortega@demo.meaculpa", "Javier Ortega", "agent", "es", 0),
    ("emma.walsh@demo.meaculpa", "Emma Walsh", "agent", "en", 0),
    ("nerea.etxeberria@demo.meaculpa", "Nerea Etxeberria", "agent", "es", 1),
    ("carlos.benitez@demo.meaculpa", "Carlos Benítez", "agent", "es", 1),
    ("daniel.hughes@demo.meaculpa", "Daniel Hughes", "agent", "en", 1),
)
TEAMS = ("Atención al cliente", "Envíos y devoluciones")


def easter(year: int) -> date:
    """Easter Sunday (Gregorian calendar, the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def spain_national_holidays(year: int) -> list[date]:
    """The holidays common to all of Spain (regional ones vary and are left out)."""
    fixed = [(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25)]
    days = [date(year, m, d) for m, d in fixed]
    days.append(easter(year) - timedelta(days=2))  # Viernes Santo
    return sorted(days)


BUSINESS_HOURS = {
    **{d: [["09:00", "14:00"], ["15:00", "18:30"]] for d in ("mon", "tue", "wed", "thu")},
    "fri": [["08:00", "15:00"]],
}


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class _Persona:
    no: int
    lang: str
    first: str
    full: str
    timezone: str
    city: str
    channel: str
    identities: dict[str, str]
    customer_id: int | None = None
    first_contact: datetime | None = None


@dataclass
class _CasePlan:
    no: int
    persona: _Persona
    topic: str
    channel: str
    status: str
    slots: dict[str, str]
    steps: list[tuple[datetime, str, str]] = field(default_factory=list)
    case_id: int | None = None
    opened: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _ascii(text: str) -> str:
    return (
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        .encode("ascii", "ignore")
        .decode()
    )


def _money(amount: float, lang: str) -> str:
    if lang == "es":
        return f"{amount:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"€{amount:,.2f}"


def _day(value: datetime, lang: str) -> str:
    local = value.astimezone(MADRID)
    if lang == "es":
        return f"{local.day} de {ES_MONTHS[local.month - 1]}"
    return f"{local.day} {EN_MONTHS[local.month - 1]}"


class _Story:
    def __init__(self, rng: random.Random, now: datetime, customers: int) -> None:
        self.rng = rng
        self.now = now
        self.used: set[tuple[str, str]] = set()
        self.personas = [self._persona(i) for i in range(customers)]

    # people
    def _unique(self, kind: str, make: Callable[[int], str]) -> str:
        attempt = 0
        while True:
            value = make(attempt)
            if (kind, value.lower()) not in self.used:
                self.used.add((kind, value.lower()))
                return value
            attempt += 1

    def _persona(self, no: int) -> _Persona:
        rng = self.rng
        lang = "es" if rng.random() < 0.6 else "en"
        if lang == "es":
            first = rng.choice(ES_FIRST)
            last1, last2 = rng.sample(ES_LAST, 2)
            full = f"{first} {last1} {last2}"
            city = rng.choice(ES_CITIES)
            timezone = "Atlantic/Canary" if rng.random() < 0.05 else "Europe/Madrid"
            domains, prefix, digits = ES_MAIL, "+34 6", 8
        else:
            first = rng.choice(EN_FIRST)
            last1 = rng.choice(EN_LAST)
            last2 = ""
            full = f"{first} {last1}"
            city = rng.choice(EN_CITIES)
            timezone = (
                "Europe/London"
                if city in UK_CITIES
                else "Europe/Dublin"
                if city in IE_CITIES
                else "Europe/Madrid"
            )
            if city in UK_CITIES:
                domains, prefix, digits = EN_MAIL, "+44 7", 9
            elif city in IE_CITIES:
                domains, prefix, digits = EN_MAIL, "+353 8", 8
            else:
                domains, prefix, digits = EN_MAIL, "+34 6", 8
        channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        base_first = _ascii(first).lower().replace("'", "")
        base_last = _ascii(last1).lower().replace("'", "").replace(" ", "")
        style = rng.randrange(4)
        year = rng.randrange(60, 100)
        domain = rng.choice(domains)

        def email(n: int) -> str:
            suffix = "" if n == 0 else str(n + 1)
            local = (
                f"{base_first}.{base_last}",
                f"{base_first}{base_last}{year}",
                f"{base_first[0]}{base_last}",
                f"{base_first}_{base_last}",
            )[style]
            return f"{local}{suffix}@{domain}"

        identities: dict[str, str] = {}
        if channel not in SOCIAL or rng.random() < 0.5:
            identities["email"] = self._unique("email", email)
        if channel in ("phone", "whatsapp") or rng.random() < 0.45:
            number = self._unique(
                "phone",
                lambda n: prefix + "".join(str(rng.randrange(10)) for _ in range(digits)),
            )
            identities["phone"] = number
            if channel == "whatsapp":
                identities["whatsapp"] = number
        if channel in SOCIAL:
            handle = self._unique(
                channel,
                lambda n: (
                    f"{base_first}{base_last[:6]}"
                    if n == 0
                    else f"{base_first}_{base_last[:5]}{rng.randrange(10, 99)}"
                ),
            )
            identities[channel] = handle[:30]
        return _Persona(no, lang, first, full, timezone, city, channel, identities)

    # time
    def at_customer_hours(self, value: datetime) -> datetime:
        local = value.astimezone(MADRID)
        if local.hour < 8:
            local = local.replace(hour=8, minute=self.rng.randrange(60))
        elif local.hour == 23 and local.minute > 30:
            local = (local + timedelta(days=1)).replace(hour=8, minute=self.rng.randrange(60))
        return local.astimezone(UTC)

    def at_office_hours(self, value: datetime) -> datetime:
        local = value.astimezone(MADRID)
        for _ in range(10):
            closes = 15 if local.weekday() == 4 else 18
            if local.weekday() < 5 and 9 <= local.hour < closes:
                break
            if local.weekday() < 5 and local.hour < 9:
                local = local.replace(hour=9, minute=self.rng.randrange(50))
                continue
            local = (local + timedelta(days=1)).replace(hour=9, minute=self.rng.randrange(50))
        return local.astimezone(UTC)

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    # cases
    def plan_cases(self) -> list[_CasePlan]:
        rng = self.rng
        personas = self.personas
        repeaters = set(rng.sample(range(len(personas)), k=len(personas) // 4))
        plans: list[_CasePlan] = []
        for persona in personas:
            if persona.no in repeaters:
                status = "closed" if rng.random() < 0.7 else "resolved"
                first = self._case(len(plans), persona, status=status, age=(45, 58))
                plans.append(first)
                after = first.steps[-1][0] + timedelta(days=1)
                if after < self.now - timedelta(hours=6):
                    plans.append(self._second_case(len(plans), persona, after))
            else:
                plans.append(self._case(len(plans), persona, status=None, age=None))
        return plans

    def _second_case(self, no: int, persona: _Persona, after: datetime) -> _CasePlan:
        """A later case for a customer whose first one is closed; it must start after it."""
        for _ in range(6):
            plan = self._case(no, persona, status=None, age=None, after=after)
            if plan.steps[0][0] > after:
                return plan
        plan = self._case(no, persona, status="new", age=None, after=after)
        start = max(after, self.now - timedelta(hours=4)) + timedelta(minutes=30)
        plan.steps = [(start, "in", "complaint")]
        plan.opened = start
        return plan

    def _slots(self, persona: _Persona, topic: str, opened: datetime) -> dict[str, str]:
        rng = self.rng
        product_es, gender, product_en, price = PRODUCTS[
            rng.choice(TOPIC_PRODUCTS.get(topic, range(len(PRODUCTS))))
        ]
        lang = persona.lang
        if lang == "es":
            product = product_es
            a_product = ("un " if gender == "m" else "una ") + product
            the_product = ("el " if gender == "m" else "la ") + product
        else:
            product = product_en
            a_product = ("an " if product[0] in "AEIOU" else "a ") + product
            the_product = "the " + product
        amount = price if topic != "billing_error" else rng.choice((59.88, 49.0, 4.99 * 2))
        ordered = opened - timedelta(days=rng.randint(2, 12))
        return {
            "first": persona.first,
            "full": persona.full,
            "order": f"OH-{rng.randrange(200_000, 999_999)}",
            "amount": _money(amount, lang),
            "amount_value": f"{amount:.2f}",
            "product": product,
            "a_product": a_product,
            "the_product": the_product,
            "The_product": the_product[0].upper() + the_product[1:],
            "date": _day(ordered, lang),
            "carrier": rng.choice(CARRIERS),
            "city": persona.city,
            "days": str(rng.randint(3, 9)),
            "digits": f"{rng.randrange(10_000):04d}",
            "ref": f"DV-{rng.randrange(10_000, 99_999)}",
            "code": f"PERDON-{rng.randrange(1000, 9999)}",
            "refund_days": str(rng.choice((3, 5, 7))),
            "invoice": f"F-{opened.year}-{rng.randrange(10_000, 99_999)}",
            "agent": "",
        }

    def _case(
        self,
        no: int,
        persona: _Persona,
        *,
        status: str | None,
        age: tuple[float, float] | None,
        after: datetime | None = None,
    ) -> _CasePlan:
        rng = self.rng
        if status is None:
            status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        low, high = age or STATUS_AGE[status]
        opened = self.now - timedelta(days=rng.uniform(low, high))
        if after is not None and opened < after:
            opened = after + self.hours(2, 72)
        opened = self.at_customer_hours(opened)
        topic = rng.choices(list(TOPIC_WEIGHTS), weights=list(TOPIC_WEIGHTS.values()))[0]
        channel = persona.channel if rng.random() < 0.85 or after is None else "email"
        if CHANNEL_IDENTITY[channel] not in persona.identities:
            channel = persona.channel
        plan = _CasePlan(no, persona, topic, channel, status, self._slots(persona, topic, opened))
        plan.opened = opened
        self._steps(plan, opened)
        # A plan that would end in the future is moved back as a whole.
        latest = self.now - timedelta(minutes=rng.uniform(5, 90))
        overflow = plan.steps[-1][0] - latest
        if overflow > timedelta(0):
            plan.steps = [(t - overflow, kind, arg) for t, kind, arg in plan.steps]
            plan.opened = plan.steps[0][0]
        return plan

    def _steps(self, plan: _CasePlan, opened: datetime) -> None:
        rng = self.rng
        steps = plan.steps
        t = opened

        def customer(kind: str, gap: tuple[float, float]) -> None:
            nonlocal t
            t = self.at_customer_hours(t + self.hours(*gap))
            steps.append((t, "in", kind))

        def agent(kind: str, gap: tuple[float, float]) -> None:
            nonlocal t
            t = self.at_office_hours(t + self.hours(*gap))
            steps.append((t, kind.split(":")[0], kind))

        steps.append((t, "in", "complaint"))
        status = plan.status
        if status == "new":
            if rng.random() < 0.4:
                customer("chase", (6, 40))
            return
        if rng.random() < 0.15:
            customer("chase", (12, 50))
        agent("reply:apology", (0.3, 20))
        if status == "acknowledged":
            if rng.random() < 0.3:
                customer("wait_ok", (0.5, 8))
            return
        if rng.random() < 0.6:
            agent("note:0", (0.2, 6))
        if rng.random() < 0.06:
            agent("handover:handover", (0.5, 10))
        if status == "waiting_on_customer":
            agent("reply:ask:waiting_on_customer", (1, 30))
            return
        agent("status:in_progress", (0.1, 4))
        if status == "in_progress":
            if rng.random() < 0.35:
                customer("chase", (20, 70))
            return
        if rng.random() < 0.5:
            agent("reply:ask:waiting_on_customer", (2, 30))
            customer("info", (1, 30))
            if rng.random() < 0.5:
                agent("note:1", (0.5, 8))
        confirm = rng.random() < 0.45
        if confirm:
            agent("reply:fix_confirm:waiting_on_customer", (10, 80))
            customer("thanks", (2, 40))
            agent("reply:closing:resolved", (0.5, 20))
        else:
            agent("reply:fix:resolved", (10, 80))
        if rng.random() < 0.08:
            agent("reopen:reopen", (30, 100))
            agent("reply:reapology:resolved", (4, 40))
        if status == "closed":
            agent("status:closed", (48, 150))

    # errors
    def plan_errors(self, plans: list[_CasePlan]) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for topic, etype, severity, final, lang, proactive, title, desc, cause in ERRORS:
            matching = sorted((p for p in plans if p.topic == topic), key=lambda p: p.steps[0][0])
            if not matching:
                continue
            # Roughly half the cases about this kind of mistake come from the error; the
            # others have their own causes.
            share = rng.uniform(0.4, 0.6)
            k = max(min(4, len(matching)), round(len(matching) * share))
            complainers = sorted(rng.sample(matching, k), key=lambda p: p.steps[0][0])
            first_seen = complainers[0].steps[0][0]
            if proactive:
                detected = first_seen - self.hours(6, 48)
            else:
                anchor = complainers[min(1, len(complainers) - 1)].steps[0][0]
                detected = anchor + self.hours(2, 30)
            detected = min(self.at_office_hours(detected), self.now - timedelta(hours=2))
            others = [
                p
                for p in plans
                if p.topic != topic and p.persona.no not in {c.persona.no for c in complainers}
            ]
            extras = rng.sample(others, k=min(len(others), rng.randint(1, 5)))
            out.append(
                {
                    "topic": topic,
                    "type": etype,
                    "severity": severity,
                    "final": final,
                    "lang": lang,
                    "title": title,
                    "description": desc,
                    "root_cause": cause,
                    "detected": detected,
                    "complainers": complainers,
                    "extras": extras,
                }
            )
        return out


# --- replaying the story through the domain actions -------------------------------------------


class _StoryClock:
    """The moment of the story being replayed; :func:`_story_time` makes it the time."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.started = start


@contextmanager
def _story_time(clock: _StoryClock, session: Session) -> Iterator[None]:
    """While seeding, :func:`meaculpa.core.clock.utcnow` (and so every action and column
    default) answers the story's time; only the seeding thread sees it."""
    with clock_override(lambda: clock.now):
        yield


class _Seeder:
    def __init__(
        self,
        session: Session,
        story: _Story,
        clock: _StoryClock,
        *,
        recovery_rng: random.Random | None = None,
        settings: Settings | None = None,
        schedule: Callable[[datetime, Callable[[], None]], None] | None = None,
    ) -> None:
        self.session = session
        self.story = story
        self.rng = story.rng
        self.clock = clock
        self.staff: dict[str, User] = {}
        self.system = Actor.system("demo")
        # The recovery layer (promises, remedies, checklists, follow-ups) draws from its own
        # generator, so the conversations stay the ones the base story tells.
        self.rr = recovery_rng or random.Random(SEED + 1)  # noqa: S311 - not a secret
        self.settings = settings or _settings()
        self.mail = MailContext(self.settings.mail_domain, self.settings.base_url)
        self._schedule = schedule
        # Nothing the recovery layer adds happens after this moment.
        self.limit = story.now - timedelta(minutes=3)
        self.followups_seen: set[int] = set()

    def actor(self, user: User) -> Actor:
        return Actor(kind="user", id=user.id, label=user.email, role=user.role)

    def text(self, lang: str, key: str, topic: str | None, slots: dict[str, str]) -> str:
        pool = TOPICS[topic][lang].get(key) if topic else None
        if not pool:
            pool = GENERIC[lang][key]
        return self.rng.choice(pool).format_map(slots)

    # organisation and people
    def setup(self, start: datetime) -> None:
        session = self.session
        self.clock.now = start
        created = get_organisation(session) is None
        do_setup_organisation(
            session, self.system, name=COMPANY, language="es", timezone="Europe/Madrid"
        )
        if created:
            years = sorted({2026, 2027, start.year, self.story.now.year, self.story.now.year + 1})
            holidays = [d for y in years for d in spain_national_holidays(y)]
            do_update_organisation(
                session,
                self.system,
                OrganisationUpdate(business_hours=BUSINESS_HOURS, holidays=holidays),
            )
        session.flush()
        teams = []
        for name in TEAMS:
            team = session.scalar(select(Team).where(Team.name == name))
            teams.append(team or do_create_team(session, self.system, TeamCreate(name=name)))
        shared_hash = hash_password(DEMO_PASSWORD)
        for email, name, role, lang, team_no in STAFF:
            user = get_user_by_email(session, email)
            if user is None:
                user = do_create_user(
                    session,
                    self.system,
                    UserCreate.model_validate(
                        {
                            "email": email,
                            "name": name,
                            "role": role,
                            "language": lang,
                            "team_id": teams[team_no].id if team_no is not None else None,
                        }
                    ),
                )
                user.password_hash = shared_hash
            self.staff[email] = user
        session.flush()

    # cases
    def case_step(self, plan: _CasePlan, kind: str, arg: str) -> None:
        session = self.session
        persona = plan.persona
        lang = persona.lang
        if kind == "in":
            self.inbound(plan, arg)
            session.flush()
            return
        assert plan.case_id is not None
        case = session.get(Case, plan.case_id, populate_existing=True)
        assert case is not None
        owner = session.get(User, case.owner_id) if case.owner_id else None
        if owner is None:
            owner = self.staff["marta.ruiz@demo.meaculpa"]
        actor = self.actor(owner)
        slots = dict(plan.slots, agent=owner.name.split()[0])
        parts = arg.split(":")
        if kind == "reply":
            body_key, status = parts[1], (parts[2] if len(parts) > 2 else None)
            text = self.reply_text(
                lang,
                plan.topic,
                body_key,
                slots,
                short=plan.channel in CHAT_LIKE,
                promise=self.promise(lang, plan.topic, body_key, slots),
            )
            message = do_add_reply(
                session,
                actor,
                case,
                ReplyIn.model_validate({"direction": "outbound", "text": text, "status": status}),
            )
            self.after_reply(plan, case, message, body_key)
        elif kind == "note":
            notes = TOPICS[plan.topic][lang]["note"]
            text = notes[min(int(parts[1]), len(notes) - 1)].format_map(slots)
            do_add_reply(
                session, actor, case, ReplyIn.model_validate({"direction": "note", "text": text})
            )
        elif kind == "status":
            if parts[1] == "closed" and case.status != "resolved":
                # The customer's follow-up answer reopened it: it closes after it is resolved
                # again (see _answer_followup).
                plan.detail["close_later"] = True
                return
            do_update_case(session, actor, case, status=parts[1])
        elif kind == "reopen":
            manager = self.manager_for(lang)
            do_reopen_case(
                session, self.actor(manager), case, reason=self.text(lang, "reopen", None, slots)
            )
        elif kind == "handover":
            manager = self.manager_for(lang)
            agents = [u for u in self.staff.values() if u.role == "agent" and u.id != case.owner_id]
            target = self.rng.choice(agents)
            note = self.text(lang, "handover", None, dict(slots, agent=target.name))
            do_update_case(
                session,
                self.actor(manager),
                case,
                owner_id=target.id,
                owner_set=True,
                handover_note=note,
            )

        self.watch_followups(plan)

    def manager_for(self, lang: str) -> User:
        email = "marta.ruiz@demo.meaculpa" if lang == "es" else "helen.carter@demo.meaculpa"
        return self.staff[email]

    def reply_text(
        self,
        lang: str,
        topic: str,
        key: str,
        slots: dict[str, str],
        *,
        short: bool = False,
        promise: str | None = None,
    ) -> str:
        greeting = self.text(lang, "greeting", None, slots)
        signoff = self.text(lang, "signoff", None, slots)
        if short:
            greeting = ("Hola, {first}." if lang == "es" else "Hi {first},").format_map(slots)
            signoff = "— " + slots["agent"]
        if key == "ask":
            body = self.text(lang, "ask", topic, slots)
        elif key == "apology":
            body = self.text(lang, "apology", topic, slots)
        elif key == "fix":
            body = self.text(lang, "fix", topic, slots)
        elif key == "fix_confirm":
            body = (
                self.text(lang, "fix", topic, slots)
                + "\n\n"
                + self.text(lang, "followup_ok", None, slots)
            )
        elif key == "closing":
            body = self.text(lang, "closing", None, slots)
        else:
            body = self.text(lang, key, None, slots)
        if promise:
            body = f"{body} {promise}"
        if short:
            return f"{greeting} {body}\n{signoff}"
        return f"{greeting}\n\n{body}\n\n{signoff}"

    def inbound(self, plan: _CasePlan, kind: str) -> None:
        persona = plan.persona
        lang = persona.lang
        slots = dict(plan.slots)
        short = plan.channel in CHAT_LIKE
        if kind == "complaint" and short:
            text = self.text(lang, "short", plan.topic, slots)
            if plan.channel == "twitter":
                text = "@OlivarHogar " + text
            else:
                text = text[0].upper() + text[1:]
        elif kind == "complaint":
            text = self.text(lang, "complaint", plan.topic, slots)
        elif kind == "chase":
            pool_topic = plan.topic if self.rng.random() < 0.6 else None
            assert plan.opened is not None
            waited = (self.clock.now - plan.opened).days
            slots["days"] = str(int(slots["days"]) + waited)
            text = self.text(lang, "chase", pool_topic, slots)
        elif kind in ("info",):
            text = self.text(lang, "info", plan.topic, slots)
        else:
            agent = ""
            if plan.case_id is not None:
                case = self.session.get(Case, plan.case_id)
                owner = self.session.get(User, case.owner_id) if case and case.owner_id else None
                agent = owner.name.split()[0] if owner else ""
            text = self.text(lang, kind, None, dict(slots, agent=agent))
            text = text.replace(", .", ".").replace(" .", ".")
        channel = plan.channel
        kind_for_channel = CHANNEL_IDENTITY[channel]
        if persona.customer_id is None:
            identities = [{"kind": k, "value": v} for k, v in persona.identities.items()]
            customer: dict[str, Any] = {
                "name": persona.full,
                "language": lang,
                "timezone": persona.timezone,
                "identities": identities,
            }
        else:
            customer = {
                "identities": [
                    {"kind": kind_for_channel, "value": persona.identities[kind_for_channel]}
                ]
            }
        subject = ""
        if kind == "complaint" and channel in ("email", "web"):
            subject = self.text(lang, "subject", plan.topic, slots)
        elif channel == "email" and plan.case_id is not None:
            case = self.session.get(Case, plan.case_id)
            subject = ("Re: " + case.subject)[:300] if case is not None else ""
        message = InboundMessage.model_validate(
            {
                "channel": channel,
                "customer": customer,
                "text": text,
                "subject": subject,
                "language": lang,
                "external_id": f"demo-{plan.no}-{len(plan.detail.setdefault('in', []))}",
                "sent_at": self.clock.now,
            }
        )
        plan.detail["in"].append(kind)
        outcome = do_ingest_message(self.session, self.system, message)
        if persona.customer_id is None:
            persona.customer_id = outcome.customer.id
            persona.first_contact = self.clock.now
        plan.case_id = outcome.case.id

    # --- the recovery layer --------------------------------------------------------------------
    # Promises kept or missed, remedies, checklist steps and follow-up answers are decided as
    # the story is replayed and scheduled at their own story moment (never after ``limit``).

    def later(self, when: datetime, run: Callable[[], None]) -> None:
        if self._schedule is None or when > self.limit:
            return
        self._schedule(max(when, self.clock.now), run)

    def _case(self, plan: _CasePlan) -> Case:
        assert plan.case_id is not None
        case = self.session.get(Case, plan.case_id)
        assert case is not None
        return case

    def _owner(self, case: Case) -> User:
        owner = self.session.get(User, case.owner_id) if case.owner_id else None
        return owner or self.staff["marta.ruiz@demo.meaculpa"]

    def _team_manager(self, user: User) -> User:
        helen = self.staff["helen.carter@demo.meaculpa"]
        return (
            helen
            if user.team_id is not None and user.team_id == helen.team_id
            else (self.staff["marta.ruiz@demo.meaculpa"])
        )

    def promise(self, lang: str, topic: str, key: str, slots: dict[str, str]) -> str | None:
        """A promise with a date for the reply, or None: most apologies give one."""
        rr = self.rr
        if key == "apology" and rr.random() < 0.85:
            return rr.choice(PROMISES[lang][topic]).format_map(slots)
        if key == "reapology":
            return rr.choice(PROMISES[lang]["reapology"]).format_map(slots)
        if key == "ask" and rr.random() < 0.3:
            return rr.choice(PROMISES[lang][topic]).format_map(slots)
        return None

    def after_reply(self, plan: _CasePlan, case: Case, message: Message, key: str) -> None:
        now = self.clock.now
        promises = list(
            self.session.scalars(
                select(Commitment)
                .where(Commitment.message_id == message.id)
                .order_by(Commitment.id)
            )
        )
        for commitment in promises:
            self._plan_commitment(plan, commitment)
        minutes = timedelta(minutes=self.rr.uniform(2, 25))
        if key in ("apology", "reapology") and not plan.detail.get("checked_apology"):
            plan.detail["checked_apology"] = True
            for step, share in (("acknowledge", 0.85), ("apologise", 0.85), ("empathise", 0.5)):
                if self.rr.random() < share:
                    self.later(now + minutes, self._step_done(plan, step))
            self._plan_remedy(plan)
        if any(c.due_at is not None for c in promises) and self.rr.random() < 0.7:
            self.later(now + minutes, self._step_done(plan, "give_date"))
        if key.startswith("fix") and self.rr.random() < 0.7:
            self.later(now + minutes, self._step_done(plan, "explain"))
        if key == "closing" and self.rr.random() < 0.8:
            self.later(now + minutes, self._step_done(plan, "follow_up"))

    def _step_done(self, plan: _CasePlan, step: str) -> Callable[[], None]:
        def run() -> None:
            done: set[str] = plan.detail.setdefault("steps_done", set())
            if step in done:
                return
            case = self._case(plan)
            try:
                do_mark_step_done(self.session, self.actor(self._owner(case)), case, step)
            except (Conflict, NotFound):
                return
            done.add(step)

        return run

    # promises
    def _plan_commitment(self, plan: _CasePlan, commitment: Commitment) -> None:
        """Most promises are kept before they fall due; some are missed and the periodic scan
        marks them broken a few minutes after their due time."""
        rr, now = self.rr, self.clock.now
        cid = commitment.id
        if commitment.due_at is None:
            # Kept with the owner's next move on the case, if there is one.
            after = [t for t, kind, _ in plan.steps if t > now and kind != "in"]
            if after and rr.random() < 0.8:
                self.later(after[0] - timedelta(minutes=rr.uniform(1, 10)), self._keep(cid))
            return
        due = commitment.due_at.astimezone(UTC)
        if due <= self.limit:
            if rr.random() < 0.8:
                earliest = max(now + timedelta(minutes=10), due - timedelta(hours=8))
                latest = due - timedelta(minutes=2)
                if latest <= earliest:
                    earliest = now + (due - now) / 2
                when = earliest + (latest - earliest) * rr.random()
                self.later(when, self._keep(cid))
            else:
                self.later(due + timedelta(minutes=rr.uniform(0.5, 1)), self._scan)
        elif rr.random() < 0.25:
            self.later(now + (self.limit - now) * rr.random(), self._keep(cid))

    def _keep(self, commitment_id: int) -> Callable[[], None]:
        def run() -> None:
            commitment = self.session.get(Commitment, commitment_id)
            if commitment is None or commitment.state != "open":
                return
            owner = self.session.get(User, commitment.owner_id) if commitment.owner_id else None
            actor = self.actor(owner or self.staff["marta.ruiz@demo.meaculpa"])
            do_keep_commitment(self.session, actor, commitment)

        return run

    def _scan(self) -> None:
        """What ``commitments.scan`` does each minute about missed promises."""
        mark_missed(self.session, self.mail)

    # remedies
    def _plan_remedy(self, plan: _CasePlan) -> None:
        rr, now = self.rr, self.clock.now
        share = {"resolved": 0.7, "closed": 0.7, "in_progress": 0.5, "waiting_on_customer": 0.35}
        if rr.random() >= share.get(plan.status, 0.0):
            return
        lang = plan.persona.lang
        kind, amount, desc_es, desc_en = rr.choice(REMEDIES[plan.topic])
        offer = (
            kind,
            amount.format_map(plan.slots) if amount else None,
            (desc_es if lang == "es" else desc_en).format_map(plan.slots),
        )
        fix = next(
            (t for t, k, arg in plan.steps if t > now and k == "reply" and ":fix" in arg), None
        )
        state: dict[str, Any] = {}
        if fix is None:
            # Still open: proposed, and perhaps approved, while the work goes on.
            proposed = self.story.at_office_hours(now + self.story.hours(1, 24))
            self.later(proposed, self._propose(plan, state, offer))
            if rr.random() < 0.5:
                approved = self.story.at_office_hours(proposed + self.story.hours(0.5, 20))
                self.later(approved, self._approve(plan, state))
            return
        span = fix - now
        marks = sorted(rr.uniform(0.1, 0.95) for _ in range(4))
        at = [now + span * m for m in marks]
        if rr.random() < 0.12:
            # Too generous: a manager turns it down and the owner proposes the usual remedy.
            g_kind, g_amount, g_desc, reason = rr.choice(GENEROUS[lang])
            self.later(at[0], self._propose(plan, state, (g_kind, g_amount, g_desc)))
            self.later(at[1], self._reject(plan, state, reason))
            self.later(
                at[1] + timedelta(minutes=rr.uniform(5, 40)), self._propose(plan, state, offer)
            )
        else:
            self.later(at[1], self._propose(plan, state, offer))
        self.later(at[2], self._approve(plan, state))
        self.later(at[3], self._deliver(plan, state))

    def _propose(
        self, plan: _CasePlan, state: dict[str, Any], offer: tuple[str, str | None, str]
    ) -> Callable[[], None]:
        def run() -> None:
            kind, amount, description = offer
            case = self._case(plan)
            data = RemedyCreate.model_validate(
                {
                    "kind": kind,
                    "description": description,
                    "amount": amount,
                    "currency": "EUR" if amount else None,
                }
            )
            remedy = do_propose_remedy(self.session, self.actor(self._owner(case)), case, data)
            state["id"] = remedy.id

        return run

    def _approver(self, case: Case, remedy: Remedy) -> User:
        """The owner when it is within their limit, else their team's manager."""
        owner = self._owner(case)
        limit = load_policy(self.session).limit_for(owner.role, remedy.currency)
        within = limit is None or remedy.amount_minor is None or remedy.amount_minor <= limit
        if within and self.rr.random() < 0.85:
            return owner
        return self._team_manager(owner)

    def _remedy_in(self, state: dict[str, Any], expected: str) -> Remedy | None:
        remedy = self.session.get(Remedy, state["id"]) if "id" in state else None
        return remedy if remedy is not None and remedy.state == expected else None

    def _approve(self, plan: _CasePlan, state: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            remedy = self._remedy_in(state, "proposed")
            if remedy is not None:
                case = self._case(plan)
                do_approve_remedy(self.session, self.actor(self._approver(case, remedy)), remedy)

        return run

    def _reject(self, plan: _CasePlan, state: dict[str, Any], reason: str) -> Callable[[], None]:
        def run() -> None:
            remedy = self._remedy_in(state, "proposed")
            if remedy is not None:
                manager = self._team_manager(self._owner(self._case(plan)))
                do_reject_remedy(self.session, self.actor(manager), remedy, reason=reason)

        return run

    def _deliver(self, plan: _CasePlan, state: dict[str, Any]) -> Callable[[], None]:
        def run() -> None:
            remedy = self._remedy_in(state, "approved")
            if remedy is not None:
                do_deliver_remedy(self.session, self.actor(self._owner(self._case(plan))), remedy)
                if self.rr.random() < 0.9:
                    self._step_done(plan, "remedy")()

        return run

    # follow-ups
    def watch_followups(self, plan: _CasePlan) -> None:
        """A resolution scheduled a follow-up: send it when it falls due, as the job does."""
        if plan.case_id is None:
            return
        rows = self.session.execute(
            select(Followup.id, Followup.due_at).where(
                Followup.case_id == plan.case_id, Followup.status == "scheduled"
            )
        ).all()
        for followup_id, due_at in rows:
            if followup_id in self.followups_seen:
                continue
            self.followups_seen.add(followup_id)
            self.later(
                due_at.replace(tzinfo=UTC) if due_at.tzinfo is None else due_at,
                self._send_followup(plan, followup_id),
            )

    def _send_followup(self, plan: _CasePlan, followup_id: int) -> Callable[[], None]:
        def run() -> None:
            status = do_send_followup(
                self.session,
                followup_id,
                secret=self.settings.secret_key,
                base_url=self.settings.base_url,
                mail_domain=self.settings.mail_domain,
            )
            if status == "sent" and self.rr.random() < 0.75:
                answered = self.story.at_customer_hours(self.clock.now + self.story.hours(1, 72))
                self.later(answered, self._answer_followup(plan, followup_id))

        return run

    def _answer_followup(self, plan: _CasePlan, followup_id: int) -> Callable[[], None]:
        def run() -> None:
            rr, now, lang = self.rr, self.clock.now, plan.persona.lang
            rating = rr.choices((5, 4, 3, 2, 1), weights=(46, 30, 11, 7, 6))[0]
            solved = rr.random() < {5: 0.97, 4: 0.93, 3: 0.7, 2: 0.35, 1: 0.25}[rating]
            if any(k == "reopen" and t > now for t, k, _ in plan.steps):
                solved = True  # the story reopens this case itself later
            mood = "happy" if rating >= 4 else "meh"
            comment = rr.choice(FOLLOWUP_COMMENTS[lang][mood if solved else "unsolved"])
            followup, stored = do_answer_followup(
                self.session,
                followup_id,
                AnswerIn(solved=solved, rating=rating, comment=comment),
                base_url=self.settings.base_url,
                mail_domain=self.settings.mail_domain,
            )
            if not stored:
                return
            if followup.reopened_case:
                again = self.story.at_office_hours(now + self.story.hours(2, 30))
                self.later(again, self._resolve_again(plan))
            elif rr.random() < 0.6:
                self.later(now + self.story.hours(0.5, 20), self._step_done(plan, "follow_up"))

        return run

    def _resolve_again(self, plan: _CasePlan) -> Callable[[], None]:
        def run() -> None:
            if self._case(plan).status in ("resolved", "closed"):
                return
            self.case_step(plan, "reply", "reply:reapology:resolved")
            if plan.detail.pop("close_later", False):
                closed = self.story.at_office_hours(self.clock.now + self.story.hours(48, 150))
                self.later(closed, lambda: self.case_step(plan, "status", "status:closed"))

        return run

    # errors
    def error_steps(self, spec: dict[str, Any]) -> list[tuple[datetime, Callable[[], None]]]:
        rng = self.rng
        now = self.story.now
        reporter = self.manager_for(spec["lang"])
        state: dict[str, Any] = {}
        steps: list[tuple[datetime, Callable[[], None]]] = []
        detected: datetime = spec["detected"]

        def create() -> None:
            error = do_create_error(
                self.session,
                self.actor(reporter),
                ErrorCreate(
                    title=spec["title"],
                    description=spec["description"],
                    type=spec["type"],
                    severity=spec["severity"],
                    detected_at=detected,
                ),
            )
            state["error"] = error

        steps.append((detected, create))
        affected: list[tuple[_CasePlan, bool]] = [(p, True) for p in spec["complainers"]]
        affected += [(p, False) for p in spec["extras"]]
        for plan, complained in affected:
            first_seen = plan.steps[0][0]
            when = max(detected, first_seen) + self.story.hours(0.5, 30)
            when = min(when, now - timedelta(minutes=30))
            if when <= first_seen:
                continue
            steps.append((when, self._affect(state, plan, complained)))
            if rng.random() < 0.6 and plan.status in ("resolved", "closed"):
                later = min(
                    plan.steps[-1][0] + self.story.hours(0.2, 6), now - timedelta(minutes=20)
                )
                if later > when:
                    steps.append((later, self._remedy(state, plan)))
        flow = ("investigating", "fixing", "fixed", "closed")
        final = spec["final"]
        t = detected
        if final != "open":
            for status in flow[: flow.index(final) + 1]:
                t = min(
                    self.story.at_office_hours(t + self.story.hours(10, 96)),
                    now - timedelta(minutes=15),
                )
                steps.append((t, self._error_status(state, reporter, status, spec)))
        return steps

    def _affect(
        self, state: dict[str, Any], plan: _CasePlan, complained: bool
    ) -> Callable[[], None]:
        def run() -> None:
            assert plan.persona.customer_id is not None
            amount = float(plan.slots["amount_value"])
            details: dict[str, Any] = {"order": plan.slots["order"], "amount_eur": amount}
            if plan.topic == "late_delivery":
                details["carrier"] = plan.slots["carrier"]
            if plan.topic == "billing_error":
                details["invoice"] = plan.slots["invoice"]
            if plan.topic == "broken_product":
                details["product"] = plan.slots["product"]
            if complained:
                status = plan.status
                initial = "complained" if status in ("new", "acknowledged") else "apologised"
            else:
                initial = self.rng.choice(("identified", "contacted", "apologised"))
            data = AffectedIn.model_validate(
                {"customer_id": plan.persona.customer_id, "details": details, "state": initial}
            )
            error = state["error"]
            exists = self.session.scalar(
                select(AffectedCustomer.id).where(
                    AffectedCustomer.error_id == error.id,
                    AffectedCustomer.customer_id == plan.persona.customer_id,
                )
            )
            if exists is None:
                do_add_affected(self.session, self.actor(self.manager_for("es")), error, data)

        return run

    def _remedy(self, state: dict[str, Any], plan: _CasePlan) -> Callable[[], None]:
        def run() -> None:
            error = state["error"]
            row = self.session.scalar(
                select(AffectedCustomer).where(
                    AffectedCustomer.error_id == error.id,
                    AffectedCustomer.customer_id == plan.persona.customer_id,
                )
            )
            if row is not None:
                final = "resolved" if plan.status == "closed" else "remedied"
                do_update_affected(
                    self.session,
                    self.actor(self.manager_for("es")),
                    error,
                    row,
                    AffectedUpdate.model_validate({"state": final}),
                )

        return run

    def _error_status(
        self, state: dict[str, Any], reporter: User, status: str, spec: dict[str, Any]
    ) -> Callable[[], None]:
        def run() -> None:
            changes: dict[str, Any] = {"status": status}
            if status == "fixing" and spec["root_cause"]:
                changes["root_cause"] = spec["root_cause"]
            do_update_error(
                self.session,
                self.actor(reporter),
                state["error"],
                ErrorUpdate.model_validate(changes),
            )

        return run


# --- entry point ------------------------------------------------------------------------------


def _counts(session: Session) -> dict[str, int]:
    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "customers": count(Customer),
        "cases": count(Case),
        "messages": count(Message),
        "errors": count(Error),
        "users": count(User),
    }


def _recovery_counts(session: Session) -> dict[str, int]:
    def count(model: Any, *where: Any) -> int:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return int(session.scalar(stmt) or 0)

    return {
        "promises": count(Commitment),
        "promises_kept": count(Commitment, Commitment.state == "kept"),
        "promises_broken": count(Commitment, Commitment.state == "broken"),
        "remedies": count(Remedy),
        "remedies_delivered": count(Remedy, Remedy.state == "delivered"),
        "remedies_rejected": count(Remedy, Remedy.state == "rejected"),
        "steps_done": count(CaseStep),
        "followups_answered": count(Followup, Followup.answered_at.is_not(None)),
    }


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError:  # a production setting refused elsewhere; the links only need a shape
        return Settings.model_construct()


DEMO_MAIL_NOTE = "demo data: written by meaculpa demo, never sent"


def seed_demo(
    db: Database,
    *,
    customers: int = 200,
    seed: int = SEED,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> DemoResult:
    """Seed the demo story unless the database already holds customers."""
    started = time.perf_counter()
    real_now = now or utcnow()
    with db.transaction() as session:
        existing = _counts(session)
        if existing["customers"]:
            admin = get_user_by_email(session, DEMO_ADMIN_EMAIL)
            return DemoResult(
                False,
                seconds=time.perf_counter() - started,
                login=admin.email if admin else None,
                recovery={},
                **existing,
            )
        last_email = session.scalar(select(func.max(OutboundEmail.id))) or 0
        # The story ends at the start of the current hour: seeding within the same hour tells
        # exactly the same story.
        anchor = real_now.replace(minute=0, second=0, microsecond=0)
        story = _Story(random.Random(seed), anchor, customers)  # noqa: S311 - not a secret
        plans = story.plan_cases()
        clock = _StoryClock(real_now)
        # Every step of the story, in time order; the recovery layer adds steps as it goes.
        timeline: list[tuple[datetime, int, Callable[[], None]]] = []

        def schedule(when: datetime, run: Callable[[], None]) -> None:
            heapq.heappush(timeline, (when, next_no[0], run))
            next_no[0] += 1

        next_no = [0]
        with _story_time(clock, session):
            seeder = _Seeder(
                session,
                story,
                clock,
                recovery_rng=random.Random(seed + 1),  # noqa: S311 - not a secret
                settings=settings,
                schedule=schedule,
            )
            earliest = min(p.steps[0][0] for p in plans)
            seeder.setup(earliest - timedelta(days=30))
            for plan in plans:
                for when, kind, arg in plan.steps:
                    timeline.append((when, len(timeline), _bind(seeder, plan, kind, arg)))
            for spec in story.plan_errors(plans):
                for when, run in seeder.error_steps(spec):
                    timeline.append((when, len(timeline), run))
            next_no[0] = len(timeline)
            heapq.heapify(timeline)
            while timeline:
                when, _, run = heapq.heappop(timeline)
                clock.now = when
                run()
                session.flush()
        # The e-mails the story queued (follow-ups, alerts, replies) go to invented people:
        # keep them visible, never send them.
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id > last_email, OutboundEmail.status == "queued")
            .values(status="held", last_error=DEMO_MAIL_NOTE)
            .execution_options(synchronize_session=False)
        )
        counts = _counts(session)
        recovery = _recovery_counts(session)
    return DemoResult(
        True,
        seconds=time.perf_counter() - started,
        login=DEMO_ADMIN_EMAIL,
        recovery=recovery,
        **counts,
    )


def _bind(seeder: _Seeder, plan: _CasePlan, kind: str, arg: str) -> Callable[[], None]:
    return lambda: seeder.case_step(plan, kind, arg)
