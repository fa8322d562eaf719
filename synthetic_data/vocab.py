"""The closed vocabularies of the API, as the contract fixes them.

Kept in one module so the generator, the exporters and the tests agree on spelling, and so a change to
the contract is a one-file change here. Order matters: it is the order draws index into, so appending
is safe and reordering changes every dataset generated from a given seed.
"""

from __future__ import annotations

from typing import Final, Literal

BODY_AREAS: Final = (
    "head",
    "face",
    "neck",
    "left_shoulder",
    "right_shoulder",
    "upper_back",
    "lower_back",
    "chest",
    "abdomen",
    "left_arm",
    "right_arm",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hand",
    "right_hand",
    "left_hip",
    "right_hip",
    "pelvis",
    "left_thigh",
    "right_thigh",
    "left_knee",
    "right_knee",
    "left_calf",
    "right_calf",
    "left_ankle",
    "right_ankle",
    "left_foot",
    "right_foot",
)

# SF-MPQ (Melzack 1987) and SF-MPQ-2 (Dworkin 2009) descriptors, in the contract's spelling.
PAIN_QUALITIES: Final = (
    "throbbing",
    "shooting",
    "stabbing",
    "sharp",
    "cramping",
    "gnawing",
    "burning",
    "aching",
    "heavy",
    "tender",
    "splitting",
    "tiring_exhausting",
    "sickening",
    "fearful",
    "punishing_cruel",
    "electric_shock",
    "cold_freezing",
    "piercing",
    "tingling",
    "numbness",
    "itching",
    "light_touch_pain",
)

VitalSource = Literal["polar", "withings", "oura", "health_connect"]
VITAL_SOURCES: Final[tuple[VitalSource, ...]] = ("polar", "withings", "oura", "health_connect")

VITAL_METRICS: Final = (
    "heart_rate",
    "resting_heart_rate",
    "hrv_rmssd",
    "sleep_duration",
    "steps",
    "spo2",
    "blood_pressure",
    "blood_glucose",
    "weight",
    "body_temperature",
)

# What each source reports, and in which unit (contract, "Which source reports what").
SOURCE_METRICS: Final[dict[str, tuple[str, ...]]] = {
    "polar": ("heart_rate", "resting_heart_rate", "hrv_rmssd", "sleep_duration", "steps"),
    "oura": ("resting_heart_rate", "hrv_rmssd", "sleep_duration", "steps", "body_temperature", "spo2"),
    "withings": ("blood_pressure", "weight", "heart_rate", "sleep_duration", "steps", "spo2"),
    "health_connect": ("steps", "heart_rate", "sleep_duration", "blood_glucose", "weight", "blood_pressure"),
}

# Physiological ranges (contract): the server rejects pushes outside them and the generator never emits
# outside them. Keyed by (metric, unit); blood pressure is checked per component.
PHYSIOLOGICAL_RANGES: Final[dict[tuple[str, str], tuple[float, float]]] = {
    ("heart_rate", "bpm"): (25, 250),
    ("resting_heart_rate", "bpm"): (30, 120),
    ("hrv_rmssd", "ms"): (1, 300),
    ("sleep_duration", "h"): (0, 16),
    ("sleep_duration", "min"): (0, 960),
    ("steps", "count"): (0, 100_000),
    ("spo2", "%"): (70, 100),
    ("blood_pressure", "mmHg"): (60, 260),
    ("blood_glucose", "mg/dL"): (20, 600),
    ("blood_glucose", "mmol/L"): (1.1, 33.3),
    ("weight", "kg"): (2, 400),
    ("weight", "lb"): (4.4, 880),
    ("body_temperature", "Cel"): (33, 43),
}
DIASTOLIC_RANGE: Final = (30, 160)

CONDITIONS: Final = (
    "chronic_low_back_pain",
    "knee_osteoarthritis",
    "fibromyalgia",
    "migraine",
    "rheumatoid_arthritis",
    "neuropathic_pain",
    "crps",
)

SEVERITIES: Final = ("mild", "moderate", "severe")

GAUGE_TYPES: Final = (
    "mood",
    "anxiety",
    "energy",
    "sleep_quality",
    "pain",
    "medication_adherence",
    "social_interaction",
)
GAUGE_SCALES: Final[dict[str, tuple[int, int]]] = {
    "mood": (1, 10),
    "anxiety": (1, 10),
    "energy": (1, 10),
    "sleep_quality": (1, 10),
    "pain": (0, 10),
    "medication_adherence": (0, 100),
    "social_interaction": (1, 10),
}

WHO5_DIMENSIONS: Final = ("cheerful", "calm", "active", "rested", "interested")

LOCALES: Final = ("en_US", "en_GB", "fi_FI", "sv_SE", "de_DE", "fr_FR", "es_ES", "it_IT")

# Output series, in the order files are written and summaries printed.
SERIES: Final = ("patients", "pain_entries", "wellbeing", "gauges", "vitals", "flares")
