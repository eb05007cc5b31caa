"""``X-Recagent-Worker``: the id of the process that answered.

With several workers behind one port (``recagent serve --workers N``), each request may land on a
different process; the header shows which one did (for logs, load tests and the scale-out test).
"""

from __future__ import annotations

import os

HEADER = b"x-recagent-worker"


class WorkerHeader:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_worker(message):
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (HEADER, str(os.getpid()).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_worker)
