"""Structured logs and Prometheus metrics, for every process (the gateway included).

May import: election.lib, prometheus_client. Never Django or Celery: the Django-free edge
logs and counts through the same modules. The Django probes live in election.api.health.
"""
