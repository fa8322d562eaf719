"""`python -m conformance` runs the `care-conformance` CLI."""

from conformance.cli import main

main()
