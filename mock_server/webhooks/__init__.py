"""Webhook delivery: outbox, signing, dispatcher, subscriptions, and the integrator tools.

How an event travels::

    handler (consent, check-in, …)
      └─ outbox.emit_event(conn, …)        event + one pending delivery per subscribed endpoint,
                                            in the handler's own transaction
      └─ services.wake_dispatcher()         after the commit
    dispatcher.Dispatcher                   own thread and loop inside `serve`, or `worker` processes
      ├─ claims.claim                       lease due deliveries (SKIP LOCKED on PostgreSQL)
      ├─ attempt.attempt                    targets (address safety) → signing → transport (HTTP/1.1)
      │                                     → retry (schedule, Retry-After)
      └─ claims.record                      log every attempt; retry, exhaust, disable endpoints

The subscriptions API (``mock_server.handlers.webhooks``) reads and writes through ``store``; the
integrator's tools are ``cli`` (``care-sandbox webhooks …``): ``listener`` + ``verify`` (a verifying
local receiver) and ``trigger`` (real events, through the sandbox's own API).
"""
