"""``python -m mock_server`` is ``care-sandbox``."""

from mock_server.cli import main

main()
