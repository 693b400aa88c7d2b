"""Attachment bytes on disk, content-addressed by SHA-256, with size limits.

A file lives at ``<attachments_dir>/<first two hex digits>/<sha256>``. It is written to a
temporary name in the same folder and renamed into place, so a crash never leaves a partial
file under a real name; the same bytes arriving twice are stored once. An attachment over the
per-file limit, or one that would take the e-mail over the per-message total, is dropped
whole and named in a note; nothing is ever stored in part.

Files are written before the database transaction that references them commits: if that
transaction fails, the file stays on disk unreferenced (harmless; the same e-mail delivered
again finds it), never the other way round.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from meaculpa.mail.config import MailConfig
from meaculpa.mail.parse import Attachment

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Dropped:
    filename: str
    size: int
    reason: str  # "too_large" (over the per-file limit) or "over_total" (the e-mail's total)


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def blob_path(root: Path, sha256: str) -> Path:
    if not is_sha256(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return root / sha256[:2] / sha256


def write_blob(root: Path, data: bytes) -> str:
    """Store ``data`` (once) and return its SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = blob_path(root, sha256)
    if path.is_file() and path.stat().st_size == len(data):
        return sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return sha256


@dataclass(frozen=True)
class Plan:
    """Which attachments of an e-mail are kept (with their metadata) and which are dropped."""

    keep: list[Attachment]
    attachments: list[dict[str, object]]
    dropped: list[Dropped]


def plan_attachments(attachments: Iterable[Attachment], config: MailConfig) -> Plan:
    """Apply the size limits, in the order the attachments come; nothing is written."""
    keep: list[Attachment] = []
    meta: list[dict[str, object]] = []
    dropped: list[Dropped] = []
    total = 0
    for attachment in attachments:
        size = attachment.size
        if size > config.mail_max_attachment_bytes:
            dropped.append(Dropped(attachment.filename, size, "too_large"))
            continue
        if total + size > config.mail_max_attachments_total_bytes:
            dropped.append(Dropped(attachment.filename, size, "over_total"))
            continue
        total += size
        sha256 = attachment.sha256
        keep.append(attachment)
        meta.append(
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": size,
                "sha256": sha256,
                "url": f"/attachments/{sha256}",
            }
        )
    return Plan(keep, meta, dropped)


def write_plan(plan: Plan, config: MailConfig) -> None:
    root = Path(config.attachments_dir)
    for attachment in plan.keep:
        write_blob(root, attachment.data)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


NOTES = {
    "es": {
        "too_large": "[Adjunto «{name}» ({size}) no guardado: supera el límite de {limit} "
        "por archivo. Pida al cliente otra vía para enviarlo.]",
        "over_total": "[Adjunto «{name}» ({size}) no guardado: el correo supera el límite de "
        "{limit} de adjuntos en total. Pida al cliente otra vía para enviarlo.]",
    },
    "en": {
        "too_large": "[Attachment “{name}” ({size}) not stored: over the {limit} limit per "
        "file. Ask the customer for another way to send it.]",
        "over_total": "[Attachment “{name}” ({size}) not stored: the e-mail's attachments go "
        "over the {limit} total. Ask the customer for another way to send it.]",
    },
}


def dropped_note(dropped: list[Dropped], config: MailConfig, language: str) -> str:
    """The lines added to a message for the attachments that were not stored."""
    texts = NOTES.get(language, NOTES["es"])
    lines = []
    for item in dropped:
        limit = (
            config.mail_max_attachment_bytes
            if item.reason == "too_large"
            else config.mail_max_attachments_total_bytes
        )
        lines.append(
            texts[item.reason].format(
                name=item.filename, size=_megabytes(item.size), limit=_megabytes(limit)
            )
        )
    return "\n".join(lines)
