"""Webhook delivery: outbox, signing, dispatcher, subscriptions, and the integrator tools."""
