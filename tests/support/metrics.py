"""Reading one sample from a part's Prometheus /metrics, as a scraper would."""

from __future__ import annotations

import http.client


def metric(port: int, name: str) -> float:
    """The first sample of `name` on 127.0.0.1:`port`/metrics (0 when absent). `name` may carry
    labels, as written in the exposition: 'escrutinio_commit_groups_in_flight{committer="grpc"}'."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    for line in text.splitlines():
        if line.startswith(name + " ") or (line.startswith(name + "{") and "{" not in name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
