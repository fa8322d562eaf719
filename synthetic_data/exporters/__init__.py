"""Dataset exporters (NDJSON, CSV, FHIR, SQLite) and the shared record-to-FHIR mapping."""
