"""HEAD wherever GET is served (RFC 9110, 9.3.2): the GET response's status and headers, no body.

FastAPI routes declared with GET answer HEAD with 405; this ASGI middleware runs a HEAD request
as a GET and drops the body it sends, so ``Content-Length`` is the one a GET would give. A path
served only by POST still answers 405 (its GET is refused with the same Allow header).
"""

from __future__ import annotations


class HeadAsGet:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing of it is sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
