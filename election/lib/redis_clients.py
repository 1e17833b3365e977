"""Redis clients, made one way: every command and connect has a timeout, so a Redis that does
not answer costs its caller a bounded wait, never a hung thread.

Which Redis is the caller's to say, by URL, and it says it at the call: REDIS_URL (the
latest-votes list, the dead letters, the Django process's readiness) or CELERY_BROKER_URL (the
vote queue: the publisher's checks, the queue-depth gauge). Plain Python, no Django.
"""

from __future__ import annotations

import threading

import redis

TIMEOUT_SECONDS = 2.0  # a command or a connect, for work that must get done (the list, a check at start)
PROBE_TIMEOUT_SECONDS = 1.0  # for probes and gauges: a slow answer is as good as none

_shared: dict[str, redis.Redis] = {}
_shared_lock = threading.Lock()


def redis_connect(url: str, *, timeout: float = TIMEOUT_SECONDS) -> redis.Redis:
    """A new client, with a connection pool of its own, for the Redis at `url`."""
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def redis_shared(url: str) -> redis.Redis:
    """The process's one client for `url`, shared by its threads (redis-py's pool is thread-safe
    and starts afresh in a forked child)."""
    with _shared_lock:
        if url not in _shared:
            _shared[url] = redis_connect(url)
        return _shared[url]
