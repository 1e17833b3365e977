"""A half-second cache of the API's public answers, in front of Django (WSGI).

Hand-written to answer before Django: 775 -> 1,160 requests/s (docs/performance.md#how-it-got-there).

While votes arrive, every results answer changes with each commit, yet a dashboard needs it
only within 2 s, and hundreds of dashboards ask the same few URLs. So each process keeps the
whole response of a public GET under `/api/` (status, headers, body) for RESULTS_MAX_AGE_MS
and answers repeats from memory, before Django's middleware and DRF run: what nginx calls
micro-caching. A repeat costs a dictionary lookup instead of a request through Django.

Only 200 JSON answers that carry an ETag (the results, the vote list, the latest votes, the
catalogue) and set no cookie are kept: never the browsable API's HTML, which holds the
requester's CSRF token. A request carrying If-None-Match that matches the kept ETag gets 304.

The key holds only what changes the answer, so that varying anything else cannot fill memory:
the path; the query parameters its view reads (PublicReadView.query_parameters), sorted, any
other dropped; Host, scheme and script name (the vote list's links); the CORS origin the
answer allows. Only an Accept of plain JSON (none, `*/*`, `application/json`) is answered
here; any other (the browsable page, `; indent=4`) goes to Django every time.

Bounded by bytes (API_MICROCACHE_MAX_BYTES, per process): the oldest answers, expired ones
first, are dropped as new ones come; an answer over API_MICROCACHE_MAX_BODY_BYTES is never kept.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve

from election.api.etags import etag_matches

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Key = tuple[Any, ...]

PREFIX = "/api/"
# Headers of a kept 200 that a 304 must not repeat (RFC 9110 15.4.5).
NOT_FOR_304 = {"content-type", "content-length"}
# Accept values that all get the same JSON answer (DRF's JSON renderer, `application/json`).
PLAIN_JSON = frozenset({"", "*/*", "application/json"})
# What an entry costs beyond its key, headers and body: the objects and the dictionary slot.
ENTRY_OVERHEAD = 600


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    expires_at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    size: int  # bytes it holds, counted against the bound


class Microcache:
    """Wraps a WSGI application; see the module docstring."""

    def __init__(
        self,
        app: WSGIApp,
        max_age_ms: int | None = None,
        *,
        max_bytes: int | None = None,
        max_body_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._max_age_ms = max_age_ms
        self._max_bytes = max_bytes
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._answers: OrderedDict[Key, KeptAnswer] = OrderedDict()  # oldest first
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def max_age(self) -> float:
        max_age_ms = settings.RESULTS_MAX_AGE_MS if self._max_age_ms is None else self._max_age_ms
        return max_age_ms / 1000

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is not None:
            return self._max_bytes
        return int(settings.API_MICROCACHE_MAX_BYTES)

    @property
    def max_body_bytes(self) -> int:
        if self._max_body_bytes is not None:
            return self._max_body_bytes
        return int(settings.API_MICROCACHE_MAX_BODY_BYTES)

    @property
    def bytes_kept(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._answers)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key = _key(environ) if self._cacheable_request(environ) else None
        if key is None:
            return self._app(environ, start_response)
        kept = self._answers.get(key)
        if kept is not None and kept.expires_at > self._clock():
            return _replay(kept, environ, start_response)
        return self._fill(key, environ, start_response)

    def _cacheable_request(self, environ: dict[str, Any]) -> bool:
        return (
            environ.get("REQUEST_METHOD") == "GET"
            and environ.get("PATH_INFO", "").startswith(PREFIX)
            and "HTTP_AUTHORIZATION" not in environ
            and self.max_age > 0
        )

    def _fill(self, key: Key, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        expires_at = self._clock() + self.max_age  # from the request: never older than max age
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self._app(environ, capture)
        headers = captured.get("headers", [])
        if not _keepable(captured.get("status", ""), headers, self.max_body_bytes):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if len(body) <= self.max_body_bytes:  # a body without Content-Length is measured here
            etag = next(value for name, value in headers if name.lower() == "etag")
            size = len(body) + sum(len(n) + len(v) for n, v in headers) + _key_size(key) + ENTRY_OVERHEAD
            self._keep(key, KeptAnswer(expires_at, captured["status"], headers, body, etag, size))
        return [body]

    def _keep(self, key: Key, answer: KeptAnswer) -> None:
        with self._lock:
            replaced = self._answers.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced.size
            now, room = self._clock(), self.max_bytes - answer.size
            # Oldest first, which is about expiry order: the expired ones, then as many as it takes.
            while self._answers:
                oldest_key, oldest = next(iter(self._answers.items()))
                if oldest.expires_at > now and self._bytes <= room:
                    break
                del self._answers[oldest_key]
                self._bytes -= oldest.size
            if room >= 0:
                self._answers[key] = answer
                self._bytes += answer.size


def _key(environ: dict[str, Any]) -> Key | None:
    """What the answer depends on (see the module docstring), or None: ask Django each time."""
    if environ.get("HTTP_ACCEPT", "").strip() not in PLAIN_JSON:
        return None
    path = environ["PATH_INFO"]
    parameters = _parameters(path, environ.get("QUERY_STRING", ""))
    if parameters is None:
        return None
    return (
        path,
        parameters,
        environ.get("SCRIPT_NAME", ""),
        environ.get("HTTP_HOST", ""),
        _scheme(environ),
        _cors_allowed_origin(environ.get("HTTP_ORIGIN", "")),
    )


def _cors_allowed_origin(origin: str) -> str | None:
    """The Access-Control-Allow-Origin django-cors-headers answers `origin` with, or None."""
    if not origin:
        return None
    if cors.CORS_ALLOW_ALL_ORIGINS:
        return "*"
    try:
        allowed = _CORS.origin_found_in_white_lists(origin, urlsplit(origin))
    except ValueError:  # not a URL: the middleware allows it nothing either
        return None
    return origin if allowed else None


def _no_response(request: HttpRequest) -> HttpResponse:
    raise AssertionError("only the middleware's origin check is used")


_CORS = CorsMiddleware(_no_response)  # its origin check, so the key holds what the answer allows


# Memoized: a repeat's key took 32 us parsed afresh, 1.8 us from here (measured). The dashboards'
# few URLs stay in it; it holds at most 256 query strings, a request line (4 KiB) at most each.
@functools.lru_cache(maxsize=256)
def _parameters(path: str, query_string: str) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The parameters of `query_string` the view at `path` reads, sorted, each with its values
    in order; None: not an answer kept here."""
    reads = _query_parameters(path)
    if reads is None:
        return None
    try:  # as Django reads it (WSGIRequest.GET): the same values, whatever the spelling
        query = QueryDict(query_string.encode("iso-8859-1"))
    except TooManyFieldsSent:
        return None
    return tuple((name, tuple(query.getlist(name))) for name in sorted(reads) if name in query)


@functools.lru_cache(maxsize=64)
def _query_parameters(path: str) -> frozenset[str] | None:
    """The query parameters the view at `path` reads, or None: not a view whose answers are kept."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    reads = getattr(getattr(match.func, "view_class", None), "query_parameters", None)
    return reads() if callable(reads) else None


def _scheme(environ: dict[str, Any]) -> str:
    """http or https, as Django's request.scheme decides it (SECURE_PROXY_SSL_HEADER first)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure_value else "http"
    return str(environ.get("wsgi.url_scheme", "http"))


def _key_size(key: Key) -> int:
    path, parameters, *rest = key
    values = sum(len(name) + sum(len(value) for value in values) for name, values in parameters)
    return len(path) + values + sum(len(part or "") for part in rest)


def _keepable(status: str, headers: list[tuple[str, str]], max_body_bytes: int) -> bool:
    # JSON only: the browsable API's HTML carries the requester's CSRF token, never to be shared.
    found = {name.lower(): value for name, value in headers}
    length = found.get("content-length", "")
    return (
        status.startswith("200")
        and "etag" in found
        and "set-cookie" not in found
        and found.get("content-type", "").startswith("application/json")
        and not (length.isdigit() and int(length) > max_body_bytes)  # not even read into memory
    )


def _replay(kept: KeptAnswer, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), kept.etag):
        start_response("304 Not Modified", [(n, v) for n, v in kept.headers if n.lower() not in NOT_FOR_304])
        return []
    start_response(kept.status, kept.headers)
    return [kept.body]
