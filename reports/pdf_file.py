"""The finished PDF file: the action log attached, fixed metadata, an atomic write, text read back."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject, NameObject, NumberObject, StreamObject

from muster.errors import ReportError

__all__ = ["ACTION_LOG_ATTACHMENT", "attach_action_log", "extract_text", "pdf_date", "write_atomically"]

ACTION_LOG_ATTACHMENT = "action-log.json"


def pdf_date(moment: datetime) -> str:
    """A PDF date string in UTC: ``D:20261129024000+00'00'``."""
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


def attach_action_log(pdf: bytes, *, action_log: bytes, created_at: datetime, info: Mapping[str, str]) -> bytes:
    """``pdf`` with ``action_log`` embedded as ``action-log.json`` and ``info`` as its metadata.

    Deterministic: the attachment is compressed with zlib at a fixed level, its dates are
    ``created_at``, and the document keeps the (invariant) file ID reportlab gave it.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    attachment = writer.add_attachment(ACTION_LOG_ATTACHMENT, action_log)
    attachment.subtype = NameObject("/application#2Fjson")
    attachment.size = NumberObject(len(action_log))
    attachment.creation_date = created_at
    attachment.modification_date = created_at
    files = attachment.pdf_object["/EF"]
    stream = files["/F"] if isinstance(files, DictionaryObject) else None
    if not isinstance(stream, StreamObject):
        raise ReportError("pypdf stored the action-log attachment in an unexpected form; check the pypdf version")
    # pypdf stores attachments uncompressed; a 10,000-entry log is megabytes of JSON.
    stream.set_data(zlib.compress(action_log, 9))
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    created = pdf_date(created_at)
    writer.add_metadata({**info, "/CreationDate": created, "/ModDate": created})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_atomically(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` through a temporary file in the same directory; return its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def extract_text(path: Path) -> str:
    """The text of every page of the PDF at ``path``, pages separated by a form feed."""
    try:
        reader = PdfReader(path)
        return "\f".join(page.extract_text() for page in reader.pages)
    except (OSError, PyPdfError, ValueError) as exc:
        raise ReportError(f"cannot read the text of the PDF {path}: {exc}; is it a complete PDF report?") from exc
