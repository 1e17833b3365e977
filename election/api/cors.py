"""Cross-origin reads of the API, for the dashboard when it is served from another origin.

The API is public and read-only and takes no credentials, so answering `*` exposes nothing
a plain request would not; API_CORS_ORIGINS can narrow it to the dashboard's origin.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def allowed_origin(origin: str) -> str | None:
    """Access-Control-Allow-Origin for a request from `origin` ("" when it sent none), or None."""
    origins: list[str] = settings.API_CORS_ORIGINS
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def api_cors_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not request.path.startswith("/api/"):
            return response
        allowed = allowed_origin(request.headers.get("Origin", ""))
        if allowed is None:
            return response
        response["Access-Control-Allow-Origin"] = allowed
        if allowed != "*":
            patch_vary_headers(response, ["Origin"])
        response["Access-Control-Expose-Headers"] = "ETag"
        if request.method == "OPTIONS":  # a preflight: a conditional GET sends If-None-Match
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = "If-None-Match, Content-Type"
            response["Access-Control-Max-Age"] = "600"
        return response

    return middleware
