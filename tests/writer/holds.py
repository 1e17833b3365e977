"""Holding a group committer's commits open, so that tests can put groups in flight at will.

A commit that is held is what a slow transaction looks like from outside: the group after it
is taken and prepared meanwhile (two groups in flight), and every submission after that waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from election.votes.recording import VotesLookup, lookups_commit, votes_lookup, votes_record
from election.votes.types import RecordResult, ValidatedVote
from election.writer.group_committer import GroupCommitter
from scripts.devservices import wait_until


def record_redis(votes: Sequence[ValidatedVote]) -> list[RecordResult]:
    return votes_record(votes=votes, route="redis")


class HeldFirstCommit:
    """`record` (votes_record by default), with the first call held until `release()`: the
    others queue meanwhile."""

    def __init__(self, record: Callable[[Sequence[Any]], list[Any]] = record_redis) -> None:
        self.record = record
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.calls = 0

    def __call__(self, items: Sequence[Any]) -> list[Any]:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            self.gate.wait(30)
        return self.record(items)

    def release(self) -> None:
        self.gate.set()


class HeldPipeline:
    """The Celery worker's two halves (votes_lookup, then lookups_commit), each group's commit
    held until the test releases it: `commit_entered(i)`, then `release(i)` (commits numbered
    in the order they start). The one-by-one retry's `record` is not held."""

    def __init__(self) -> None:
        self.lookups: list[VotesLookup] = []
        self.commits = 0
        self._entered: dict[int, threading.Event] = {}
        self._gates: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def prepare(self, votes: Sequence[ValidatedVote]) -> VotesLookup:
        lookup = votes_lookup(votes, route="redis")
        with self._lock:
            self.lookups.append(lookup)
        return lookup

    def commit(self, parts: Sequence[VotesLookup]) -> list[RecordResult]:
        with self._lock:
            index, self.commits = self.commits, self.commits + 1
        self._event(self._entered, index).set()
        self._event(self._gates, index).wait(30)
        return lookups_commit(parts, route="redis")

    def record(self, votes: Sequence[ValidatedVote]) -> list[RecordResult]:
        return record_redis(votes)

    def commit_entered(self, index: int) -> None:
        assert self._event(self._entered, index).wait(30), f"commit {index} never started"

    def release(self, index: int) -> None:
        self._event(self._gates, index).set()

    def release_all(self) -> None:
        for index in range(self.commits + 10):
            self.release(index)

    def _event(self, events: dict[int, threading.Event], index: int) -> threading.Event:
        with self._lock:
            return events.setdefault(index, threading.Event())


class Submitter:
    """Blocking submissions from threads of their own, as a Celery worker's task threads."""

    def __init__(self, committer: GroupCommitter[Any, Any]) -> None:
        self.committer = committer
        self.answers: dict[int, list[Any] | BaseException] = {}
        self.threads: list[threading.Thread] = []

    def submit(self, batch: Sequence[Any]) -> int:
        """Submit `batch` from a new thread; the index of its answer."""
        index = len(self.threads)

        def task() -> None:
            try:
                self.answers[index] = self.committer.submit(batch)
            except BaseException as exc:  # the test looks at it
                self.answers[index] = exc

        self.threads.append(threading.Thread(target=task))
        self.threads[-1].start()
        return index

    def join(self) -> list[list[Any] | BaseException]:
        for thread in self.threads:
            thread.join(60)
        return [self.answers.get(i, RuntimeError("no answer")) for i in range(len(self.threads))]


def two_in_flight(committer: GroupCommitter[Any, Any]) -> None:
    """Wait until a second group has been taken while the first commits."""
    wait_until(lambda: committer.in_flight() == 2 and committer.waiting() == 0, 30, "two groups in flight")


def submit_all(
    committer: GroupCommitter[Any, Any], held: HeldFirstCommit, batches: Sequence[Sequence[Any]]
) -> list[list[Any] | BaseException]:
    """The first batch's commit held, the rest submitted meanwhile and waiting; then the hold
    released. One group in flight at a time: [1], [the rest]."""
    submitter = Submitter(committer)
    submitter.submit(batches[0])
    assert held.entered.wait(30)
    for batch in batches[1:]:
        submitter.submit(batch)
    wait_until(lambda: committer.waiting() == len(batches) - 1, 30, "the other tasks waiting")
    held.release()
    return submitter.join()
