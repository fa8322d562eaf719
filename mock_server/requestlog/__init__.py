"""The sandbox request log: capture (``middleware.request_log``), redaction (``redact``) and the
background writer (``writer``) that stores entries in batches off the request's critical path."""
