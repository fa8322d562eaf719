"""Dataset formats and the shared record-to-FHIR mapping.

Each format has two halves (base.py): an *encoder* that turns a block of patients into bytes (or rows)
inside a worker process, and a *sink* in the parent that writes blocks in patient order. Splitting the
work this way keeps the expensive part parallel and the output byte-identical whatever the number of
workers: workers never write a shared file, the parent writes blocks in index order.

- ndjson.py   one `<series>.ndjson` per series (API records + `patient_id`)
- csvfiles.py one `<series>.csv` per series, flattened
- fhir_bundles.py one R4 transaction Bundle per patient (`fhir/<patient_id>.json`)
- sqlite.py   one ready-to-query `care_synth.sqlite` database
- fhir.py     pure record -> FHIR resource functions, shared with the sandbox's FHIR facade
"""
