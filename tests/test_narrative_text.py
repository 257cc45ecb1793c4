"""Report text extraction: attachments in any type and charset, Binaries, text.div, bounds."""

from __future__ import annotations

import base64

from cds_service.clinical.reading.document import binary_urls
from cds_service.clinical.reading.transport import MAX_ATTACHMENT_BYTES, report_text


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def report(*forms, conclusion=None, div=None) -> dict:
    doc = {"resourceType": "DiagnosticReport", "presentedForm": list(forms)}
    if conclusion:
        doc["conclusion"] = conclusion
    if div:
        doc["text"] = {"status": "generated", "div": div}
    return doc


def test_charsets_and_byte_order_marks():
    text = "Left kidney: mass with calcification, 5\u00b72 cm, caf\u00e9"
    for charset in ("utf-8", "iso-8859-1", "windows-1252", "utf-16"):
        raw = text.replace("\u00b7", ".").encode(charset)
        got = report_text(report({"contentType": f"text/plain; charset={charset}", "data": b64(raw)}), {}, 5000)
        assert "caf\u00e9" in got and "calcification" in got
    bom = report({"contentType": "text/plain", "data": b64(b"\xef\xbb\xbfLeft renal mass")})
    assert report_text(bom, {}, 5000) == "Left renal mass"


def test_unknown_charset_falls_back_instead_of_failing():
    got = report_text(report({"contentType": "text/plain; charset=x-nonsense", "data": b64(b"renal mass")}), {}, 5000)
    assert got == "renal mass"


def test_html_rtf_div_and_pdf():
    html = b64(b"<p><b>No</b> internal <u>calcification</u></p><p>non-<i>calcified</i> mass</p><script>x()</script>")
    rtf = b64(rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Arial;}}\f0 Left renal \b mass\b0  with calcification\par}")
    pdf = b64(b"%PDF-1.4 binary")
    got = report_text(
        report(
            {"contentType": "text/html", "data": html},
            {"contentType": "text/rtf", "data": rtf},
            {"contentType": "application/pdf", "data": pdf},
            div="<div>Impression: renal mass</div>",
            conclusion="Conclusion first",
        ),
        {},
        5000,
    )
    assert got.startswith("Conclusion first")
    assert "No internal calcification" in got and "non-calcified mass" in got and "x()" not in got
    assert "Left renal mass with calcification" in got and "Impression: renal mass" in got and "PDF" not in got


def test_binary_by_url_and_bounds():
    form = {"contentType": "text/plain", "url": "https://ehr.example/fhir/Binary/b1"}
    assert binary_urls(report(form)) == ["https://ehr.example/fhir/Binary/b1"]
    binaries = {"Binary/b1": {"resourceType": "Binary", "contentType": "text/plain", "data": b64(b"Flank mass")}}
    assert report_text(report(form), binaries, 5000) == "Flank mass"
    assert report_text(report(form), {}, 5000) == ""
    huge = report({"contentType": "text/plain", "data": b64(b"a" * (MAX_ATTACHMENT_BYTES * 3))})
    assert len(report_text(huge, {}, 10**9)) <= MAX_ATTACHMENT_BYTES
    broken = report({"contentType": "text/plain", "data": "!!!not base64!!!"}, conclusion="still read")
    assert report_text(broken, {}, 5000).startswith("still read")
