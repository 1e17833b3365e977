"""The load generator's own ceiling: an ASGI app that answers every request 201 and does nothing.

bench/compare_routes.py serves it with uvicorn and points the same Locust at it, so the report
shows how many requests per second Locust itself can send on this machine; no route can be
measured above that. Not part of the product.

    uvicorn bench.null_app:app --port 8090 --no-access-log
"""

from typing import Any

ANSWER = b'{"route": "none", "status": "stored"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass  # read the body, as a real server would
    await send({"type": "http.response.start", "status": 201, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
