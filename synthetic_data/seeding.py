"""Where every random number comes from, so that output is reproducible by construction.

Three rules make the generator deterministic whatever the number of workers or shards, and make a
patient's series *continuable* (days 0..N then N..N+k equal days 0..N+k in one go):

1. A patient's seed depends only on (run seed, patient index) — never on which process makes it.
2. Profile-level choices use `random.Random` instances keyed by purpose (`stream(seed, "vitals")`), so
   overriding one choice (say the condition) leaves the others as they were.
3. Daily randomness is a fixed number of draws per day, filled row by row (`DayDraws`): the first N rows
   of an (N+k)-row matrix equal an N-row matrix, so day d's draws never depend on how many days follow.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def patient_seed(run_seed: int, index: int) -> int:
    """64-bit seed of patient `index` in the run seeded `run_seed`."""
    return _hash64(f"care-synth/patient/{run_seed}/{index}")


def run_tag(run_seed: int) -> str:
    """Four hex digits naming the run; it prefixes patient keys so runs rarely share keys."""
    return f"{_hash64(f'care-synth/run/{run_seed}') & 0xFFFF:04x}"


def stream(seed: int, purpose: str) -> random.Random:
    """A `random.Random` for one purpose of one patient (string seeds hash with SHA-512: stable)."""
    return random.Random(f"{seed}/{purpose}")


class DayDraws:
    """Per-day uniform and standard-normal draws for one patient, prefix-stable in the number of days.

    Columns are named: `u("sleep")` is the uniform column reserved for sleep. Adding a column at the end
    of `UNIFORM_COLUMNS` keeps the earlier ones; inserting one in the middle changes all later ones.
    """

    MAX_SOURCES = 4  # per-source column groups (one per VitalSource)
    MAX_READINGS = 24  # per-reading column groups (more readings in a day reuse them modulo)
    UNIFORM_COLUMNS = (
        "log_day",
        "lapse_start",
        "lapse_len",
        "slots",
        "slot_time_0",
        "slot_time_1",
        "slot_time_2",
        "slot_keep_0",
        "slot_keep_1",
        "slot_keep_2",
        "flare_start",
        "flare_hour",
        "flare_len",
        "flare_size",
        "flare_log",
        "flare_log_time",
        "areas_0",
        "areas_1",
        "areas_2",
        "areas_3",
        "qualities_0",
        "qualities_1",
        "qualities_2",
        "qualities_3",
        "intensity_0",
        "intensity_1",
        "intensity_2",
        "intensity_3",
        "wellbeing_null",
        "vitals_attach",
        "notes",
        "wb_log",
        "wb_time",
        "gauge_log",
        "gauge_time",
        "gauge_late",
        "workout",
        "workout_time",
        "bp_take",
        "bp_time",
        "weight_take",
        "weight_time",
        "glucose_time",
        "spot_time",
        "doses",
        *(f"{name}_{s}" for s in range(MAX_SOURCES) for name in ("wear", "gap_start", "gap_len", "gap_lost")),
        *(f"{name}_{k}" for k in range(MAX_READINGS) for name in ("rx", "mess", "error")),
    )
    NORMAL_COLUMNS = (
        "pain",
        "pain_entry_0",
        "pain_entry_1",
        "pain_entry_2",
        "pain_entry_3",
        "sleep",
        "hrv",
        "rhr",
        "steps",
        "mood",
        "who5_0",
        "who5_1",
        "who5_2",
        "who5_3",
        "who5_4",
        "gauge_0",
        "gauge_1",
        "gauge_2",
        "gauge_3",
        "gauge_4",
        "gauge_5",
        "gauge_6",
        "bp_sys",
        "bp_dia",
        "weight",
        "glucose_0",
        "glucose_1",
        "spo2",
        "temperature",
        "hr",
        "hr_workout",
        "wake",
    )
    _U = {name: i for i, name in enumerate(UNIFORM_COLUMNS)}
    _Z = {name: i for i, name in enumerate(NORMAL_COLUMNS)}

    def __init__(self, seed: int, n_days: int) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.n_days = n_days
        # One interleaved matrix per kind: row d holds all of day d's draws.
        self._uniform: FloatArray = rng.random((n_days, len(self.UNIFORM_COLUMNS)))
        rng_z = np.random.Generator(np.random.PCG64(seed ^ 0x5DEECE66D))
        self._normal: FloatArray = rng_z.standard_normal((n_days, len(self.NORMAL_COLUMNS)))

    def u(self, name: str) -> FloatArray:
        """Uniform [0, 1) column `name`, one value per day."""
        return self._uniform[:, self._U[name]]

    def z(self, name: str) -> FloatArray:
        """Standard-normal column `name`, one value per day."""
        return self._normal[:, self._Z[name]]

    @property
    def uniform(self) -> FloatArray:
        """All uniforms, one row per day (columns as `UNIFORM_COLUMNS`)."""
        return self._uniform

    @property
    def normal(self) -> FloatArray:
        """All standard normals, one row per day (columns as `NORMAL_COLUMNS`)."""
        return self._normal

    @classmethod
    def ucol(cls, name: str) -> int:
        """Index of uniform column `name` in a row of `uniform`."""
        return cls._U[name]

    @classmethod
    def zcol(cls, name: str) -> int:
        """Index of normal column `name` in a row of `normal`."""
        return cls._Z[name]
