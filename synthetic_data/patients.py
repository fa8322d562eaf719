"""Synthetic patient profiles: demographics from Faker (a locale per patient) and a condition model.

A profile is a pure function of ``(run_seed, index)`` plus explicit overrides, so any patient of any
dataset can be regenerated alone — the basis of sharding and of the sandbox's test clock.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from functools import cache

from faker import Faker

LOCALES: tuple[str, ...] = ("en_US", "en_GB", "fi_FI", "sv_SE", "de_DE", "fr_FR", "es_ES", "it_IT")
TIMEZONES = {
    "en_US": "America/New_York",
    "en_GB": "Europe/London",
    "fi_FI": "Europe/Helsinki",
    "sv_SE": "Europe/Stockholm",
    "de_DE": "Europe/Berlin",
    "fr_FR": "Europe/Paris",
    "es_ES": "Europe/Madrid",
    "it_IT": "Europe/Rome",
}
SOURCES: tuple[str, ...] = ("polar", "withings", "oura", "health_connect")
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")


@dataclass(frozen=True)
class Condition:
    """Per-condition parameters of the pain model (see DESIGN.md "Data realism" for the sources)."""

    name: str
    areas: tuple[str, ...]
    qualities: tuple[str, ...]
    peak_hour: float  # hour of the day pain peaks (morning-worse fibromyalgia, evening-worse neuropathic)
    diurnal_amplitude: float  # NRS points between peak and trough / 2
    flares_per_6_weeks: float
    flare_size: float  # NRS points added at a flare's peak (Suri 2011: ~2.7)


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition(
            "chronic_low_back_pain",
            ("lower_back", "left_hip", "right_hip", "left_thigh", "right_thigh"),
            ("aching", "sharp", "shooting", "stabbing", "tiring_exhausting", "heavy"),
            18.0,
            0.5,
            3.5,
            2.7,
        ),
        Condition(
            "knee_osteoarthritis",
            ("left_knee", "right_knee", "left_hip", "right_hip"),
            ("aching", "tender", "gnawing", "sharp", "heavy"),
            19.0,
            0.4,
            2.5,
            2.4,
        ),
        Condition(
            "fibromyalgia",
            (
                "neck",
                "upper_back",
                "lower_back",
                "left_shoulder",
                "right_shoulder",
                "left_arm",
                "right_arm",
                "left_thigh",
                "right_thigh",
            ),
            ("aching", "tiring_exhausting", "tender", "burning", "light_touch_pain", "heavy"),
            8.0,
            0.8,
            3.0,
            2.5,
        ),
        Condition(
            "migraine",
            ("head", "face", "neck"),
            ("throbbing", "splitting", "sickening", "piercing", "sharp"),
            15.0,
            0.6,
            4.5,
            3.5,
        ),
        Condition(
            "rheumatoid_arthritis",
            (
                "left_hand",
                "right_hand",
                "left_wrist",
                "right_wrist",
                "left_knee",
                "right_knee",
                "left_foot",
                "right_foot",
            ),
            ("aching", "tender", "burning", "gnawing", "throbbing"),
            8.0,
            0.7,
            3.0,
            2.6,
        ),
        Condition(
            "neuropathic_pain",
            ("left_foot", "right_foot", "left_calf", "right_calf", "left_hand", "right_hand"),
            ("burning", "electric_shock", "tingling", "numbness", "cold_freezing", "shooting"),
            21.0,
            0.7,
            3.0,
            2.5,
        ),
        Condition(
            "crps",
            ("left_hand", "right_hand", "left_wrist", "right_wrist", "left_foot", "right_foot"),
            ("burning", "light_touch_pain", "throbbing", "cold_freezing", "punishing_cruel"),
            20.0,
            0.5,
            4.0,
            2.8,
        ),
    )
}
SEVERITY_BASELINE = {"mild": (2.5, 4.0), "moderate": (5.0, 7.0), "severe": (7.5, 8.8)}


@dataclass(frozen=True)
class PatientProfile:
    patient_key: str
    seed: int
    locale: str
    display_name: str
    email: str
    sex: str
    birth_year: int
    timezone: str
    condition: str
    baseline_severity: str
    sources: tuple[str, ...]
    baseline_pain: float  # per-patient mean NRS
    pain_sd: float  # within-person day-to-day SD (Harris 2005: ~1.6)
    ar1: float  # day-to-day autocorrelation
    resting_hr: float
    hrv: float
    sleep_hours: float
    steps: float
    checkins_per_day: float
    diabetic: bool = False
    systolic: float = 122.0
    weight_kg: float = 75.0


def derive_seed(run_seed: int, index: int) -> int:
    """A patient's own seed: independent of how many patients or workers a run has."""
    digest = hashlib.sha256(f"care-synth:{run_seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def make_profile(
    run_seed: int,
    index: int,
    *,
    condition: str | None = None,
    baseline_severity: str | None = None,
    sources: tuple[str, ...] | None = None,
    locale: str | None = None,
) -> PatientProfile:
    import numpy as np

    seed = derive_seed(run_seed, index)
    rng = np.random.default_rng(seed)
    chosen_locale = locale if locale in TIMEZONES else LOCALES[int(rng.integers(len(LOCALES)))]
    fake = _faker(chosen_locale)
    fake.seed_instance(seed)
    sex = "female" if rng.random() < 0.6 else "male"  # chronic pain is more prevalent in women
    first = fake.first_name_female() if sex == "female" else fake.first_name_male()
    last = fake.last_name()
    key = f"{index:06d}{seed % 10**6:06d}"
    plain = unicodedata.normalize("NFKD", f"{first}.{last}".lower())
    slug = "".join(ch for ch in plain if ch.isascii() and (ch.isalnum() or ch == "."))
    chosen_condition = (
        condition if condition in CONDITIONS else list(CONDITIONS)[int(rng.integers(len(CONDITIONS)))]
    )
    # Breivik 2006: about 2/3 moderate, 1/3 severe among chronic pain; a few mild for variety
    severity = (
        baseline_severity
        if baseline_severity in SEVERITIES
        else str(rng.choice(SEVERITIES, p=[0.1, 0.6, 0.3]))
    )
    low, high = SEVERITY_BASELINE[severity]
    if sources is None:
        count = int(rng.integers(1, 4))
        chosen_sources = tuple(
            sorted(rng.choice(SOURCES, size=count, replace=False).tolist(), key=SOURCES.index)
        )
    else:
        chosen_sources = tuple(s for s in SOURCES if s in sources)
    return PatientProfile(
        patient_key=key,
        seed=seed,
        locale=chosen_locale,
        display_name=f"{first} {last[:1]}.",
        email=f"{slug or 'patient'}.{key[-6:]}@patients.example",
        sex=sex,
        birth_year=int(rng.integers(1945, 2004)),
        timezone=TIMEZONES[chosen_locale],
        condition=chosen_condition,
        baseline_severity=severity,
        sources=chosen_sources,
        baseline_pain=float(rng.uniform(low, high)),
        pain_sd=float(np.clip(rng.normal(1.6, 0.5), 0.6, 2.8)),
        ar1=float(rng.uniform(0.35, 0.7)),
        resting_hr=float(np.clip(rng.normal(65, 8), 45, 95)),
        hrv=float(np.clip(rng.normal(42, 14), 12, 110)),
        sleep_hours=float(np.clip(rng.normal(7.0, 0.6), 5.0, 8.8)),
        steps=float(rng.choice([3553, 5801, 7842, 10901]) * rng.uniform(0.85, 1.15)),
        checkins_per_day=float(rng.uniform(0.9, 1.8)),
        diabetic=bool(rng.random() < 0.1),
        systolic=float(np.clip(rng.normal(124, 12), 100, 165)),
        weight_kg=float(np.clip(rng.normal(76, 14), 45, 140)),
    )
