"""The FHIR R4 facade's server pieces: CapabilityStatement, Observation search, Bundles, OperationOutcome.

Record-to-resource mapping (Patient, Observation with LOINC codes) lives in
``synthetic_data.exporters.fhir`` so the generator's FHIR export and the server agree by construction;
this package only adds what a *server* needs around those resources. Everything here is pure: dicts in,
dicts out, no I/O.
"""
