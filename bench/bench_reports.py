"""Benchmark: PDF report generation and FHIR Observation search, as ratios to anchors timed in the same run.

Run: ``.venv/bin/python bench/bench_reports.py [--runs 9 | --quick] [--examples DIR]``

* PDF: median wall time of analysis + 2-page PDF for one 90-day patient built here (seeded; its own
  generator so the figure does not move when synthetic_data's realism models change),
  against the anchor "bare fpdf2": a one-page document with the same DejaVu Sans embedded and one line of
  text. The ratio says what the report costs beyond fpdf2's fixed font/subset/output work.
* FHIR: searches per second for parse + filter + sort + page + Bundle on 1,000 Observations mapped by
  ``synthetic_data.exporters.fhir``,
  against the anchor "json.dumps of the same Bundle" (the serialization the handler must do anyway).

``--examples DIR`` also writes page 1 of the report in each language as ``report_<lang>.png`` (100 dpi,
needs ``pdftoppm`` from poppler-utils) — the images in ``mock_server/reports/examples/``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fpdf import FPDF
from PIL import Image

from mock_server.fhir.bundles import observation_searchset
from mock_server.fhir.search import parse_observation_search
from mock_server.reports import charts
from mock_server.reports.analysis import analyze
from mock_server.reports.i18n import catalogue
from mock_server.reports.pdf import FONT_DIR, SUPPORTED_LANGUAGES, render_report
from mock_server.reports.series import build_series
from synthetic_data.exporters import fhir as exporter

START = date(2026, 2, 1)
DAYS = 90
END = START + timedelta(days=DAYS - 1)
NOW = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
BASE = "http://localhost:8000/fhir/r4"


TIMEZONE = "Europe/Helsinki"


def patient(days: int = DAYS, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """A plausible patient: AR(1) pain around 6 with flares, 1-3 check-ins a day, short sleep raising
    next-day pain, Polar (h) and Withings (min) sleep, HRV, resting HR and steps, daily WHO-5."""
    rng = random.Random(seed)
    areas = ["lower_back", "left_hip", "neck", "right_knee", "upper_back"]
    qualities = ["aching", "burning", "throbbing", "tender", "stabbing", "tiring_exhausting"]
    pain: list[dict[str, Any]] = []
    wellbeing: list[dict[str, Any]] = []
    vitals: list[dict[str, Any]] = []
    deviation, flare_left = 0.0, 0
    sleep = 7.0
    for offset in range(days):
        day = START + timedelta(days=offset)
        previous_sleep, sleep = sleep, min(10.5, max(3.5, rng.gauss(7.0, 0.9)))
        deviation = 0.6 * deviation + rng.gauss(0, 1.0)
        if flare_left == 0 and rng.random() < 3.5 / 42:
            flare_left = rng.randint(1, 3)
        flare = 2.7 if flare_left else 0.0
        flare_left = max(0, flare_left - 1)
        daily = 6.0 + deviation + flare + 0.5 * (7.0 - previous_sleep)
        hrv = max(10.0, 45 - 2.0 * (daily - 6) + rng.gauss(0, 5))

        def stamp(hour: float, day: date = day) -> str:
            return (datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )

        for n, (metric, value, unit, source) in enumerate(
            (
                ("sleep_duration", round(previous_sleep, 2), "h", "polar"),
                ("hrv_rmssd", round(hrv, 1), "ms", "polar"),
                ("resting_heart_rate", round(62 + (daily - 6) + rng.gauss(0, 2)), "bpm", "polar"),
                ("steps", int(max(300, rng.gauss(6000, 1800))), "count", "polar"),
                ("sleep_duration", round(previous_sleep * 60), "min", "withings"),
                ("heart_rate", round(rng.uniform(65, 95)), "bpm", "withings"),
                ("weight", round(rng.gauss(74, 0.4), 1), "kg", "withings"),
                ("steps", int(max(300, rng.gauss(6000, 1800))), "count", "withings"),
                ("spo2", round(min(100.0, rng.gauss(97, 1)), 1), "%", "withings"),
                ("blood_pressure", 124, "mmHg", "withings"),
            )
        ):
            record: dict[str, Any] = {
                "id": f"vt_{offset}_{n}",
                "source": source,
                "metric": metric,
                "value": value,
                "unit": unit,
                "measured_at": stamp(5 + n * 0.1),
                "received_at": stamp(5.5 + n * 0.1),
                "device": None,
            }
            if metric == "blood_pressure":
                record["components"] = {"systolic": 124, "diastolic": 80}
            vitals.append(record)
        if rng.random() < 0.07:  # a missed day
            continue
        for hour in sorted(rng.sample([7.5, 12.0, 16.5, 20.5], rng.randint(1, 3))):
            level = int(min(10, max(0, round(daily + rng.gauss(0, 0.8)))))
            chosen = rng.sample(areas, rng.randint(1, 2))
            pain.append(
                {
                    "id": f"pe_{offset}_{int(hour * 10)}",
                    "pain_level": level,
                    "areas": [{"id": a, "max_intensity": level} for a in chosen],
                    "qualities": rng.sample(qualities, rng.randint(1, 3)),
                    "overall_wellbeing": round(min(5.0, max(0.0, 4.5 - level / 2.5)), 1),
                    "vitals": None,
                    "notes": None,
                    "logged_at": stamp(hour - 2),
                }
            )
        raw = int(min(25, max(0, round(16 - (daily - 6) * 1.5 + rng.gauss(0, 2)))))
        wellbeing.append(
            {
                "id": f"wb_{offset}",
                "date": day.isoformat(),
                "completed_at": stamp(18.5),
                "raw_score": raw,
                "composite_score": raw * 4,
                "dimensions": dict(
                    zip(
                        ("cheerful", "calm", "active", "rested", "interested"),
                        (raw // 5, raw // 5, raw // 5, raw // 5, raw - 4 * (raw // 5)),
                        strict=True,
                    )
                ),
            }
        )
    return {"pain_entries": pain, "wellbeing": wellbeing, "vitals": vitals}


def paired(anchor: Callable[[], object], work: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median seconds of anchor and work, and the median of per-run ratios work/anchor.

    The two are timed alternately, so both see the same machine load; the per-run ratio is what stays
    comparable between a quiet laptop and a busy CI runner.
    """
    anchor()
    work()  # warm caches (fonts, catalogues, matplotlib) outside the timing
    anchors, works, ratios = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        anchor()
        middle = time.perf_counter()
        work()
        ended = time.perf_counter()
        anchors.append(middle - started)
        works.append(ended - middle)
        ratios.append((ended - middle) / (middle - started))
    return statistics.median(anchors), statistics.median(works), statistics.median(ratios)


def bare_fpdf() -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 10, "Kipu- ja hyvinvointiraportti")
    return bytes(pdf.output())


def bench_pdf(runs: int) -> list[tuple[str, float, str]]:
    data = patient()
    records = (data["pain_entries"], data["wellbeing"], data["vitals"])

    def analysis_only() -> dict[str, Any]:
        return analyze(
            *records, period_from=START, period_to=END, patient_id="p2c_anon_bench", now=NOW, tz=TIMEZONE
        )

    def report(lang: str = "en") -> bytes:
        return render_report(
            analysis_only(),
            *records,
            lang=lang,
            patient_label="p2c_anon_bench",
            period_from=START,
            period_to=END,
            generated_at=NOW,
            tz=TIMEZONE,
        )

    series = build_series(*records, period_from=START, period_to=END, tz=TIMEZONE)
    cat = catalogue("en")

    def charts_only() -> object:
        return (
            charts.pain_chart(series, [], None, cat, width_mm=186, height_mm=60),
            charts.wellbeing_chart(series, cat, width_mm=186, height_mm=50),
            charts.sleep_hrv_chart(series, cat, width_mm=186, height_mm=50),
            charts.patterns_chart(series, cat, width_mm=186, height_mm=48),
        )

    rows = []
    anchors = []
    for name, work in (
        ("90-day report, en (analysis + PDF)", report),
        ("90-day report, fi", lambda: report("fi")),
        ("  of which: analysis", analysis_only),
        ("  of which: 4 charts", charts_only),
    ):
        anchor_s, seconds, ratio = paired(bare_fpdf, work, runs)
        anchors.append(anchor_s)
        rows.append((name, seconds, f"{ratio:.1f}x"))
    return [("anchor: bare fpdf2 page, DejaVu embedded", statistics.median(anchors), "1.0x"), *rows]
    return rows


def bench_fhir(runs: int) -> tuple[list[tuple[str, float, str]], int, int]:
    data = patient(days=120)
    api_id = "p2c_anon_bench"
    observations = [exporter.pain_entry_to_observation(e, api_id) for e in data["pain_entries"]]
    observations += [exporter.vital_to_observation(v, api_id) for v in data["vitals"]]
    observations = observations[:1000]
    query_params = {
        "patient": [f"Patient/{exporter.fhir_id(api_id)}"],
        "code": ["http://loinc.org|72514-3,http://loinc.org|93832-4"],
        "date": ["ge2026-02-15", "lt2026-04-15"],
        "_count": ["50"],
        "_sort": ["-date"],
        "_page": ["2"],
    }

    def one_search() -> dict[str, Any]:
        return observation_searchset(observations, parse_observation_search(query_params), base_url=BASE)

    bundle = one_search()
    batch = 20

    def searches() -> None:
        for _ in range(batch):
            one_search()

    def dumps() -> None:
        for _ in range(batch):
            json.dumps(bundle)

    dumps_s, search_s, ratio = paired(dumps, searches, runs)
    rows = [
        ("anchor: json.dumps of the result Bundle", dumps_s / batch, "1.0x"),
        ("search: parse + filter + sort + page + Bundle", search_s / batch, f"{ratio:.1f}x"),
    ]
    return rows, len(observations), bundle["total"]


def render_examples(directory: Path) -> None:
    if shutil.which("pdftoppm") is None:
        sys.exit("pdftoppm not found: apt-get install -y poppler-utils")
    data = patient()
    records = (data["pain_entries"], data["wellbeing"], data["vitals"])
    label = "p2c_anon_3f9b2c1d8e"
    result = analyze(*records, period_from=START, period_to=END, patient_id=label, now=NOW, tz=TIMEZONE)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for lang in SUPPORTED_LANGUAGES:
            pdf = Path(scratch) / f"{lang}.pdf"
            pdf.write_bytes(
                render_report(
                    result,
                    *records,
                    lang=lang,
                    patient_label=label,
                    period_from=START,
                    period_to=END,
                    generated_at=NOW,
                    tz=TIMEZONE,
                )
            )
            target = directory / f"report_{lang}"
            command = [
                "pdftoppm",
                "-png",
                "-r",
                "100",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(target),
            ]
            subprocess.run(command, check=True)
            # 256-colour palette: a quarter of the bytes, colours exact to a unit or two
            image = Image.open(f"{target}.png").convert("RGB")
            image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
                f"{target}.png", optimize=True
            )
            print(f"wrote {target}.png")


def table(title: str, rows: list[tuple[str, float, str]], unit: str = "ms") -> None:
    print(f"\n{title}")
    print(f"  {'measure':<48} {'median':>10} {'vs anchor':>10}")
    for name, seconds, ratio in rows:
        value = f"{seconds * 1000:.2f} {unit}" if unit == "ms" else f"{1 / seconds:,.0f}/s"
        print(f"  {name:<48} {value:>10} {ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per measure (default 9)")
    parser.add_argument("--quick", action="store_true", help="3 runs per measure (make bench --quick)")
    parser.add_argument("--examples", type=Path, help="also write report_<lang>.png page images here")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3
    if args.examples:
        render_examples(args.examples)
    table(f"PDF report ({DAYS} days, median of {args.runs})", bench_pdf(args.runs))
    rows, size, total = bench_fhir(args.runs)
    table(f"FHIR Observation search ({size} observations, {total} matches, _count=50)", rows)
    search_rate = 1 / rows[1][1]
    print(f"  -> {search_rate:,.0f} searches/s; json.dumps alone {1 / rows[0][1]:,.0f}/s")


if __name__ == "__main__":
    main()
