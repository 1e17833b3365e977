"""The per-sede rate limit both ingest routes apply after a vote is admitted: a token bucket
per sede, in each process. Refusals are Throttled (HTTP 429, gRPC RESOURCE_EXHAUSTED), with the
seconds after which the same vote_id may be sent again."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from election.admission.credentials import AccessKind

SedeKey = tuple[str, str, str]  # (departamento code, municipio code, canonical sede)


class Throttled(Exception):
    """The sede sends faster than its rate; nothing was done, retry with the same vote_id."""

    kind = AccessKind.THROTTLED

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"Too many votes from this sede; retry in {self.retry_after_seconds} s with the same vote_id."

    @property
    def retry_after_seconds(self) -> int:
        return max(1, int(self.retry_after + 0.999))


class SedeRateLimiter:
    """A token bucket per sede, in this process: INGEST_RATE_PER_SEDE votes/s, bursts of
    INGEST_RATE_BURST. Per process: N processes admit up to N times the rate (see SECURITY.md)."""

    MAX_SEDES = 100_000

    def __init__(self) -> None:
        self._buckets: dict[SedeKey, tuple[float, float]] = {}  # sede -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, sede: SedeKey) -> None:
        rate, burst = float(settings.INGEST_RATE_PER_SEDE), float(settings.INGEST_RATE_BURST)
        if rate <= 0:
            return  # off (benchmarks)
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(sede, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[sede] = (tokens, now)
                raise Throttled(retry_after=(1 - tokens) / rate)
            self._buckets[sede] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_SEDES:
                self._prune(now, rate, burst)

    def _prune(self, now: float, rate: float, burst: float) -> None:
        """Forget full buckets (a sede idle long enough): bounded memory, same behaviour."""
        self._buckets = {
            sede: (tokens, at)
            for sede, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * rate < burst
        }

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


sede_limiter = SedeRateLimiter()
