"""A half-second cache of the API's public answers, in front of Django (WSGI).

While votes arrive, every results answer changes with each commit, yet a dashboard needs it
only within 2 s, and hundreds of dashboards ask the same few URLs. So each process keeps the
whole response of a public GET under `/api/` (status, headers, body) for RESULTS_MAX_AGE_MS
and answers repeats from memory, before Django's middleware and DRF run: what nginx calls
micro-caching. A repeat costs a dictionary lookup instead of a request through Django.

Only 200 JSON answers that carry an ETag (the results, the vote list, the latest votes, the
catalogue) and set no cookie are kept: never the browsable API's HTML, which holds the
requester's CSRF token. The key holds every request header those answers
depend on: Accept (JSON or the browsable page), Origin (CORS), Host and scheme (the vote
list's links). A request carrying If-None-Match that matches the kept ETag gets 304.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from election.api.etags import etag_matches

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

PREFIX = "/api/"
# Headers of a kept 200 that a 304 must not repeat (RFC 9110 15.4.5).
NOT_FOR_304 = {"content-type", "content-length"}
KEY_HEADERS = ("HTTP_ACCEPT", "HTTP_ORIGIN", "HTTP_HOST", "HTTP_X_FORWARDED_PROTO", "wsgi.url_scheme")


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    expires_at: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str


class Microcache:
    """Wraps a WSGI application; see the module docstring. Bounded: emptied at MAX_ENTRIES."""

    MAX_ENTRIES = 4096

    def __init__(self, app: WSGIApp, max_age_ms: int | None = None) -> None:
        self._app = app
        self._max_age_ms = max_age_ms
        self._answers: dict[tuple[str, ...], KeptAnswer] = {}
        self._lock = threading.Lock()

    @property
    def max_age(self) -> float:
        max_age_ms = settings.RESULTS_MAX_AGE_MS if self._max_age_ms is None else self._max_age_ms
        return max_age_ms / 1000

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._cacheable_request(environ):
            return self._app(environ, start_response)
        key = _key(environ)
        kept = self._answers.get(key)
        if kept is not None and kept.expires_at > time.monotonic():
            return _replay(kept, environ, start_response)
        return self._fill(key, environ, start_response)

    def _cacheable_request(self, environ: dict[str, Any]) -> bool:
        return (
            environ.get("REQUEST_METHOD") == "GET"
            and environ.get("PATH_INFO", "").startswith(PREFIX)
            and "HTTP_AUTHORIZATION" not in environ
            and self.max_age > 0
        )

    def _fill(
        self, key: tuple[str, ...], environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        expires_at = time.monotonic() + self.max_age  # from the request: never older than max age
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self._app(environ, capture)
        if not _keepable(captured.get("status", ""), captured.get("headers", [])):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = captured["headers"]
        etag = next(value for name, value in headers if name.lower() == "etag")
        self._keep(key, KeptAnswer(expires_at, captured["status"], headers, body, etag))
        return [body]

    def _keep(self, key: tuple[str, ...], answer: KeptAnswer) -> None:
        with self._lock:
            if len(self._answers) >= self.MAX_ENTRIES:
                self._answers = {}
            self._answers[key] = answer


def _key(environ: dict[str, Any]) -> tuple[str, ...]:
    return (
        environ["PATH_INFO"],
        environ.get("QUERY_STRING", ""),
        *(str(environ.get(h, "")) for h in KEY_HEADERS),
    )


def _keepable(status: str, headers: list[tuple[str, str]]) -> bool:
    # JSON only: the browsable API's HTML carries the requester's CSRF token, never to be shared.
    found = {name.lower(): value for name, value in headers}
    return (
        status.startswith("200")
        and "etag" in found
        and "set-cookie" not in found
        and found.get("content-type", "").startswith("application/json")
    )


def _replay(kept: KeptAnswer, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if etag_matches(environ.get("HTTP_IF_NONE_MATCH", ""), kept.etag):
        start_response("304 Not Modified", [(n, v) for n, v in kept.headers if n.lower() not in NOT_FOR_304])
        return []
    start_response(kept.status, kept.headers)
    return [kept.body]
