"""care-synth: realistic, reproducible synthetic self-tracking data (pain, WHO-5, gauges, device vitals).

A pure library (no server, no database) plus the `care-synth` CLI. The sandbox server seeds itself with
it through two stable entry points:

- `synthetic_data.patients.make_profile(run_seed, index, *, condition=None, baseline_severity=None,
  sources=None, locale=None) -> PatientProfile`
- `synthetic_data.generate.generate_days(profile, start, first_day, n_days, messiness=0.3)
  -> PatientSeries` (records in openapi.yaml's shapes, continuable day by day)

and the FHIR facade reuses `synthetic_data.exporters.fhir` (pure record -> FHIR R4 functions).

Layout: `patients.py` (profiles), `conditions.py` (catalogue), `models/` (one model per series over a
shared latent daily state), `generate.py` (one patient, one window), `runner.py` (a dataset, sharded and
parallel), `exporters/` (NDJSON, CSV, FHIR, SQLite), `stats.py` / `plot.py` (describe and plot a
dataset), `cli.py`.
"""

__version__ = "0.1.0"
