"""The ASGI entry point uvicorn imports (``mock_server.asgi:app``): settings from the environment."""

from mock_server.app import create_app
from mock_server.settings import Settings

app = create_app(Settings.from_env())
