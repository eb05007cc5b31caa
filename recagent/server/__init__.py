"""The HTTP API and web chat page (``recagent serve``). See :func:`recagent.server.app.create_app`."""

from recagent.server.app import create_app

__all__ = ["create_app"]
