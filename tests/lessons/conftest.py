"""The shared browser-test server for the lessons browser test."""

from tests.web.conftest import live_server  # noqa: F401
