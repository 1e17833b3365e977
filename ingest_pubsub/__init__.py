"""The Redis route: the HTTP publisher, the Celery queue "votes" and its consumers."""
