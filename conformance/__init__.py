"""care-conformance: the conformance kit for the patient-consented health-data partner API.

It judges ANY implementation (our sandbox, a staging server, a partner's re-implementation) from the
OpenAPI 3.1 spec and a base URL alone, so it never imports `mock_server` or `synthetic_data`.

Layers of `care-conformance run` (see `runner.run`):

- spec (`spec.py`): the document validates as OpenAPI 3.1;
- probes (`probes/`): this API's rules over several requests — pagination, date filters, scopes,
  tenant isolation, Idempotency-Key replay;
- scenarios (`scenarios/`): consent lifecycle, report job and PDF, FHIR search, webhook delivery to the
  kit's own `receiver.py`, the sandbox clock — with the sandbox controls when offered;
- schemathesis (`engine.py`): stateless and stateful phases, driven in-process, with the per-response
  checks of `checks/response.py` (error envelope, X-Request-Id, X-RateLimit-*, Retry-After) riding along.

Every response the kit itself receives is also judged by those per-response checks and validated by
openapi-core (`validation.py`). Results fold into per-(operation, check) outcomes (`results.py`), a
Microcks-like score (`score.py`) and reports (`reporting/`). `consumer.py` is `webhook-consumer`, the
reverse direction: judging a partner's webhook receiver. `pytest_plugin.py` exposes it all to pytest.

Imports within the package: `checks/` depend on `errors` and `exchange` only; nothing imports `cli`.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
