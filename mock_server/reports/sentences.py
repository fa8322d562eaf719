"""Plain-language sentences for analysis findings, in any report language.

A finding carries ``kind``, ``status`` and ``statistics``; the sentence is rendered from a catalogue
template ``findings.<kind>.<variant>``. The JSON API's English ``summary`` is this function with the
English catalogue, so the API and the English PDF say exactly the same thing, and a translation can
never drift from the numbers (all numbers are formatted here, per locale, from ``statistics``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mock_server.reports.i18n import Catalogue, catalogue

Stats = Mapping[str, Any]
Params = dict[str, object]

#: Every template variant a finding kind can use; tests check each exists in every catalogue.
VARIANTS: dict[str, tuple[str, ...]] = {
    "trend": ("found_up", "found_down", "not_found", "not_enough_data"),
    "flares": ("found", "not_found", "not_enough_data"),
    "weekday_pattern": ("found", "not_found", "not_enough_data"),
    "time_of_day_pattern": ("found", "not_found", "not_enough_data"),
    "sleep_correlation": ("found_negative", "found_positive", "not_found", "not_enough_data", "no_variation"),
    "hrv_correlation": ("found_negative", "found_positive", "not_found", "not_enough_data", "no_variation"),
    "wellbeing_trajectory": ("found_up", "found_down", "not_found", "not_enough_data"),
    "adherence": ("found", "not_enough_data"),
}


def sentence(finding: Mapping[str, Any], cat: Catalogue) -> str:
    """The finding as one sentence in the catalogue's language."""
    kind, status, stats = finding["kind"], finding["status"], finding["statistics"]
    variant, params = _BUILDERS[kind](status, stats, cat)
    return cat.text(f"findings.{kind}.{variant}", **params)


def english(finding: Mapping[str, Any]) -> str:
    return sentence(finding, catalogue("en"))


def _needed(stats: Stats) -> Params:
    return {"n": stats["n"], "n_required": stats["n_required"]}


def _points(cat: Catalogue, value: float) -> str:
    """Pain scale values: whole numbers print without decimals (a peak of 9, not 9.0)."""
    return cat.integer(value) if float(value).is_integer() else cat.number(value, 1)


def _trend(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
    if status == "not_enough_data":
        return status, _needed(s)
    per_month = s["slope_per_month"]
    params: Params = {
        "per_month": cat.number(abs(per_month), 1),
        "per_month_signed": cat.signed(per_month, 1),
        "ci_low": cat.signed(s["ci95_low"] * 30.0, 1),
        "ci_high": cat.signed(s["ci95_high"] * 30.0, 1),
        "n": s["n"],
    }
    if status == "found":
        return ("found_up" if per_month > 0 else "found_down"), params
    return status, params


def _flares(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
    if status == "not_enough_data":
        return status, _needed(s)
    params: Params = {"rise": _points(cat, s["rise"]), "baseline_days": s["baseline_days"]}
    if status == "found":
        params.update(
            count=s["count"],
            per_30_days=cat.number(s["per_30_days"], 1),
            max_peak=_points(cat, s["max_peak"]),
        )
    return status, params


def _pattern(names_key: str) -> Callable[[str, Stats, Catalogue], tuple[str, Params]]:
    def build(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
        if status == "not_enough_data":
            return status, _needed(s)
        params: Params = {"difference": cat.number(s["difference"], 1)}
        if status == "found":
            names = cat.names(names_key)
            params.update(
                worst=names[int(s["worst"])],
                best=names[int(s["best"])],
                worst_mean=cat.number(s["worst_mean"], 1),
                best_mean=cat.number(s["best_mean"], 1),
            )
        return status, params

    return build


def _correlation(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
    if status == "not_enough_data":
        variant = "no_variation" if s["n"] >= s["n_required"] else "not_enough_data"
        return variant, _needed(s)
    params: Params = {
        "r": cat.number(s["r"], 2),
        "ci_low": cat.number(s["ci95_low"], 2),
        "ci_high": cat.number(s["ci95_high"], 2),
        "n": s["n"],
    }
    if status == "found":
        return ("found_positive" if s["r"] > 0 else "found_negative"), params
    return status, params


def _wellbeing(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
    if status == "not_enough_data":
        return status, _needed(s)
    if status == "found":
        params: Params = {
            "change": cat.integer(abs(s["change"])),
            "start": cat.integer(s["fitted_start"]),
            "end": cat.integer(s["fitted_end"]),
            "n": s["n"],
        }
        return ("found_up" if s["change"] > 0 else "found_down"), params
    return status, {"mean": cat.integer(s["mean"]), "n": s["n"]}


def _adherence(status: str, s: Stats, cat: Catalogue) -> tuple[str, Params]:
    if status != "found":
        return "not_enough_data", {}
    return "found", {
        "days_with": s["days_with_entries"],
        "days": s["days"],
        "rate": cat.percent(s["checkin_rate"]),
        "longest_gap": s["longest_gap_days"],
    }


_BUILDERS: dict[str, Callable[[str, Stats, Catalogue], tuple[str, Params]]] = {
    "trend": _trend,
    "flares": _flares,
    "weekday_pattern": _pattern("weekdays_phrase"),
    "time_of_day_pattern": _pattern("parts_of_day_phrase"),
    "sleep_correlation": _correlation,
    "hrv_correlation": _correlation,
    "wellbeing_trajectory": _wellbeing,
    "adherence": _adherence,
}
