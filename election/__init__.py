# The Celery app is loaded with Django, so `@app.task` and `apply_async` find their config.
from election.celery import app as celery_app

__all__ = ("celery_app",)
