"""The condition catalogue: what differs between a migraine diary and a knee-osteoarthritis diary.

Each `ConditionSpec` holds the parameters the pain model draws a patient from, with the source of the
number where one exists (see /work/shared/research/data_webhooks.md, section 3):

- baseline pain by severity tier: Breivik 2006 (chronic pain, NRS >= 5 inclusion) found 66 % moderate
  (5-7) and 34 % severe (8-10). We add a mild tier so a sandbox has variety, and keep the 2:1 split of
  the rest (`SEVERITY_WEIGHTS`).
- within-person SD of daily pain ~1.6 (Harris 2005, range 0.3-4): `pain_sd` is the SD of the AR(1)
  component; flares, sleep coupling and entry noise add to it.
- flares: back pain 3.5 per 6 weeks, +2.7 NRS, over half shorter than 4 h (Suri 2011). Other conditions
  are given their clinical shape (migraine attacks 4-72 h, RA and fibromyalgia flares lasting days).
- time of day: fibromyalgia and RA worse in the morning, neuropathic pain worse in the evening
  (Knezevic 2023); stored as additive deltas for morning / midday / evening entries.

`pain_band` is the *documented* band for the cohort mean of daily pain under the default severity mix;
tests/synthetic_data assert generated cohorts land inside it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

# Baseline pain range per severity tier, before the condition's shift.
SEVERITY_BASELINES: Final[dict[str, tuple[float, float]]] = {
    "mild": (2.5, 4.3),
    "moderate": (5.0, 6.8),
    "severe": (7.2, 8.5),
}
SEVERITY_WEIGHTS: Final[dict[str, float]] = {"mild": 0.15, "moderate": 0.55, "severe": 0.30}
# Severe patients flare more often, mild ones less.
SEVERITY_FLARE_FACTOR: Final[dict[str, float]] = {"mild": 0.7, "moderate": 1.0, "severe": 1.3}


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """Parameters of one condition; one patient's own values are drawn around these."""

    name: str
    prevalence: float  # weight in a default cohort
    baseline_shift: float  # added to the severity tier's baseline
    pain_sd: float  # SD of the AR(1) component of daily pain
    ar_phi: float  # day-to-day persistence of that component
    flares_per_6_weeks: float
    flare_magnitude: float  # NRS points added at a flare's peak
    flare_median_hours: float  # lognormal median duration
    flare_sigma: float  # lognormal sigma of the duration
    tod_deltas: tuple[float, float, float]  # morning, midday, evening
    qualities: dict[str, float]  # descriptor -> weight
    pain_band: tuple[float, float]  # documented cohort mean of daily pain
    diabetic_share: float  # share of patients with diabetes (glucose readings)


CATALOGUE: Final[dict[str, ConditionSpec]] = {
    spec.name: spec
    for spec in (
        ConditionSpec(
            name="chronic_low_back_pain",
            prevalence=0.30,
            baseline_shift=-0.1,
            pain_sd=1.2,
            ar_phi=0.6,
            flares_per_6_weeks=3.5,
            flare_magnitude=2.7,
            flare_median_hours=3.5,
            flare_sigma=1.3,
            tod_deltas=(0.3, -0.1, 0.2),
            qualities={
                "aching": 5,
                "sharp": 3,
                "shooting": 3,
                "stabbing": 2,
                "heavy": 2,
                "cramping": 1,
                "tiring_exhausting": 1,
                "tender": 1,
                "tingling": 1,
            },
            pain_band=(5.0, 7.0),
            diabetic_share=0.08,
        ),
        ConditionSpec(
            name="knee_osteoarthritis",
            prevalence=0.20,
            baseline_shift=-1.0,
            pain_sd=1.0,
            ar_phi=0.7,
            flares_per_6_weeks=2.0,
            flare_magnitude=2.5,
            flare_median_hours=24.0,
            flare_sigma=0.9,
            tod_deltas=(0.2, -0.2, 0.5),
            qualities={
                "aching": 6,
                "sharp": 3,
                "tender": 3,
                "stabbing": 2,
                "gnawing": 2,
                "heavy": 1,
                "throbbing": 1,
            },
            pain_band=(4.5, 6.5),
            diabetic_share=0.12,
        ),
        ConditionSpec(
            name="fibromyalgia",
            prevalence=0.12,
            baseline_shift=-0.1,
            pain_sd=1.3,
            ar_phi=0.6,
            flares_per_6_weeks=3.0,
            flare_magnitude=2.5,
            flare_median_hours=36.0,
            flare_sigma=0.8,
            tod_deltas=(0.6, -0.2, 0.1),
            qualities={
                "aching": 5,
                "tender": 4,
                "tiring_exhausting": 4,
                "heavy": 2,
                "gnawing": 2,
                "punishing_cruel": 1,
                "fearful": 1,
                "burning": 1,
                "stabbing": 1,
                "light_touch_pain": 1,
            },
            pain_band=(5.3, 7.3),
            diabetic_share=0.06,
        ),
        ConditionSpec(
            name="migraine",
            prevalence=0.12,
            baseline_shift=-3.0,
            pain_sd=0.8,
            ar_phi=0.4,
            flares_per_6_weeks=7.0,
            flare_magnitude=4.5,
            flare_median_hours=14.0,
            flare_sigma=0.7,
            tod_deltas=(0.2, 0.0, 0.0),
            qualities={
                "throbbing": 6,
                "splitting": 3,
                "sickening": 3,
                "piercing": 2,
                "sharp": 1,
                "tiring_exhausting": 1,
                "heavy": 1,
            },
            pain_band=(2.5, 4.8),
            diabetic_share=0.04,
        ),
        ConditionSpec(
            name="rheumatoid_arthritis",
            prevalence=0.10,
            baseline_shift=-1.2,
            pain_sd=1.0,
            ar_phi=0.7,
            flares_per_6_weeks=1.8,
            flare_magnitude=2.8,
            flare_median_hours=72.0,
            flare_sigma=0.6,
            tod_deltas=(0.7, -0.1, 0.0),
            qualities={
                "aching": 5,
                "tender": 3,
                "throbbing": 3,
                "tiring_exhausting": 3,
                "heavy": 1,
                "sharp": 1,
                "burning": 1,
            },
            pain_band=(4.5, 6.7),
            diabetic_share=0.08,
        ),
        ConditionSpec(
            name="neuropathic_pain",
            prevalence=0.10,
            baseline_shift=-0.2,
            pain_sd=1.1,
            ar_phi=0.6,
            flares_per_6_weeks=2.5,
            flare_magnitude=2.5,
            flare_median_hours=8.0,
            flare_sigma=1.0,
            tod_deltas=(-0.3, 0.0, 0.7),
            qualities={
                "burning": 6,
                "tingling": 5,
                "numbness": 4,
                "electric_shock": 3,
                "shooting": 3,
                "light_touch_pain": 2,
                "stabbing": 1,
                "cold_freezing": 1,
                "itching": 1,
            },
            pain_band=(5.0, 7.0),
            diabetic_share=0.5,
        ),
        ConditionSpec(
            name="crps",
            prevalence=0.06,
            baseline_shift=0.6,
            pain_sd=1.2,
            ar_phi=0.65,
            flares_per_6_weeks=3.0,
            flare_magnitude=2.8,
            flare_median_hours=12.0,
            flare_sigma=1.0,
            tod_deltas=(0.0, -0.1, 0.4),
            qualities={
                "burning": 6,
                "light_touch_pain": 4,
                "throbbing": 3,
                "stabbing": 2,
                "cold_freezing": 2,
                "aching": 2,
                "electric_shock": 1,
                "piercing": 1,
                "fearful": 1,
            },
            pain_band=(5.8, 7.8),
            diabetic_share=0.06,
        ),
    )
}

_FIBRO_SITES: Final = (
    "neck",
    "upper_back",
    "lower_back",
    "left_shoulder",
    "right_shoulder",
    "left_hip",
    "right_hip",
    "left_thigh",
    "right_thigh",
    "left_arm",
    "right_arm",
    "chest",
    "abdomen",
    "head",
)
_RA_JOINTS: Final = ("wrist", "hand", "knee", "foot", "ankle", "elbow", "shoulder")


def body_map(condition: str, rnd: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """One patient's pain map: (primary areas, secondary areas) for the condition.

    Primary areas appear in nearly every entry; secondary ones come and go. Laterality is decided once
    per patient (a left-knee patient stays a left-knee patient), as real diaries show.
    """
    side = rnd.choice(("left", "right"))
    other = "right" if side == "left" else "left"
    if condition == "chronic_low_back_pain":
        secondary = ["pelvis", f"{side}_hip", f"{side}_thigh", "upper_back"]
        if rnd.random() < 0.3:
            secondary += [f"{side}_calf", f"{other}_hip"]
        return ("lower_back",), tuple(secondary)
    if condition == "knee_osteoarthritis":
        both = rnd.random() < 0.3
        primary = ("left_knee", "right_knee") if both else (f"{side}_knee",)
        return primary, (f"{side}_hip", f"{side}_calf", f"{side}_thigh", "lower_back")
    if condition == "fibromyalgia":
        sites = rnd.sample(_FIBRO_SITES, rnd.randint(6, 10))
        return tuple(sites[:3]), tuple(sites[3:])
    if condition == "migraine":
        return ("head",), ("neck", "face", f"{side}_shoulder")
    if condition == "rheumatoid_arthritis":
        joints = ["wrist", "hand", *rnd.sample(_RA_JOINTS[2:], rnd.randint(1, 3))]
        pairs = [f"{s}_{j}" for j in joints for s in ("left", "right")]
        return tuple(pairs[:4]), tuple(pairs[4:])
    if condition == "neuropathic_pain":
        if rnd.random() < 0.6:  # length-dependent polyneuropathy: both feet first
            return ("left_foot", "right_foot"), ("left_calf", "right_calf", "left_hand", "right_hand")
        return (f"{side}_thigh",), (f"{side}_calf", f"{side}_foot", "lower_back")
    if condition == "crps":
        if rnd.random() < 0.5:
            return (f"{side}_hand",), (f"{side}_wrist", f"{side}_arm", f"{side}_elbow", f"{side}_shoulder")
        return (f"{side}_foot",), (f"{side}_ankle", f"{side}_calf", f"{side}_knee")
    raise ValueError(f"unknown condition {condition!r}")
