"""Webhook delivery, the server side: outbox, signing, dispatcher, subscriptions.

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

The subscriptions API (``mock_server.handlers.webhooks``) reads and writes through ``subscriptions``.
The SQL of all of it is in ``mock_server.storage``: ``storage.outbox`` (events, the delivery queue and
its leases, attempts), ``storage.webhooks`` (endpoints, their health, the delivery log) and
``storage.locking`` (the dispatcher's impatient SQLite connections). The
integrator's tools (``care-sandbox webhooks …``) live in ``mock_server.webhook_tools``; they may use
the pure wire-format modules here (``signing``, ``event_types``), and nothing here imports them.
"""
