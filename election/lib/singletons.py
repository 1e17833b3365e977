"""How a process's long-lived objects come to life, the one way of the project.

Made at import (a module-level instance), they start nothing: importing a module opens no
socket and runs no thread. Each starts its thread at first use, through `thread_ensure`, and
again in a forked child, which inherits no thread (Celery's prefork pool, gunicorn's workers).
Only what needs the serving event loop (the gateway's gRPC channel) is made at startup instead.
Plain Python, no Django.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def thread_ensure(thread: threading.Thread | None, run: Callable[[], object], name: str) -> threading.Thread:
    """`thread` while it runs in this process; else a new daemon thread of `run`, started.
    The caller holds the lock that guards its `thread` attribute."""
    if thread is not None and thread.is_alive():  # after fork an inherited thread is not alive
        return thread
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
