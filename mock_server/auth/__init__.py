"""Credentials: partner API keys, OAuth 2.0 clients and tokens, and who a request is."""
