"""`describe` in 80 columns and `plot`'s panels: what a reviewer found unreadable or misleading."""

from __future__ import annotations

import io
import math
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from synthetic_data.dataset import iter_patients
from synthetic_data.describe import describe, render
from synthetic_data.plot import build_figure, daily_line
from synthetic_data.runner import RunSpec, run
from synthetic_data.vocab import CONDITIONS


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("described")
    run(RunSpec(patients=28, days=30, seed=4, start=date(2026, 1, 5), out_dir=out), workers=1)
    return out


def _rendered(dataset: Path, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    render(describe(dataset), console)
    return console.export_text()


def test_describe_fits_80_columns_without_cutting_names(dataset: Path) -> None:
    text, wide = _rendered(dataset, 80), _rendered(dataset, 200)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text

    # Nothing is cut or cropped at 80 columns: the same words as on a wide terminal, only wrapped.
    def words(t: str) -> Counter[str]:
        return Counter(w for w in t.split() if set(w) - set("─━│┃"))  # rules differ in length only

    assert words(text) == words(wide)
    present = [c for c in CONDITIONS if c in {p.patient["condition"] for p in iter_patients(dataset)}]
    assert present
    for condition in present:  # every word of every name is printed whole
        for word in condition.split("_"):
            assert word in text, word
    dataset_table = text.split("Pain (daily mean")[0]
    assert sum(1 for line in dataset_table.splitlines() if "patients" in line) == 1


def test_daily_line_breaks_over_days_without_data() -> None:
    xs, ys = daily_line({date(2026, 1, 1): 3.0, date(2026, 1, 2): 4.0, date(2026, 1, 5): 5.0})
    assert len(xs) == 4 and math.isnan(ys[2]) and ys[:2] == [3.0, 4.0] and ys[3] == 5.0


def test_plot_drops_empty_panels_and_says_what_is_missing(dataset: Path) -> None:
    data = next(iter(iter_patients(dataset)))
    full = build_figure(data.patient, data.series)
    no_devices = {**data.series, "vitals": []}
    figure = build_figure(data.patient, no_devices)
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert labels == ["pain (NRS 0-10)", "WHO-5 (0-100)"]
    notes = [t.get_text() for t in figure.texts]
    assert "no sleep/HRV data" in notes
    assert "no device data" not in " ".join(notes)
    assert len(full.axes) >= len(figure.axes)
    pain_line = figure.axes[0].get_lines()[0]
    assert len(pain_line.get_xdata()) >= 1
