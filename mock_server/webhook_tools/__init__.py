"""The integrator's webhook tools: ``care-sandbox webhooks listen | trigger | events``.

Why a package of their own: these run on the integrator's machine and talk to a sandbox over HTTP,
exactly as the partner's own code would — ``listener`` + ``verify`` are a verifying local receiver (a
reference implementation of checking both signatures), ``trigger`` makes a running sandbox emit real
events by driving its public API. They share only the wire format with the server
(``mock_server.webhooks.signing`` and ``mock_server.webhooks.event_types``, both pure) and never
touch its storage or its delivery machinery; ``tests/test_architecture.py`` holds that rule.
"""
