"""Swagger UI 5 (renders OpenAPI 3.1), vendored from npm's ``swagger-ui-dist`` as package data.

Why vendored: the PyPI bundle Connexion installs (swagger-ui-bundle 1.1.0) is Swagger UI 4.15, which
cannot read OpenAPI 3.1, and the Python wrappers of Swagger UI 5 lag behind its releases.
``swagger-ui-dist`` is the Swagger project's own build, published with every release; the pinned
version is in ``VERSION`` and ``mock_server/swagger_ui/update.sh`` replaces the files with another one.
"""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
VERSION = (DIRECTORY / "VERSION").read_text(encoding="utf-8").strip()
