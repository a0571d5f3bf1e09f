"""The headless participant: `python -m qt_client.bot --help`."""
