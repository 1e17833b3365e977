"""One consistent read of the database, shared by every reader that must agree with the others:
the snapshot writer's files, the open data, the bulk area views.

The project's MariaDB sessions run READ COMMITTED (settings.py: no gap locks between the routes'
writers), where each statement sees the latest commit. `consistent_read()` opens one read-only
REPEATABLE READ transaction instead: InnoDB takes its snapshot at the first read and locks
nothing, so writers never wait for it. Inside a caller's transaction, that one decides (its
isolation cannot change once begun). On SQLite (`make run`) no transaction is opened: its
transactions here are IMMEDIATE and would hold the ingest writers back for a whole snapshot.

Within one consistent read the same answer cannot change, so a costly read needed by several
views (the vote table grouped by sede, for every papeleta at once) is made once: `read_once`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection, transaction

T = TypeVar("T")

_memo: ContextVar[dict[str, Any] | None] = ContextVar("consistent_read_memo", default=None)


@contextmanager
def consistent_read() -> Iterator[None]:
    token = _memo.set({} if _memo.get() is None else _memo.get())
    try:
        if connection.vendor != "mysql" or connection.in_atomic_block:
            yield
            return
        with transaction.atomic():
            with connection.cursor() as cursor:  # applies to the transaction the next statement starts
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    finally:
        _memo.reset(token)


def read_once(key: str, compute: Callable[[], T]) -> T:
    """`compute()` once per consistent read (every call when outside one)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]
