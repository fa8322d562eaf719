"""One time-series model per series, all driven by the shared daily latent state (`latent.py`).

`latent` simulates the body (sleep, HRV, heart rate, steps, pain, mood) day by day; `messiness` decides
what the patient and their devices fail to record; `pain`, `wellbeing`, `gauges` and `vitals` turn both
into records in the API's shapes.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

_A = TypeVar("_A", bound=npt.NDArray[np.generic])


def clamp(x: _A, lo: float, hi: float) -> _A:
    """`np.clip(x, lo, hi)` for the models' short arrays: the same values (min of max, as clip
    computes them), at half the cost of `np.clip`'s dispatch on a year of days."""
    clamped: _A = np.minimum(np.maximum(x, lo), hi)
    return clamped
