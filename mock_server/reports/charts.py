"""Matplotlib charts for the PDF report, rendered in memory to PNG.

Charts are drawn at their printed size (millimetres in, millimetres out), so a 7-point label in the chart
is 7 points on paper and matches the report's own text. PNG rather than SVG because fpdf2's SVG importer
warns about parts of matplotlib's SVG and PNG output is byte-stable (no timestamps: ``Software`` metadata
is dropped). The object-oriented API (``Figure`` + Agg canvas) is used instead of ``pyplot``; the style is
applied with ``rc_context``, which swaps *global* rcParams, and matplotlib is not thread-safe, so charts
render one at a time under ``_LOCK`` (reports are rendered in worker threads).

Every visible word comes from the catalogue; dates on axes use the catalogue's short date pattern.
"""

from __future__ import annotations

import io
import math
import statistics as pystats
import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mock_server.reports.i18n import Catalogue
from mock_server.reports.series import PARTS_OF_DAY, PatientSeries

_LOCK = threading.Lock()
DPI = 170
MM_PER_INCH = 25.4
AXES_WIDTH = 0.86  # share of the figure width the time axes of the wellbeing and sleep charts use
PAIN_COLOR = "#1f4e79"
RANGE_COLOR = "#9db3c8"
FLARE_COLOR = "#d62728"
TREND_COLOR = "#444444"
WHO5_COLOR = "#2e7d32"
SELF_RATED_COLOR = "#b8860b"
SLEEP_COLOR = "#8fb3de"
HRV_COLOR = "#6a3d9a"
STYLE: Any = {  # typed loosely: matplotlib types rc keys as a long Literal
    "font.family": "DejaVu Sans",
    "font.size": 7,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "axes.spines.top": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "svg.hashsalt": "care-sandbox",
}


def _num(moment: datetime) -> float:
    """Matplotlib's date number for a naive local datetime (typed wrapper for mypy strict)."""
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _date(number: float) -> date:
    return mdates.num2date(number).date()  # type: ignore[no-untyped-call,no-any-return]


def _figure(width_mm: float, height_mm: float) -> Figure:
    return Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=DPI)


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _date_axis(ax: Axes, series: PatientSeries, cat: Catalogue) -> None:
    start = datetime.combine(series.period_from, datetime.min.time())
    end = datetime.combine(series.period_to, datetime.min.time()) + timedelta(days=1)
    ax.set_xlim(_num(start), _num(end))
    if series.days <= 16:  # AutoDateLocator would go hourly, and every tick would print the same day
        locator: Any = mdates.DayLocator(interval=max(1, series.days // 8))  # type: ignore[no-untyped-call]
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: cat.date_short(_date(x))))


def _day_centre(day: date) -> float:
    return _num(datetime.combine(day, datetime.min.time()) + timedelta(hours=12))


def _with_gaps(days: Sequence[date], values: Sequence[float]) -> tuple[list[float], list[float]]:
    """Day centres and values with a NaN after each missed day, so the line breaks instead of
    drawing through days the patient logged nothing."""
    xs: list[float] = []
    ys: list[float] = []
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        if index and (day - days[index - 1]).days > 1:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(_day_centre(day))
        ys.append(value)
    return xs, ys


def _no_data(ax: Axes, cat: Catalogue) -> None:
    ax.text(
        0.5,
        0.5,
        cat.text("labels.no_data"),
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#777777",
    )


def _legend(ax: Axes, handles: Sequence[Any] | None = None) -> None:
    kwargs: dict[str, Any] = {
        "loc": "lower left",
        "bbox_to_anchor": (0.0, 1.0),
        "frameon": False,
        "ncol": 5,
        "borderaxespad": 0.2,
        "handlelength": 1.6,
        "columnspacing": 1.2,
    }
    if handles is not None:
        kwargs["handles"] = handles
    ax.legend(**kwargs)


def pain_chart(
    series: PatientSeries,
    flares: Iterable[tuple[datetime, datetime]],
    trend: tuple[float, float] | None,
    cat: Catalogue,
    *,
    width_mm: float,
    height_mm: float,
) -> bytes:
    """Daily mean pain with the day's range, flares shaded, and the trend line when one was found.

    ``trend`` is (intercept, slope per day) in day-index units from ``series.period_from``.
    """
    with _LOCK, rc_context(STYLE):
        figure = _figure(width_mm, height_mm)
        ax = figure.add_axes((0.06, 0.16, 0.92, 0.72))
        _date_axis(ax, series, cat)
        ax.set_ylim(0, 10.4)
        ax.set_yticks(range(0, 11, 2))
        ax.set_ylabel(cat.text("chart.pain_axis"))
        ax.grid(axis="y", linewidth=0.4, color="#dddddd")
        daily = series.daily_pain
        if not daily:
            _no_data(ax, cat)
            return _png(figure)
        xs = [_day_centre(d) for d in daily]
        ax.vlines(
            xs,
            [min(v) for v in daily.values()],
            [max(v) for v in daily.values()],
            color=RANGE_COLOR,
            linewidth=1.6,
            label=cat.text("chart.daily_range"),
        )
        line_x, line_y = _with_gaps(list(daily), [pystats.fmean(v) for v in daily.values()])
        ax.plot(
            line_x,
            line_y,
            color=PAIN_COLOR,
            linewidth=1.0,
            marker="o",
            markersize=1.8,
            label=cat.text("chart.daily_mean"),
        )
        for index, (start, end) in enumerate(flares):
            left = _num(start) - 0.3
            right = _num(end) + 0.3
            ax.axvspan(
                left,
                right,
                color=FLARE_COLOR,
                alpha=0.16,
                linewidth=0,
                label=cat.text("chart.flare") if index == 0 else None,
            )
        if trend is not None:
            intercept, slope = trend
            x0, x1 = _day_centre(series.period_from), _day_centre(series.period_to)
            ax.plot(
                [x0, x1],
                [intercept, intercept + slope * (series.days - 1)],
                color=TREND_COLOR,
                linestyle="--",
                linewidth=0.9,
                label=cat.text("chart.trend"),
            )
        _legend(ax)
        return _png(figure)


def wellbeing_chart(series: PatientSeries, cat: Catalogue, *, width_mm: float, height_mm: float) -> bytes:
    """WHO-5 composite (0-100, left axis) and the entries' self-rated wellbeing (0-5, right axis)."""
    with _LOCK, rc_context(STYLE):
        figure = _figure(width_mm, height_mm)
        ax = figure.add_axes((0.07, 0.17, AXES_WIDTH, 0.70))
        _date_axis(ax, series, cat)
        ax.set_ylim(0, 104)
        ax.set_ylabel(cat.text("chart.who5"), color=WHO5_COLOR)
        ax.grid(axis="y", linewidth=0.4, color="#dddddd")
        if not series.who5 and not series.self_rated_wellbeing:
            _no_data(ax, cat)
            return _png(figure)
        handles: list[Any] = []
        if series.who5:
            (line,) = ax.plot(
                [_day_centre(d) for d in series.who5],
                list(series.who5.values()),
                color=WHO5_COLOR,
                linewidth=1.0,
                marker="o",
                markersize=1.8,
                label=cat.text("chart.who5"),
            )
            handles.append(line)
        right = ax.twinx()
        right.spines["top"].set_visible(False)
        right.set_ylim(0, 5.2)
        right.set_ylabel(cat.text("chart.self_rated"), color=SELF_RATED_COLOR)
        if series.self_rated_wellbeing:
            (line,) = right.plot(
                [_day_centre(d) for d in series.self_rated_wellbeing],
                list(series.self_rated_wellbeing.values()),
                color=SELF_RATED_COLOR,
                linewidth=0.9,
                alpha=0.85,
                label=cat.text("chart.self_rated"),
            )
            handles.append(line)
        _legend(ax, handles)
        return _png(figure)


def sleep_hrv_chart(series: PatientSeries, cat: Catalogue, *, width_mm: float, height_mm: float) -> bytes:
    """Sleep of each night (bars, left axis) and that night's HRV (line, right axis)."""
    with _LOCK, rc_context(STYLE):
        figure = _figure(width_mm, height_mm)
        ax = figure.add_axes((0.07, 0.17, AXES_WIDTH, 0.70))
        _date_axis(ax, series, cat)
        ax.set_ylabel(cat.text("chart.sleep"), color="#3b6ea8")
        ax.grid(axis="y", linewidth=0.4, color="#dddddd")
        if not series.sleep_hours and not series.hrv_ms:
            _no_data(ax, cat)
            return _png(figure)
        top = max([9.0, *series.sleep_hours.values()]) * 1.08
        ax.set_ylim(0, top)
        handles: list[Any] = []
        if series.sleep_hours:
            # One LineCollection instead of ax.bar's Rectangle per night: same look, a fraction of the
            # drawing time. Line width = 75 % of a day on the printed axis, in points.
            day_mm = width_mm * AXES_WIDTH / max(1, series.days)
            bars = ax.vlines(
                [_day_centre(d) for d in series.sleep_hours],
                0,
                list(series.sleep_hours.values()),
                color=SLEEP_COLOR,
                linewidth=0.75 * day_mm * 72 / MM_PER_INCH,
                capstyle="butt",
                label=cat.text("chart.sleep"),
            )
            handles.append(bars)
        right = ax.twinx()
        right.spines["top"].set_visible(False)
        right.set_ylabel(cat.text("chart.hrv"), color=HRV_COLOR)
        right.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        if series.hrv_ms:
            (line,) = right.plot(
                [_day_centre(d) for d in series.hrv_ms],
                list(series.hrv_ms.values()),
                color=HRV_COLOR,
                linewidth=1.0,
                marker="o",
                markersize=1.5,
                label=cat.text("chart.hrv"),
            )
            right.set_ylim(0, max(series.hrv_ms.values()) * 1.15)
            handles.append(line)
        _legend(ax, handles)
        return _png(figure)


def patterns_chart(series: PatientSeries, cat: Catalogue, *, width_mm: float, height_mm: float) -> bytes:
    """Mean pain by weekday (of daily means) and by part of the day (of entries), side by side."""
    weekday: list[list[float]] = [[] for _ in range(7)]
    for day, mean in series.daily_mean_pain().items():
        weekday[day.weekday()].append(mean)
    parts: list[list[float]] = [[] for _ in PARTS_OF_DAY]
    for point in series.pain:
        parts[point.at.hour // 6].append(point.level)
    with _LOCK, rc_context(STYLE):
        figure = _figure(width_mm, height_mm)
        left = figure.add_axes((0.06, 0.17, 0.42, 0.68))
        right = figure.add_axes((0.56, 0.17, 0.42, 0.68))
        for ax, groups, labels, title in (
            (left, weekday, cat.names("weekdays_short"), cat.text("chart.by_weekday")),
            (right, parts, cat.names("parts_of_day"), cat.text("chart.by_time_of_day")),
        ):
            means = [pystats.fmean(g) if g else 0.0 for g in groups]
            ax.bar(range(len(groups)), means, color=PAIN_COLOR, alpha=0.8, width=0.65)
            for index, group in enumerate(groups):
                if group:
                    ax.text(
                        index,
                        means[index] + 0.2,
                        cat.number(means[index], 1),
                        ha="center",
                        va="bottom",
                        fontsize=6,
                    )
            ax.set_xticks(range(len(groups)), labels)
            ax.set_ylim(0, 10.4)
            ax.set_yticks(range(0, 11, 2))
            ax.set_title(title, loc="left")
            ax.grid(axis="y", linewidth=0.4, color="#dddddd")
        left.set_ylabel(cat.text("chart.mean_pain"))
        if not series.pain:
            _no_data(left, cat)
            _no_data(right, cat)
        return _png(figure)
