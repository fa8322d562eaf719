"""Patient profiles: who the patient is, what hurts, and how their body and habits behave.

A `PatientProfile` is everything the time-series models need, drawn once per patient and frozen. It is a
pure function of (run seed, index) plus explicit overrides (`make_profile`), so the sandbox server can
rebuild the same patient at any time, and a worker process can build patient 7,341 without building the
7,340 before it.

The sandbox server imports `PatientProfile` and `make_profile`; keep their fields and signature stable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from synthetic_data import demographics
from synthetic_data.conditions import (
    CATALOGUE,
    SEVERITY_BASELINES,
    SEVERITY_FLARE_FACTOR,
    SEVERITY_WEIGHTS,
    body_map,
)
from synthetic_data.seeding import patient_seed, run_tag, stream
from synthetic_data.vocab import CONDITIONS, GAUGE_TYPES, LOCALES, VITAL_SOURCES, VitalSource

REFERENCE_YEAR: Final = 2026  # ages are drawn for this year; birth_year = REFERENCE_YEAR - age

LOCALE_WEIGHTS: Final[dict[str, float]] = {
    "en_US": 0.25,
    "en_GB": 0.15,
    "fi_FI": 0.15,
    "sv_SE": 0.10,
    "de_DE": 0.12,
    "fr_FR": 0.09,
    "es_ES": 0.07,
    "it_IT": 0.07,
}
# Share of women per condition (fibromyalgia, migraine and RA are markedly female-predominant).
FEMALE_SHARE: Final[dict[str, float]] = {
    "chronic_low_back_pain": 0.55,
    "knee_osteoarthritis": 0.62,
    "fibromyalgia": 0.85,
    "migraine": 0.75,
    "rheumatoid_arthritis": 0.70,
    "neuropathic_pain": 0.45,
    "crps": 0.70,
}
# (mean, sd, min, max) age per condition.
AGE: Final[dict[str, tuple[float, float, int, int]]] = {
    "chronic_low_back_pain": (50, 12, 22, 85),
    "knee_osteoarthritis": (65, 9, 40, 90),
    "fibromyalgia": (47, 10, 22, 75),
    "migraine": (38, 10, 18, 70),
    "rheumatoid_arthritis": (58, 11, 25, 88),
    "neuropathic_pain": (62, 11, 30, 90),
    "crps": (45, 12, 20, 80),
}
SOURCE_COUNT_WEIGHTS: Final = {0: 0.08, 1: 0.60, 2: 0.27, 3: 0.05}
SOURCE_WEIGHTS: Final[dict[VitalSource, float]] = {
    "polar": 0.25,
    "withings": 0.25,
    "oura": 0.25,
    "health_connect": 0.35,
}
# Probability that a patient tracks each gauge (about three of the seven on average; mood and pain lead).
GAUGE_WEIGHTS: Final[dict[str, float]] = {
    "mood": 0.75,
    "anxiety": 0.35,
    "energy": 0.4,
    "sleep_quality": 0.5,
    "pain": 0.65,
    "medication_adherence": 0.35,
    "social_interaction": 0.2,
}
# Locales where glucose is reported in mg/dL (the US and much of continental Europe); elsewhere mmol/L.
GLUCOSE_MG_DL_LOCALES: Final = frozenset({"en_US", "de_DE", "fr_FR", "es_ES", "it_IT"})
# ACC/AHA 2017 blood-pressure category -> (systolic range, diastolic range) of a person's mean.
BP_CATEGORIES: Final = {
    "normal": ((102.0, 119.0), (62.0, 78.0)),
    "elevated": ((120.0, 129.0), (65.0, 79.0)),
    "stage_1": ((130.0, 139.0), (78.0, 89.0)),
    "stage_2": ((140.0, 158.0), (88.0, 99.0)),
}

DEVICE_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "polar": ("Polar Ignite 3", "Polar Vantage V3", "Polar Pacer Pro", "Polar Grit X2 Pro"),
    "oura": ("Oura Ring Gen3", "Oura Ring 4"),
    "withings_bp": ("Withings BPM Connect", "Withings BPM Core"),
    "withings_scale": ("Withings Body+", "Withings Body Smart"),
    "withings_watch": ("Withings ScanWatch 2", "Withings ScanWatch Light"),
    "withings_sleep": ("Withings Sleep Analyzer",),
    "hc_phone": ("Pixel 8", "Galaxy S24", "OnePlus 12", "Pixel 7a"),
    "hc_watch": ("Pixel Watch 2", "Galaxy Watch6", "Fitbit Charge 6", "Fitbit Versa 4"),
    "hc_glucose": ("Accu-Chek Guide", "Contour Next One", "OneTouch Verio Reflect"),
    "hc_scale": ("Renpho ES-CS20M", "Eufy Smart Scale P2"),
    "hc_bp": ("Omron Evolv", "Omron M7 Intelli IT"),
}


@dataclass(frozen=True, slots=True)
class PainParams:
    """How this patient's pain behaves (see conditions.py for where the numbers come from)."""

    baseline: float  # long-run mean of daily pain without flares, NRS
    sd: float  # SD of the AR(1) component
    phi: float  # AR(1) persistence
    flare_rate_per_day: float
    flare_magnitude: float
    flare_median_hours: float
    flare_sigma: float
    tod_deltas: tuple[float, float, float]  # morning, midday, evening
    sleep_coupling: float  # NRS points per hour of sleep below the patient's mean
    hrv_coupling: float  # NRS points per SD of HRV below the patient's mean
    primary_areas: tuple[str, ...]
    secondary_areas: tuple[str, ...]
    qualities: tuple[str, ...]  # this patient's usual descriptors, most typical first


@dataclass(frozen=True, slots=True)
class BodyParams:
    """The patient's physiology: means and day-to-day spread of what devices measure."""

    resting_hr: float  # bpm
    hrv_rmssd: float  # ms, geometric mean
    sleep_hours: float
    sleep_sd: float
    steps: float  # weekday mean
    saturday_factor: float
    sunday_factor: float
    systolic: float
    diastolic: float
    weight_kg: float
    spo2: float
    temperature: float  # Cel
    diabetic: bool
    glucose_mg_dl: float  # fasting mean
    wake_minute: int  # local minutes after midnight on weekdays
    workouts_per_week: float


@dataclass(frozen=True, slots=True)
class HabitParams:
    """How the patient uses the app and their devices."""

    slots: tuple[int, ...]  # which check-in slots they use: 0 morning, 1 midday, 2 evening
    adherence: float  # probability of logging pain on an ordinary day
    wellbeing_adherence: float
    gauge_types: tuple[str, ...]
    gauge_adherence: float
    doses_per_day: int
    dose_adherence: float
    who5_baseline: float  # raw WHO-5 (0-25) on an ordinary day
    vitals_attach: float  # share of pain entries carrying a vitals snapshot
    bp_rate: float  # probability of a blood-pressure reading on a given day (if they own a cuff)
    weigh_rate: float  # probability of stepping on the scale on a given day
    notes_rate: float
    weight_unit: str  # kg | lb
    glucose_unit: str  # mg/dL | mmol/L
    kit: tuple[tuple[VitalSource, str, str | None], ...] = field(default=())  # (source, metric, device)


@dataclass(frozen=True, slots=True)
class PatientProfile:
    """One synthetic patient. Frozen, hashable, cheap to rebuild with `make_profile`.

    `patient_key` is unique per (run seed, index) and is embedded in every record id (`pe_<key>_…`);
    `patient_id` is the library's internal id, shaped like the API's anonymized ids (`p2c_anon_<key>`),
    used as `Gauge.patient_id` and in dataset files; the sandbox server replaces it with its own.
    """

    patient_key: str
    seed: int
    run_seed: int
    index: int
    locale: str
    given_name: str
    family_name: str
    display_name: str
    email: str
    sex: str  # female | male
    birth_year: int
    timezone: str
    condition: str
    baseline_severity: str
    sources: tuple[VitalSource, ...]
    pain: PainParams
    body: BodyParams
    habits: HabitParams

    @property
    def patient_id(self) -> str:
        return f"p2c_anon_{self.patient_key}"

    @property
    def age(self) -> int:
        return REFERENCE_YEAR - self.birth_year


def _weighted(rnd: random.Random, weights: dict[str, float]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _draw_sources(rnd: random.Random) -> tuple[VitalSource, ...]:
    count = int(_weighted(rnd, {str(k): v for k, v in SOURCE_COUNT_WEIGHTS.items()}))
    pool = dict(SOURCE_WEIGHTS)
    chosen: set[VitalSource] = set()
    for _ in range(count):
        pick = rnd.choices(list(pool), weights=list(pool.values()))[0]
        chosen.add(pick)
        del pool[pick]
    return tuple(s for s in VITAL_SOURCES if s in chosen)


def _pain_params(
    rnd: random.Random, condition: str, severity: str, sleep_sd: float
) -> tuple[PainParams, float]:
    spec = CATALOGUE[condition]
    lo, hi = SEVERITY_BASELINES[severity]
    baseline = _clip(rnd.uniform(lo, hi) + spec.baseline_shift, 0.5, 9.0)
    primary, secondary = body_map(condition, rnd)
    names = list(spec.qualities)
    weights = [spec.qualities[n] for n in names]
    usual: list[str] = []
    for _ in range(rnd.randint(2, 5)):
        pick = rnd.choices(names, weights=weights)[0]
        if pick not in usual:
            usual.append(pick)
    flare_rate = spec.flares_per_6_weeks / 42.0 * SEVERITY_FLARE_FACTOR[severity] * rnd.uniform(0.7, 1.3)
    params = PainParams(
        baseline=round(baseline, 3),
        sd=round(_clip(rnd.gauss(spec.pain_sd, 0.3), 0.5, 2.2), 3),
        phi=round(_clip(rnd.gauss(spec.ar_phi, 0.08), 0.3, 0.85), 3),
        flare_rate_per_day=round(flare_rate, 5),
        flare_magnitude=round(_clip(rnd.gauss(spec.flare_magnitude, 0.4), 1.8, 6.0), 3),
        flare_median_hours=spec.flare_median_hours,
        flare_sigma=spec.flare_sigma,
        tod_deltas=spec.tod_deltas,
        sleep_coupling=round(_clip(rnd.gauss(0.45, 0.12), 0.15, 0.8) / max(sleep_sd, 0.5) * 0.8, 3),
        hrv_coupling=round(_clip(rnd.gauss(0.25, 0.1), 0.0, 0.5), 3),
        primary_areas=primary,
        secondary_areas=secondary,
        qualities=tuple(usual),
    )
    return params, flare_rate


def _body_params(rnd: random.Random, sex: str, age: int, severity: str, diabetic: bool) -> BodyParams:
    severe = severity == "severe"
    category = _weighted(
        rnd,
        {
            "normal": max(0.15, 0.6 - 0.006 * (age - 30)),
            "elevated": 0.15,
            "stage_1": 0.22,
            "stage_2": 0.10 + 0.004 * max(0, age - 40),
        },
    )
    (s_lo, s_hi), (d_lo, d_hi) = BP_CATEGORIES[category]
    log_steps_median = math.log(6260) - (0.25 if severe else 0.1 if severity == "moderate" else 0.0)
    working_age = age < 65
    return BodyParams(
        resting_hr=round(_clip(rnd.gauss(65.5 + (2 if severe else 0), 8), 44, 95), 2),
        hrv_rmssd=round(_clip(math.exp(rnd.gauss(math.log(42) - 0.015 * (age - 40), 0.35)), 10, 130), 2),
        sleep_hours=round(_clip(rnd.gauss(7.0 - (0.3 if severe else 0.0), 0.6), 5.0, 8.8), 2),
        sleep_sd=round(_clip(rnd.gauss(0.85, 0.2), 0.4, 1.5), 3),
        steps=round(
            _clip(math.exp(rnd.gauss(log_steps_median - 0.006 * max(0, age - 50), 0.48)), 800, 22000)
        ),
        saturday_factor=round(_clip(rnd.gauss(0.95 if working_age else 1.0, 0.12), 0.6, 1.4), 3),
        sunday_factor=round(_clip(rnd.gauss(0.80 if working_age else 0.95, 0.10), 0.5, 1.3), 3),
        systolic=round(rnd.uniform(s_lo, s_hi), 1),
        diastolic=round(rnd.uniform(d_lo, d_hi), 1),
        weight_kg=round(_clip(rnd.gauss(70 if sex == "female" else 84, 13), 45, 160), 1),
        spo2=round(rnd.uniform(95.5, 98.0) - (0.5 if age > 65 else 0.0), 2),
        temperature=round(rnd.gauss(36.45, 0.15), 2),
        diabetic=diabetic,
        glucose_mg_dl=round(_clip(rnd.gauss(150 if diabetic else 95, 25 if diabetic else 8), 75, 230), 1),
        wake_minute=int(_clip(rnd.gauss(410, 40), 300, 560)),
        workouts_per_week=round(_clip(rnd.gauss(2.5 - (1.0 if severe else 0.0), 1.2), 0.0, 6.0), 2),
    )


def _kit(
    rnd: random.Random, sources: Sequence[VitalSource], diabetic: bool
) -> tuple[tuple[VitalSource, str, str | None], ...]:
    """Which device reports which metric for this patient (a Withings user rarely owns all four)."""
    kit: list[tuple[VitalSource, str, str | None]] = []
    for source in sources:
        if source == "polar":
            device = rnd.choice(DEVICE_NAMES["polar"])
            kit += [
                (source, m, device) for m in ("resting_heart_rate", "hrv_rmssd", "sleep_duration", "steps")
            ]
            kit.append((source, "heart_rate", device))  # workouts
        elif source == "oura":
            device = rnd.choice(DEVICE_NAMES["oura"])
            kit += [
                (source, m, device)
                for m in (
                    "resting_heart_rate",
                    "hrv_rmssd",
                    "sleep_duration",
                    "steps",
                    "body_temperature",
                    "spo2",
                )
            ]
        elif source == "withings":
            owned = {
                "bp": rnd.random() < 0.7,
                "scale": rnd.random() < 0.6,
                "watch": rnd.random() < 0.4,
                "sleep": rnd.random() < 0.25,
            }
            if not any(owned.values()):
                owned["bp"] = True
            if owned["bp"]:
                device = rnd.choice(DEVICE_NAMES["withings_bp"])
                kit += [(source, "blood_pressure", device), (source, "heart_rate", device)]
            if owned["scale"]:
                kit.append((source, "weight", rnd.choice(DEVICE_NAMES["withings_scale"])))
            if owned["watch"]:
                device = rnd.choice(DEVICE_NAMES["withings_watch"])
                kit += [(source, "steps", device), (source, "spo2", device)]
            if owned["sleep"]:
                kit.append((source, "sleep_duration", DEVICE_NAMES["withings_sleep"][0]))
        else:  # health_connect: whatever apps write into it
            kit.append((source, "steps", rnd.choice(DEVICE_NAMES["hc_phone"])))
            if rnd.random() < 0.6:
                device = rnd.choice(DEVICE_NAMES["hc_watch"])
                kit += [(source, "heart_rate", device), (source, "sleep_duration", device)]
            if diabetic:
                kit.append((source, "blood_glucose", rnd.choice(DEVICE_NAMES["hc_glucose"])))
            if rnd.random() < 0.3:
                kit.append((source, "weight", rnd.choice((*DEVICE_NAMES["hc_scale"], None))))
            if rnd.random() < 0.2:
                kit.append((source, "blood_pressure", rnd.choice((*DEVICE_NAMES["hc_bp"], None))))
    return tuple(kit)


def make_profile(
    run_seed: int,
    index: int,
    *,
    condition: str | None = None,
    baseline_severity: str | None = None,
    sources: Sequence[VitalSource] | None = None,
    locale: str | None = None,
) -> PatientProfile:
    """Build patient `index` of the run seeded `run_seed`, deterministically.

    Overrides replace the drawn value; everything drawn from an unrelated stream stays the same, so
    `make_profile(1, 5, condition="migraine")` is patient 5 with migraine, not a different person
    (names and age follow the condition's sex and age mix, which is part of the realism).
    Raises ValueError for a value outside the contract's enums.
    """
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    seed = patient_seed(run_seed, index)
    key = f"{run_tag(run_seed)}{index:05d}"
    condition, baseline_severity = _condition(seed, condition, baseline_severity)
    person = _person(seed, condition, locale)
    chosen_sources = _sources(seed, sources)

    rnd_body = stream(seed, "body")
    diabetic = rnd_body.random() < CATALOGUE[condition].diabetic_share
    body = _body_params(rnd_body, person.sex, person.age, baseline_severity, diabetic)
    pain, _ = _pain_params(stream(seed, "pain"), condition, baseline_severity, body.sleep_sd)
    habits = _habits(seed, body, baseline_severity, person.locale, chosen_sources, diabetic)
    given, family = person.given, person.family
    return PatientProfile(
        patient_key=key,
        seed=seed,
        run_seed=run_seed,
        index=index,
        locale=person.locale,
        given_name=given,
        family_name=family,
        display_name=f"{given} {family[:1]}.",
        email=demographics.email_for(given, family, key),
        sex=person.sex,
        birth_year=REFERENCE_YEAR - person.age,
        timezone=person.timezone,
        condition=condition,
        baseline_severity=baseline_severity,
        sources=chosen_sources,
        pain=pain,
        body=body,
        habits=habits,
    )


def _condition(seed: int, condition: str | None, baseline_severity: str | None) -> tuple[str, str]:
    """The condition and severity: drawn (always, so overrides change nothing else), then overridden."""
    rnd_condition = stream(seed, "condition")
    drawn_condition = _weighted(rnd_condition, {c: CATALOGUE[c].prevalence for c in CONDITIONS})
    drawn_severity = _weighted(rnd_condition, SEVERITY_WEIGHTS)
    condition = condition or drawn_condition
    baseline_severity = baseline_severity or drawn_severity
    if condition not in CATALOGUE:
        raise ValueError(f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    if baseline_severity not in SEVERITY_BASELINES:
        raise ValueError(
            f"unknown baseline_severity {baseline_severity!r}; expected mild, moderate or severe"
        )
    return condition, baseline_severity


@dataclass(frozen=True, slots=True)
class _Person:
    locale: str
    sex: str
    age: int
    given: str
    family: str
    timezone: str


def _person(seed: int, condition: str, locale: str | None) -> _Person:
    """Locale, sex and age (the condition's mix), name and timezone, from the "person" stream."""
    rnd_person = stream(seed, "person")
    drawn_locale = _weighted(rnd_person, LOCALE_WEIGHTS)
    locale = locale or drawn_locale
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
    sex = "female" if rnd_person.random() < FEMALE_SHARE[condition] else "male"
    mean_age, sd_age, min_age, max_age = AGE[condition]
    age = int(_clip(round(rnd_person.gauss(mean_age, sd_age)), min_age, max_age))
    given, family = demographics.person(locale, sex, seed & 0x7FFFFFFF)
    timezone = demographics.timezone_for(locale, rnd_person)
    return _Person(locale, sex, age, given, family, timezone)


def _sources(seed: int, sources: Sequence[VitalSource] | None) -> tuple[VitalSource, ...]:
    """The connected sources: drawn, or the override in the contract's order."""
    drawn_sources = _draw_sources(stream(seed, "sources"))
    if sources is None:
        return drawn_sources
    unknown = [s for s in sources if s not in VITAL_SOURCES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r}; expected one of {', '.join(VITAL_SOURCES)}")
    return tuple(s for s in VITAL_SOURCES if s in set(sources))


def _habits(
    seed: int,
    body: BodyParams,
    baseline_severity: str,
    locale: str,
    chosen_sources: tuple[VitalSource, ...],
    diabetic: bool,
) -> HabitParams:
    """How the patient uses the app and their devices, from the "habits" and "kit" streams."""
    rnd_habits = stream(seed, "habits")
    n_slots = int(_weighted(rnd_habits, {"1": 0.55, "2": 0.35, "3": 0.10}))
    slots = tuple(sorted(rnd_habits.sample((0, 1, 2), n_slots)))
    gauge_types: list[str] = [g for g in GAUGE_TYPES if rnd_habits.random() < GAUGE_WEIGHTS[g]]
    if not gauge_types:
        gauge_types = ["mood"]
    severity_index = {"mild": 0, "moderate": 1, "severe": 2}[baseline_severity]
    return HabitParams(
        slots=slots,
        adherence=round(rnd_habits.uniform(0.72, 0.98), 3),
        wellbeing_adherence=round(rnd_habits.uniform(0.65, 0.97), 3),
        gauge_types=tuple(gauge_types),
        gauge_adherence=round(rnd_habits.uniform(0.55, 0.95), 3),
        doses_per_day=rnd_habits.choice((1, 1, 2, 2, 3)),
        dose_adherence=round(rnd_habits.uniform(0.7, 0.99), 3),
        who5_baseline=round(_clip(rnd_habits.gauss(15.0 - 1.8 * severity_index, 3.2), 4.0, 23.0), 2),
        vitals_attach=round(rnd_habits.uniform(0.5, 0.95), 3),
        bp_rate=round(
            _clip(rnd_habits.uniform(0.15, 0.5) + (0.3 if body.systolic >= 130 else 0.0), 0, 0.95), 3
        ),
        weigh_rate=round(rnd_habits.uniform(0.15, 0.7), 3),
        notes_rate=round(rnd_habits.uniform(0.0, 0.12), 3),
        weight_unit="lb" if locale == "en_US" else "kg",
        glucose_unit="mg/dL" if locale in GLUCOSE_MG_DL_LOCALES else "mmol/L",
        kit=_kit(stream(seed, "kit"), chosen_sources, diabetic),
    )
