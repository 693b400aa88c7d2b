"""Pages of the mail domain: downloading a stored e-mail attachment (signed-in users only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from meaculpa.core.deps import DB
from meaculpa.core.exceptions import NotFound
from meaculpa.mail.config import mail_config
from meaculpa.mail.queries import attachment_meta
from meaculpa.mail.storage import blob_path, is_sha256
from meaculpa.web.pages import CurrentUser

router = APIRouter(include_in_schema=False)

# Types a browser would run or render as a page: always served as plain bytes.
ACTIVE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "text/xsl",
    "application/pdf+html",
)


def safe_content_type(content_type: str) -> str:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not ctype or "/" not in ctype or ctype in ACTIVE_TYPES or ctype.endswith("+xml"):
        return "application/octet-stream"
    return ctype


@router.get("/attachments/{sha256}", name="attachment")
async def download_attachment(sha256: str, user: CurrentUser, db: DB) -> Response:
    """The file, always as a download (``Content-Disposition: attachment``), never sniffed."""
    if not is_sha256(sha256):
        raise NotFound("no such attachment")
    with db.reading() as session:
        meta = attachment_meta(session, sha256)
    path = blob_path(mail_config().attachments_dir, sha256)
    if meta is None or not path.is_file():
        raise NotFound("no such attachment")
    return FileResponse(
        path,
        media_type=safe_content_type(str(meta.get("content_type", ""))),
        filename=str(meta.get("filename") or sha256),
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
