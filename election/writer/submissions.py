"""Submissions to a group committer, and waking the event loops of those who await them.

A submission carries a caller's items to the committer's threads and its outcome back: to a
blocked thread through an Event, to a coroutine through its future, settled in its own event
loop. Kept apart from election.writer.group_committer, which decides when groups form.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class Submission(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[list[R]] | None = None  # an awaiting caller's
    admitted: bool = False  # items are admit's output: a retry commits them as they are
    done: threading.Event | None = None  # a blocked thread's
    results: list[R] | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.results is not None or self.error is not None

    def finish(self, results: list[R] | None = None, error: BaseException | None = None) -> None:
        """Record the outcome and wake a blocked thread; awaiting callers are woken per group
        (`_wake`)."""
        self.results, self.error = results, error
        if self.done is not None:
            self.done.set()

    def settle(self) -> None:
        """In the caller's event loop: hand the outcome to its future."""
        assert self.future is not None
        if self.future.done():  # the caller gave up (deadline): its items were committed all the same
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.results)  # type: ignore[arg-type]


# Loop iterations each caller's event loop runs between a commit's answers and the next group
# being taken.
# gRPC bench, 64 callers, 10 interleaved rounds: 0 -> 25 took the server from 0.60 to 0.66 of
# the no-database ceiling, higher in every round (12 gave 0.65).
ITERATIONS_BEFORE_NEXT_GROUP = 25
# A loop busy elsewhere must not hold up the commits of other callers for longer than this.
ITERATIONS_WAIT_MAX_SECONDS = 0.01


def loops_wake(group: list[Submission[T, R]]) -> list[threading.Event]:
    """One wake-up per event loop for a whole group, not one per caller: each crossing from
    this thread to a loop costs both threads the interpreter lock. Returns, per loop, an event
    set once it has run ITERATIONS_BEFORE_NEXT_GROUP iterations after answering."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Submission[T, R]]] = {}
    for submission in group:
        if submission.future is not None:
            by_loop.setdefault(submission.future.get_loop(), []).append(submission)
    iterated: list[threading.Event] = []
    for loop, submissions in by_loop.items():
        iterated.append(threading.Event())
        loop.call_soon_threadsafe(_settle_all, loop, submissions, iterated[-1])
    return iterated


def _settle_all(
    loop: asyncio.AbstractEventLoop, submissions: list[Submission[T, R]], iterated: threading.Event
) -> None:
    for submission in submissions:
        submission.settle()
    _iterate(loop, iterated, ITERATIONS_BEFORE_NEXT_GROUP)


def _iterate(loop: asyncio.AbstractEventLoop, iterated: threading.Event, left: int) -> None:
    """Set `iterated` after `left` more loop iterations (each call_soon runs in the next one)."""
    if left:
        loop.call_soon(_iterate, loop, iterated, left - 1)
    else:
        iterated.set()
