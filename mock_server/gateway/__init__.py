"""The per-operation request pipeline that sits behind Connexion's router.

``plan`` compiles each operation once; ``params`` and ``body`` parse and validate what a request
carries; ``prefer`` forces documented responses; ``idempotency`` replays POSTs; ``dispatch`` runs the
handler and validates what it returns.
"""
