"""`python -m synthetic_data` runs the `care-synth` CLI."""

from synthetic_data.cli import main

main()
