"""Golden digests: a small fixed care-synth run must give exactly the bytes it gave when recorded.

The determinism tests prove "same inputs, same bytes" within one environment. This one pins the bytes
across environments: a new Faker, NumPy, orjson or tzdata (a re-lock), a Python upgrade, or a change
to a model changes the output, and this test says so loudly — with the libraries that differ from the
recording — instead of letting "byte-identical" quietly stop being true.

A deliberate change is accepted with one command, then committed:

    make golden        # = CARE_SYNTH_UPDATE_GOLDEN=1 pytest tests/synthetic_data/test_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path

import pytest

from synthetic_data.runner import MANIFEST, RunSpec, library_versions, run

GOLDEN = Path(__file__).resolve().parent / "golden" / "digests.json"
UPDATE_ENV = "CARE_SYNTH_UPDATE_GOLDEN"
RUN = {"patients": 4, "days": 21, "seed": 20260101, "start": "2026-03-01", "messiness": 0.5}


def _digests(out: Path) -> dict[str, str]:
    """SHA-256 of every output file (the manifest aside: it records versions, not output)."""
    return {
        path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _generate(tmp_path: Path) -> dict[str, dict[str, str]]:
    made: dict[str, dict[str, str]] = {}
    for fmt in ("ndjson", "csv", "fhir"):
        out = tmp_path / fmt
        spec = RunSpec(
            patients=int(RUN["patients"]),
            days=int(RUN["days"]),
            seed=int(RUN["seed"]),
            start=date.fromisoformat(str(RUN["start"])),
            out_dir=out,
            format=fmt,
            messiness=float(RUN["messiness"]),
        )
        run(spec, workers=1)
        made[fmt] = _digests(out)
    return made


def test_a_small_fixed_run_gives_the_recorded_bytes(tmp_path: Path) -> None:
    made = _generate(tmp_path)
    versions = library_versions()
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN.write_text(json.dumps({"run": RUN, "libraries": versions, "digests": made}, indent=2) + "\n")
        pytest.skip(f"recorded new golden digests in {GOLDEN}; review and commit it")
    if not GOLDEN.exists():
        pytest.fail(f"no golden digests yet: run `make golden` and commit {GOLDEN}")
    golden = json.loads(GOLDEN.read_text())
    assert golden["run"] == RUN, "the golden run's arguments changed: run `make golden`"
    changed = sorted(
        f"{fmt}/{name}"
        for fmt in sorted(set(made) | set(golden["digests"]))
        for name in sorted(set(made.get(fmt, {})) | set(golden["digests"].get(fmt, {})))
        if made.get(fmt, {}).get(name) != golden["digests"].get(fmt, {}).get(name)
    )
    if changed:
        drift = {
            name: f"{golden['libraries'].get(name)} -> {version}"
            for name, version in versions.items()
            if golden["libraries"].get(name) != version
        }
        pytest.fail(
            "care-synth output changed for the same seed and arguments: "
            f"{len(changed)} file(s) differ ({', '.join(changed[:8])}{' …' if len(changed) > 8 else ''}). "
            f"Libraries that differ from the recording: {drift or 'none (a code change)'}. "
            "If the change is deliberate, run `make golden` and commit tests/synthetic_data/golden/digests.json "
            "(and note it in the changelog: seeded datasets are no longer byte-identical to earlier ones)."
        )
