"""The small, real PDF a forced ``application/pdf`` response carries (``Prefer: code=200``).

Why not an empty body: an integrator forcing the PDF operations tests the code that saves or opens the
file, so the bytes must be a PDF a viewer (and ``pdftotext``) accepts. Rendering a real report would
need a patient and a period; this one page says what it is instead. Built once, byte-identical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

_TEXT = (
    "care-sandbox: a forced response (Prefer: code=200). "
    "This placeholder stands in for a clinic-ready pain report; "
    "send the request without a Prefer header to receive the patient's real report."
)


@cache
def sample_pdf() -> bytes:
    # imported on first use: fpdf2 (and fontTools, PIL under it) is ~0.5 s of imports that the server's
    # start-up would otherwise pay through gateway.prefer, for a body few requests ever ask for
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))  # fixed: the same bytes on every start
    pdf.set_title("care-sandbox forced response")
    pdf.set_creator("care-sandbox")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, _TEXT)
    return bytes(pdf.output())
