"""How a report's text may reach the reader: as sent (plain, CRLF, all caps, lower case, one long
line) or as an attachment the service decodes (HTML, RTF). None of these changes what it says."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

TRANSPORTS = ("plain", "crlf", "caps", "lower", "one_line", "html", "rtf")
# a line that is a section title on its own: "Findings:", "LEFT KIDNEY:", "IMPRESSION"
TITLE_LINE = re.compile(r"^(?:[^:.]{1,40}:|[A-Z][A-Z /]{2,40})$")


@dataclass(frozen=True)
class Document:
    body: str | bytes
    content_type: str


def _html(lines: Sequence[str]) -> bytes:
    parts = []
    for line in lines:
        text = html.escape(line)
        parts.append(f"<p><b>{text}</b></p>" if TITLE_LINE.match(line) else f"<p>{text}</p>")
    return f"<html><head><title>Ultrasound</title></head><body>{''.join(parts)}</body></html>".encode()


def _rtf_escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    return "".join(ch if ord(ch) < 128 else f"\\u{ord(ch)}?" for ch in text)


def _rtf(lines: Sequence[str]) -> bytes:
    body = []
    for line in lines:
        text = _rtf_escape(line)
        body.append(f"\\b {text}\\b0\\par" if TITLE_LINE.match(line) else f"{text}\\par")
    head = "{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}\\viewkind4\\uc1\\pard\\f0\\fs20 "
    return (head + "\n".join(body) + "}").encode("ascii")


def render(lines: Sequence[str], transport: str) -> Document:
    plain = "\n".join(lines)
    if transport == "plain":
        return Document(plain, "text/plain")
    if transport == "crlf":
        return Document("\r\n".join(lines) + "\r\n", "text/plain")
    if transport == "caps":
        return Document(plain.upper(), "text/plain")
    if transport == "lower":
        return Document(plain.lower(), "text/plain")
    if transport == "one_line":
        return Document(" ".join(line.strip() for line in lines), "text/plain")
    if transport == "html":
        return Document(_html(lines), "text/html")
    if transport == "rtf":
        return Document(_rtf(lines), "text/rtf")
    raise ValueError(f"unknown transport {transport!r}")
