"""ASGI layers outside Connexion's router: request state, errors and headers, rate limits."""
