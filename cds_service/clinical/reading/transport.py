"""The words of an imaging report, whichever way the EHR sent them.

Imaging reports mostly arrive as DiagnosticReport `presentedForm` attachments or DocumentReference
`content.attachment`s (base64 text/plain, text/html or text/rtf in any charset), sometimes only as
a `url` to a Binary on the EHR's FHIR server (fetched earlier, in the parse stage, and handed in
here as `binaries`), sometimes as `text.div` or a `conclusion`. HTML goes through selectolax and
RTF through striprtf, not hand-written parsers; table cells keep a " | " between them so a lesion
table can still be read by column. Every form is bounded: decoding stops at MAX_ATTACHMENT_BYTES,
the joined text at `limit` chars.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import re

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from striprtf.striprtf import rtf_to_text

from ..codes import ref_key

log = logging.getLogger("cds_service.narrative")

MAX_ATTACHMENT_BYTES = 256 * 1024  # decoded bytes read from one attachment; the rest is ignored
BLOCKS = re.compile(r"</(p|div|li|h[1-6]|section|table)>|<br\s*/?>", re.IGNORECASE)
CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _decode_bytes(raw: bytes, content_type: str) -> str:
    match = CHARSET.search(content_type)
    charset = match.group(1) if match else "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    if raw.startswith(codecs.BOM_UTF8):
        raw, charset = raw[3:], "utf-8"
    elif raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        charset = "utf-16"
    return raw.decode(charset, errors="replace")


def html_text(markup: str) -> str:
    """Visible text of an HTML fragment, one line per block element. Inline tags add no space
    ("<b>non</b>-calcified" stays one word); table cells are separated by " | "."""
    tree = HTMLParser(BLOCKS.sub(lambda m: m.group(0) + "\n", markup))
    for node in tree.css("script, style"):
        node.decompose()
    # inside the cells: text put between them in the markup would be moved out of the table by the parser
    for cell in tree.css("td, th"):
        cell.insert_child(" | ")
    for row in tree.css("tr"):
        row.insert_child("\n")
    root = tree.body or tree.root
    return root.text(separator="") if root is not None else ""


def as_text(raw: bytes, content_type: str) -> str | None:
    """Plain text from attachment bytes of a text/* type; None for other types (PDF, images)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/plain", ""):
        return _decode_bytes(raw, content_type)
    if kind in ("text/html", "application/xhtml+xml"):
        return html_text(_decode_bytes(raw, content_type))
    if kind in ("text/rtf", "application/rtf"):
        try:
            return rtf_to_text(_decode_bytes(raw, content_type), errors="ignore")
        except Exception:  # noqa: BLE001 - striprtf raises plain exceptions on malformed RTF
            log.info("RTF report could not be read")
            return None
    return None


def _attachment_bytes(attachment: dict, binaries: dict) -> tuple[bytes | None, str]:
    declared = attachment.get("contentType")
    content_type: str = declared if isinstance(declared, str) else ""
    data = attachment.get("data")
    if not isinstance(data, str):
        url = attachment.get("url")
        binary = binaries.get(ref_key(url)) if isinstance(url, str) else None
        if binary is None:
            return None, content_type
        data = binary.get("data")
        content_type = binary.get("contentType") or content_type
        if not isinstance(data, str):
            return None, content_type
    # base64 of MAX bytes is 4/3 as long; cut before decoding so a huge attachment costs nothing
    chunk = data[: (MAX_ATTACHMENT_BYTES * 4) // 3 + 4]
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        return base64.b64decode(chunk, validate=False)[:MAX_ATTACHMENT_BYTES], content_type
    except (binascii.Error, ValueError):
        return None, content_type


def report_text(report: dict, binaries: dict, limit: int, attachments: list[dict] | None = None) -> str:
    """The report's narrative: conclusion, attachment texts (presentedForm, or a DocumentReference's
    content; `attachments` when the caller gathered them, addenda included), then text.div,
    within about `limit`."""
    parts: list[str] = [report["conclusion"]] if isinstance(report.get("conclusion"), str) else []
    if attachments is None:
        attachments = [a for a in report.get("presentedForm") or () if isinstance(a, dict)]
    for attachment in attachments:
        raw, content_type = _attachment_bytes(attachment, binaries)
        text = as_text(raw, content_type) if raw else None
        if text and text.strip():
            parts.append(text)
        if sum(map(len, parts)) >= limit:
            break
    div = (report.get("text") or {}).get("div") if isinstance(report.get("text"), dict) else None
    if isinstance(div, str) and sum(map(len, parts)) < limit:
        parts.append(html_text(div[: limit * 4]))
    return "\n\n".join(p.strip() for p in parts if p and p.strip())
