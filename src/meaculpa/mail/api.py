"""JSON API of the mail domain: ``POST /api/v1/inbound/email`` takes one raw e-mail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from meaculpa.core.deps import DB, ApiActor
from meaculpa.core.exceptions import PayloadTooLarge, ProblemError
from meaculpa.mail.actions import receive_email
from meaculpa.mail.config import mail_config
from meaculpa.mail.parse import MailError

router = APIRouter(tags=["mail"])

ACCEPTED_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")


class MalformedEmail(ProblemError):
    status = 422
    title = "Malformed e-mail"
    type_slug = "malformed-email"


class UnsupportedMediaType(ProblemError):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


@router.post(
    "/inbound/email",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        200: {
            "description": "already received (the stored message), or ignored: "
            '{"ignored": "auto-reply" | "bounce", "reason": ...}'
        },
        201: {"description": "stored: the message, its case and customer"},
        413: {"description": "the e-mail is larger than MEACULPA_MAIL_MAX_RAW_BYTES"},
        422: {"description": "malformed MIME, huge HTML, no usable From address"},
    },
)
async def inbound_email(request: Request, actor: ApiActor, db: DB) -> JSONResponse:
    """Take one e-mail as its raw RFC 5322 bytes (``Content-Type: message/rfc822``), as a mail
    server's pipe or a forwarding service delivers it.

    The e-mail is threaded to its case by In-Reply-To / References or by the case reference
    in the subject (only among the sender's own cases), else handled as any inbound message.
    Auto-replies and bounces are not turned into cases. Sending the same e-mail again
    (same Message-ID) returns the stored message with 200.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            "send the raw e-mail with Content-Type: message/rfc822", accepted=list(ACCEPTED_TYPES)
        )
    config = mail_config()
    limit = config.mail_max_raw_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the e-mail is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        result = await run_in_threadpool(receive_email, db, actor, raw, config)
    except MailError as exc:
        raise MalformedEmail(str(exc)) from exc
    if result.outcome is None:
        return JSONResponse(result.body(), status_code=200)
    return JSONResponse(result.body(), status_code=201 if result.outcome.created else 200)
