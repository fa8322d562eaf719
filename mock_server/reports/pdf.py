"""The clinic-ready PDF report: two A4 pages a clinician can read in a minute.

Page 1 answers "what is going on": who and when, the findings (patterns first), pain over time with
flares, where it hurts and how. Page 2 holds the context: wellbeing, sleep and HRV, weekday and
time-of-day profiles, the flare list if it did not fit, and the methods in one paragraph.

fpdf2 embeds DejaVu Sans (shipped with matplotlib, so no font files in this repo) as a subset, which
covers every character of the seven languages; charts come from :mod:`.charts`. No word is written in
this module: labels, sentences, month names and number formats all come from the language's catalogue.
The creation date is the report's ``generated_at``, so the same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from mock_server.reports import analysis as rules
from mock_server.reports import charts, sentences
from mock_server.reports.i18n import SUPPORTED_LANGUAGES, Catalogue, catalogue
from mock_server.reports.series import Record, build_series
from mock_server.timeutil import parse_iso

__all__ = ["SUPPORTED_LANGUAGES", "render_report", "report_filename"]

FONT = "DejaVu"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
MARGIN = 12.0
PAGE_WIDTH = 210.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BOTTOM = 297.0 - 16.0  # lowest y content may reach; the footer sits below
TEXT = (33, 33, 33)
MUTED = (110, 110, 110)
ACCENT = (31, 78, 121)
STATUS_COLORS = {"found": (192, 57, 43), "not_found": (120, 120, 120), "not_enough_data": (170, 170, 170)}
STATUS_ORDER = {"found": 0, "not_found": 1, "not_enough_data": 2}
MAX_FLARE_ROWS = 8
MAX_RANKED_ROWS = 5


def report_filename(patient_id: str, period_from: date, period_to: date, lang: str) -> str:
    """A download name that is safe in a Content-Disposition header and sorts by patient and period."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", patient_id)
    return f"pain-report_{safe}_{period_from.isoformat()}_{period_to.isoformat()}_{lang}.pdf"


class _ReportPDF(FPDF):
    """FPDF with the report's footer (page x of y and the sandbox notice) on every page."""

    def __init__(self, cat: Catalogue, footer_left: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.cat = cat
        self.footer_left = footer_left

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        self.cell(CONTENT_WIDTH * 0.75, 4, self.footer_left)
        self.cell(
            CONTENT_WIDTH * 0.25,
            4,
            self.cat.text("labels.page", page=self.page_no(), pages="{nb}"),
            align="R",
        )


def render_report(
    analysis: Mapping[str, Any],
    pain_entries: Iterable[Record],
    wellbeing: Iterable[Record],
    vitals: Iterable[Record],
    *,
    lang: str,
    patient_label: str,
    period_from: date,
    period_to: date,
    generated_at: datetime,
    tz: str = "UTC",
) -> bytes:
    """Render the report for ``analysis`` (from :func:`analysis.analyze` on the same records and period).

    ``patient_label`` is the pseudonym printed on the report (never a name); ``tz`` the patient's zone,
    as given to ``analyze``. Raises ``ValueError`` for a language outside ``SUPPORTED_LANGUAGES``.
    """
    cat = catalogue(lang)
    series = build_series(
        pain_entries, wellbeing, vitals, period_from=period_from, period_to=period_to, tz=tz
    )
    zone = ZoneInfo(tz)
    pdf = _ReportPDF(cat, f"{patient_label} · {cat.text('labels.sandbox_notice')}")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=297.0 - BOTTOM)
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_title(cat.text("labels.title"))
    pdf.set_subject(patient_label)
    pdf.set_creator("care-sandbox")
    pdf.set_lang(lang)
    pdf.set_creation_date(generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=UTC))
    pdf.add_page()

    _header(pdf, cat, analysis, patient_label, period_from, period_to, generated_at.astimezone(zone), tz)
    _findings(pdf, cat, analysis["findings"])
    flares = [
        (
            parse_iso(f["start"]).astimezone(zone).replace(tzinfo=None),
            parse_iso(f["end"]).astimezone(zone).replace(tzinfo=None),
        )
        for f in analysis["flares"]
    ]
    trend = next(f for f in analysis["findings"] if f["kind"] == "trend")
    line = None
    if trend["status"] == "found":
        line = (trend["statistics"]["intercept"], trend["statistics"]["slope_per_day"])
    _section(pdf, cat.text("labels.pain_over_time"), 62)
    _chart(pdf, charts.pain_chart(series, flares, line, cat, width_mm=CONTENT_WIDTH, height_mm=60), 60)
    _ranked_tables(pdf, cat, analysis)
    _flare_table(pdf, cat, analysis["flares"], zone)

    pdf.add_page()
    _section(pdf, cat.text("labels.wellbeing"), 52)
    _chart(pdf, charts.wellbeing_chart(series, cat, width_mm=CONTENT_WIDTH, height_mm=50), 50)
    _section(pdf, cat.text("labels.sleep_hrv"), 52)
    _chart(pdf, charts.sleep_hrv_chart(series, cat, width_mm=CONTENT_WIDTH, height_mm=50), 50)
    _section(pdf, cat.text("labels.patterns"), 50)
    _chart(pdf, charts.patterns_chart(series, cat, width_mm=CONTENT_WIDTH, height_mm=48), 48)
    _methods(pdf, cat)
    return bytes(pdf.output())


def _ensure_space(pdf: FPDF, height: float) -> None:
    if pdf.get_y() + height > BOTTOM:
        pdf.add_page()


def _section(pdf: FPDF, title: str, following: float) -> None:
    """A section heading, moved to the next page together with what follows when it would not fit."""
    _ensure_space(pdf, 8 + following)
    pdf.ln(2)
    pdf.set_font(FONT, "B", 10.5)
    pdf.set_text_color(*ACCENT)
    pdf.cell(CONTENT_WIDTH, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*TEXT)


def _chart(pdf: FPDF, png: bytes, height: float) -> None:
    pdf.image(png, x=MARGIN, y=pdf.get_y(), w=CONTENT_WIDTH, h=height)
    pdf.set_y(pdf.get_y() + height)


def _header(
    pdf: FPDF,
    cat: Catalogue,
    analysis: Mapping[str, Any],
    patient_label: str,
    period_from: date,
    period_to: date,
    generated_local: datetime,
    tz: str,
) -> None:
    pdf.set_font(FONT, "B", 16)
    pdf.set_text_color(*ACCENT)
    pdf.cell(CONTENT_WIDTH, 8, cat.text("labels.title"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*STATUS_COLORS["found"])
    pdf.cell(CONTENT_WIDTH, 4, cat.text("labels.sandbox_notice"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)
    generated = f"{cat.date_long(generated_local.date())} {cat.time(generated_local)} ({tz})"
    rows = (
        (cat.text("labels.patient"), patient_label),
        (cat.text("labels.period"), cat.date_range(period_from, period_to)),
        (cat.text("labels.generated"), generated),
    )
    for label, value in rows:
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(42, 4.6, label)
        pdf.set_font(FONT, "B", 8.5)
        pdf.set_text_color(*TEXT)
        pdf.cell(CONTENT_WIDTH - 42, 4.6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    sufficiency = analysis["data_sufficiency"]
    pdf.set_font(FONT, "", 8.5)
    summary = cat.text(
        "labels.data_summary",
        entries=cat.integer(sufficiency["pain_entries"]),
        days_with=sufficiency["days_with_entries"],
        days=analysis["period"]["days"],
        rate=cat.percent(sufficiency["checkin_rate"]),
    )
    if not sufficiency["sufficient"]:
        summary = f"{summary} {cat.text('labels.insufficient')}"
    pdf.multi_cell(CONTENT_WIDTH, 4.6, summary, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.3)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + CONTENT_WIDTH, pdf.get_y())


def _status_mark(pdf: FPDF, status: str, x: float, y: float) -> None:
    """A filled dot (found), a ring (not found) or a dash (not enough data): readable in greyscale."""
    pdf.set_draw_color(*STATUS_COLORS[status])
    pdf.set_fill_color(*STATUS_COLORS[status])
    pdf.set_line_width(0.35)
    if status == "found":
        pdf.ellipse(x, y, 2.2, 2.2, style="F")
    elif status == "not_found":
        pdf.ellipse(x, y, 2.2, 2.2, style="D")
    else:
        pdf.line(x, y + 1.1, x + 2.2, y + 1.1)


def _findings(pdf: FPDF, cat: Catalogue, findings: Sequence[Mapping[str, Any]]) -> None:
    _section(pdf, cat.text("labels.findings"), 30)
    legend_y = pdf.get_y() - 5
    x = MARGIN + CONTENT_WIDTH
    pdf.set_font(FONT, "", 7)
    for status in reversed(STATUS_ORDER):
        label = cat.text(f"labels.status_{status}")
        x -= pdf.get_string_width(label) + 1
        pdf.set_text_color(*MUTED)
        pdf.text(x, legend_y + 2.1, label)
        x -= 3.2
        _status_mark(pdf, status, x, legend_y)
        x -= 3
    ordered = sorted(findings, key=lambda f: STATUS_ORDER[f["status"]])
    for finding in ordered:
        status = finding["status"]
        text = sentences.sentence(finding, cat)
        pdf.set_font(FONT, "B" if status == "found" else "", 8.5)
        lines = pdf.multi_cell(CONTENT_WIDTH - 6, 4.2, text, dry_run=True, output="LINES")
        height = len(cast(list[str], lines)) * 4.2
        _ensure_space(pdf, height + 1)
        _status_mark(pdf, status, MARGIN + 0.5, pdf.get_y() + 1.0)
        pdf.set_text_color(*(TEXT if status == "found" else MUTED))
        pdf.set_x(MARGIN + 5)
        pdf.multi_cell(CONTENT_WIDTH - 6, 4.2, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(0.8)
    pdf.set_text_color(*TEXT)


def _ranked_tables(pdf: FPDF, cat: Catalogue, analysis: Mapping[str, Any]) -> None:
    """Body areas and qualities side by side: name, entries, share and a bar for the share."""
    column = (CONTENT_WIDTH - 8) / 2
    rows = max(len(analysis["top_areas"]), len(analysis["top_qualities"]), 1)
    _ensure_space(pdf, 18 + rows * 4.6)
    top = pdf.get_y() + 2
    for index, (title_key, group, items) in enumerate(
        (
            ("labels.body_areas", "areas", analysis["top_areas"]),
            ("labels.qualities", "qualities", analysis["top_qualities"]),
        )
    ):
        x = MARGIN + index * (column + 8)
        pdf.set_xy(x, top)
        pdf.set_font(FONT, "B", 10.5)
        pdf.set_text_color(*ACCENT)
        pdf.cell(column * 0.5, 6, cat.text(title_key))
        pdf.set_font(FONT, "", 7)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(x + column * 0.5, top + 6)
        _fitted_cell(pdf, column * 0.16, 4, cat.text("labels.column_entries"), 7, align="R", gap=2)
        _fitted_cell(pdf, column * 0.16, 4, cat.text("labels.column_share"), 7, align="R", gap=2)
        y = top + 10
        pdf.set_text_color(*TEXT)
        if not items:
            pdf.set_xy(x, y)
            pdf.set_font(FONT, "", 8.5)
            pdf.cell(column, 4.6, cat.text("labels.no_data"))
        for item in items[:MAX_RANKED_ROWS]:
            pdf.set_xy(x, y)
            pdf.set_font(FONT, "", 8.5)
            _fitted_cell(pdf, column * 0.5, 4.6, cat.text(f"{group}.{item['id']}"), 8.5)
            pdf.set_font(FONT, "", 8.5)
            pdf.cell(column * 0.16, 4.6, cat.integer(item["count"]), align="R")
            pdf.cell(column * 0.16, 4.6, cat.percent(item["share"]), align="R")
            pdf.set_fill_color(*ACCENT)
            bar_width = column * 0.15 * min(1.0, item["share"])
            pdf.rect(x + column * 0.85, y + 1.3, max(0.3, bar_width), 2.2, style="F")
            y += 4.6
    pdf.set_xy(MARGIN, top + 10 + rows * 4.6 + 1)


def _fitted_cell(
    pdf: FPDF, width: float, height: float, text: str, size: float, align: str = "L", gap: float = 1.0
) -> None:
    """A cell whose font shrinks (down to 5.5 pt) until the text fits with ``gap`` mm to spare: long
    names and headers in some languages ("Proporción", "Schmerz bei leichter Berührung")."""
    pdf.set_font(FONT, "", size)
    while size > 5.5 and pdf.get_string_width(text) > width - gap:
        size -= 0.5
        pdf.set_font(FONT, "", size)
    pdf.cell(width, height, text, align=align)


def _flare_table(pdf: FPDF, cat: Catalogue, flares: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> None:
    if not flares:
        return
    shown = flares[:MAX_FLARE_ROWS]
    _section(pdf, cat.text("labels.flares"), 6 + 4.6 * min(len(shown), 3))
    widths = (52.0, 52.0, 30.0, 30.0)
    aligns = ("L", "L", "R", "R")
    keys = ("labels.flare_start", "labels.flare_end", "labels.flare_peak", "labels.flare_baseline")
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    for width, align, key in zip(widths, aligns, keys, strict=True):
        pdf.cell(width, 4.5, cat.text(key), align=align)
    pdf.ln(4.5)
    pdf.set_font(FONT, "", 8.5)
    pdf.set_text_color(*TEXT)
    for flare in shown:
        _ensure_space(pdf, 4.6)
        start = parse_iso(flare["start"]).astimezone(zone)
        end = parse_iso(flare["end"]).astimezone(zone)
        values = (
            cat.datetime_short(start),
            cat.datetime_short(end),
            cat.integer(flare["peak"]),
            cat.number(flare["baseline"], 1),
        )
        for width, align, value in zip(widths, aligns, values, strict=True):
            pdf.cell(width, 4.6, value, align=align)
        pdf.ln(4.6)
    if len(flares) > len(shown):
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(
            CONTENT_WIDTH,
            4.6,
            cat.text("labels.more_flares", count=len(flares) - len(shown)),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )


def _methods(pdf: FPDF, cat: Catalogue) -> None:
    text = cat.text(
        "labels.methods_text",
        rise=cat.integer(rules.FLARE_RISE),
        baseline_days=rules.FLARE_BASELINE_DAYS,
        gap_hours=rules.FLARE_GAP_HOURS,
        min_difference=cat.integer(rules.PATTERN_MIN_DIFFERENCE),
        alpha=cat.number(rules.ALPHA, 2),
        min_pairs=rules.MIN_PAIRS,
    )
    _section(pdf, cat.text("labels.methods"), 20)
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(CONTENT_WIDTH, 3.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
