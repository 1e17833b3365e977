"""Liveness and readiness probes for the Django process."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from election.lib.redis_clients import PROBE_TIMEOUT_SECONDS, redis_connect
from election.observability import metrics


def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers. Checks nothing else, so a database outage never restarts it."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: MySQL and Redis both answer."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure means not ready; say which
        connection.close()
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    try:
        redis_connect(settings.REDIS_URL, timeout=PROBE_TIMEOUT_SECONDS).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of this process family's metrics."""
    body, content_type = metrics.metrics_payload()
    return HttpResponse(body, content_type=content_type)
