"""The HTTP face shared by both ingest routes: `POST /votes`, `POST /actas`, `GET /healthz`,
`GET /readyz`.

A raw ASGI app, so one process keeps many requests in flight with no framework between the
socket and the vote. The routes differ only in their handlers (`handle_vote`, `handle_acta`),
each of which gets the parsed body (with its id, `vote_id` or `acta_id`, assigned here when
the client sent none), its receipt time and the bearer token of its `Authorization` header
(None when absent; the route checks it through election.admission), and returns the status
and body to answer. Everything about the HTTP envelope is decided here once, for votes and
actas alike (a `Resource` each): content type, size limit, malformed JSON, the error shape, a
full queue (election.ingest.async_batcher.Overloaded: 503 with Retry-After).

Every answer to a vote that was read carries its vote_id, the client's or the one assigned
here, in the body (`"vote_id"`) and in a `Vote-Id` header: whatever the answer (201, 202, 400,
401, 403, 409, 429, 503), a client that sent none can retry with it and create no second vote.
An acta likewise carries its `acta_id` and an `Acta-Id` header. A request whose body is no
vote (not JSON, not a JSON object, too large, another content type) gets none: nothing was
read that a retry could repeat. Nor does an object whose id is not a UUID (the 400 says so);
a UUID is echoed in its canonical form.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from election.admission.credentials import AccessKind, bearer_token_parse
from election.ingest.async_batcher import Overloaded
from election.ingest.config import ACTA_MAX_BODY_BYTES, VOTE_MAX_BODY_BYTES
from election.lib.gc_freeze import startup_objects_freeze
from election.observability import metrics

logger = logging.getLogger(__name__)

# The `answer` label of escrutinio_votes_answered_total (and _actas_), by HTTP status.
ANSWERS = {
    201: "accepted",
    202: "accepted",
    400: "rejected",
    401: "unauthorized",
    403: "forbidden",
    409: "conflict",
    413: "rejected",
    415: "rejected",
    429: "throttled",
    503: "unavailable",
}

NESTED_TOO_DEEP = "The JSON is nested too deeply."

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EdgeReply(NamedTuple):
    status: int
    payload: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


Handler = Callable[[Any, datetime, str | None], Awaitable[EdgeReply]]
Hook = Callable[[], Awaitable[None]]
ReadyCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Resource:
    """What the edge takes at one path: the handler, the id it assigns and echoes, how large a
    body it reads, the noun its messages use, and the counter of its answers."""

    handle: Handler
    id_field: str  # "vote_id": assigned here when absent, echoed in the body
    id_header: bytes  # b"vote-id": the same id as a header
    max_body_bytes: int
    noun: str  # "vote", as in "Send the vote as application/json."
    answered: Any  # a prometheus Counter labelled (route, answer)


def votes_resource(handle_vote: Handler) -> Resource:
    return Resource(handle_vote, "vote_id", b"vote-id", VOTE_MAX_BODY_BYTES, "vote", metrics.VOTES_ANSWERED)


def actas_resource(handle_acta: Handler) -> Resource:
    return Resource(handle_acta, "acta_id", b"acta-id", ACTA_MAX_BODY_BYTES, "acta", metrics.ACTAS_ANSWERED)


def errors_reply(status: int, field: str, message: str) -> EdgeReply:
    return EdgeReply(status, {"errors": {field: [message]}})


def unavailable_reply(message: str) -> EdgeReply:
    """503: nothing was stored or queued; the client retries with the same vote_id."""
    return EdgeReply(503, {"errors": {"non_field_errors": [message]}}, ((b"retry-after", b"1"),))


def overloaded_reply(message: str, retry_after: int = 1) -> EdgeReply:
    """503 with Retry-After: the process's queue is full; nothing was stored or queued."""
    return EdgeReply(
        503, {"errors": {"non_field_errors": [message]}}, ((b"retry-after", str(retry_after).encode()),)
    )


# How each refusal of election.admission.tokens is answered over HTTP (gRPC: ingest_grpc.contract).
REFUSAL_STATUS = {AccessKind.UNAUTHENTICATED: 401, AccessKind.FORBIDDEN: 403, AccessKind.THROTTLED: 429}


def refusal_reply(kind: AccessKind, message: str, retry_after: int | None = None) -> EdgeReply:
    """401 (with WWW-Authenticate), 403 or 429 (with Retry-After): nothing was stored or queued."""
    status = REFUSAL_STATUS[kind]
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if kind is AccessKind.UNAUTHENTICATED:
        headers = ((b"www-authenticate", b'Bearer realm="votes"'),)
    elif retry_after is not None:
        headers = ((b"retry-after", str(retry_after).encode()),)
    field = "non_field_errors" if kind is AccessKind.THROTTLED else "authorization"
    return EdgeReply(status, {"errors": {field: [message]}}, headers)


def edge_app(
    *,
    handle_vote: Handler,
    handle_acta: Handler | None = None,
    route: str = "unknown",
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    ready: ReadyCheck | None = None,
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """`POST /votes` to `handle_vote` and, when given, `POST /actas` to `handle_acta`."""
    resources = {"/votes": votes_resource(handle_vote)}
    if handle_acta is not None:
        resources["/actas"] = actas_resource(handle_acta)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, on_startup, on_shutdown)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/metrics":
            body, content_type = metrics.metrics_payload()
            await _send(send, 200, body, content_type.encode())
            return
        resource = resources.get(scope["path"])
        reply = await _route(scope, receive, resource, ready)
        if resource is not None:
            resource.answered.labels(route, ANSWERS.get(reply.status, str(reply.status))).inc()
        await _send_json(send, reply)

    return app


async def _route(
    scope: Scope, receive: Receive, resource: Resource | None, ready: ReadyCheck | None
) -> EdgeReply:
    path, method = scope["path"], scope["method"]
    if path == "/healthz":
        return EdgeReply(200, {"status": "ok"})
    if path == "/readyz":
        is_ready = ready is None or await ready()
        return EdgeReply(200 if is_ready else 503, {"status": "ok" if is_ready else "unavailable"})
    if resource is None:
        return errors_reply(404, "non_field_errors", f"No such resource: {path[:100]}")
    if method != "POST":
        return EdgeReply(405, {"errors": {"non_field_errors": ["Use POST."]}}, ((b"allow", b"POST"),))
    data = await _read_body(scope, receive, resource)
    if isinstance(data, EdgeReply):
        return data
    try:
        reply = await resource.handle(data, datetime.now(UTC), bearer_token(scope))
    except Overloaded as overloaded:
        reply = overloaded_reply(overloaded.message, overloaded.retry_after)
    except Exception:
        # A bug, not the client's fault: nothing is acknowledged, so a retry is safe.
        logger.exception("%s handler failed", resource.noun)
        reply = unavailable_reply(
            f"Internal error; nothing was stored. Retry with the same {resource.id_field}."
        )
    return id_attach(reply, data, resource)


def id_attach(reply: EdgeReply, data: Any, resource: Resource) -> EdgeReply:
    """The reply with the body's id (vote_id, acta_id) in its body and its header (see above)."""
    value = _id_of(data, resource.id_field)
    if value is None:
        return reply
    payload = {**reply.payload, resource.id_field: value}
    return EdgeReply(reply.status, payload, (*reply.headers, (resource.id_header, value.encode())))


def _id_of(data: Any, id_field: str) -> str | None:
    value = data.get(id_field) if isinstance(data, dict) else None
    if not isinstance(value, str) or len(value) > 45:  # "urn:uuid:" and 36: what uuid.UUID reads
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def bearer_token(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bearer_token_parse(value.decode("latin-1"))
    return None


async def _read_body(scope: Scope, receive: Receive, resource: Resource) -> Any:
    """The parsed JSON body with its id (vote_id, acta_id), or the EdgeReply that refuses it."""
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type != b"application/json":
        return errors_reply(415, "non_field_errors", f"Send the {resource.noun} as application/json.")
    body = bytearray()
    limit = resource.max_body_bytes
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return errors_reply(413, "non_field_errors", f"A {resource.noun} is at most {limit} bytes.")
        if not message.get("more_body"):
            break
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return errors_reply(400, "non_field_errors", "The body is not valid UTF-8.")
    except json.JSONDecodeError as exc:
        return errors_reply(400, "non_field_errors", f"Malformed JSON: {exc.msg} at position {exc.pos}.")
    except RecursionError:  # [[[[...]]]]: a few thousand bytes exhaust the parser's stack
        return errors_reply(400, "non_field_errors", NESTED_TOO_DEEP)
    except ValueError:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        return errors_reply(400, "non_field_errors", "A number in the JSON has too many digits.")
    if isinstance(data, dict) and data.get(resource.id_field) in (None, ""):
        data[resource.id_field] = str(uuid.uuid4())  # assigned at the edge, before anything can fail
    return data


async def _send_json(send: Send, reply: EdgeReply) -> None:
    try:
        body = json.dumps(reply.payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate echoed from the request, e.g. an unknown field's name
        body = json.dumps(reply.payload).encode()  # escaped as \udXXX: still valid JSON in UTF-8
    await _send(send, reply.status, body, b"application/json", reply.headers)


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send, on_startup: Hook | None, on_shutdown: Hook | None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                if on_startup:
                    await on_startup()
                startup_objects_freeze()  # before the first vote (election.lib.gc_freeze)
            except Exception as exc:
                logger.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
