"""Group commit: the items of many callers in one transaction, optionally pipelined.

Callers hand their items to `GroupCommitter.submit` (a Celery task's thread, which blocks)
or `submit_async` (a coroutine of the gRPC server, which awaits). The committer's threads own
the database work, each on its own connection; a caller is answered only after the COMMIT
that stored its items. There is no timer: a lone submission is committed at once, and a busy
process forms large groups by itself, since what arrives during a commit goes in the next.

- Serial (one group in flight): one thread takes every submission waiting (whole, up to
  `max_items`), admits them, looks up their vote_ids (`prepare`), commits (`commit`), answers,
  and takes the next group.
- Pipelined (`pipelined=True`, two groups in flight): while the committing thread commits
  group N, the preparing thread forms group N+1, admitting and looking up each submission as
  it arrives (a part), and hands it over the moment the commit ends. A vote_id in both groups
  is looked up as new by both; the second COMMIT fails on the unique key, so that group is
  looked up again and reports it a duplicate (election.votes.recording.lookups_commit).
  Which mode wins depends on where a process's time goes (docs/performance.md).

Admission: a committer may be given an `admit` step (the gRPC server's: token, validity, sede,
rate), run once per submission before its first commit. The items it returns are what
`record` stores, and what a retry stores again: admission, and the rate tokens it charges,
happen once however many times the items are committed.

Failures: StorageUnavailable from the database fails every submission of the group (each
caller retries or answers UNAVAILABLE). Any other failure of a group of several submissions,
in either half, is taken for one bad submission: each is then recorded alone (already
admitted), so only the bad one fails. The latest-votes list and the announcement follow each
commit, from a thread of their own (election.writer.live_feed.LiveFeed).

Bounds: at most `max_pending` items wait for `submit_async`; past that it raises Overloaded at
once (the gRPC server answers RESOURCE_EXHAUSTED with retry-after), so a flood, or a database
that has slowed down, cannot grow the process until it is killed. The blocking `submit` is not
refused: its callers are the Celery worker's task threads, each holding one message; their
number bounds what waits, and a task must not fail for a full queue.

After a commit whose callers include coroutines, the next group is taken only once each of
their event loops has run a few iterations (election.writer.submissions): the calls already
read by the process join it rather than the one after. Not a timer: an idle loop runs those
iterations in about a tenth of a millisecond.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, NoReturn, TypeVar

from django import db

from election.ingest.async_batcher import DEFAULT_MAX_PENDING, Overloaded
from election.lib.singletons import thread_ensure
from election.observability import metrics
from election.votes.types import StorageUnavailable
from election.writer import submissions
from election.writer.db_session import database_session
from election.writer.live_feed import LiveFeed
from election.writer.submissions import Submission, loops_wake

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Group(Generic[T, R]):
    """Submissions taken together: those admitted, the parts prepared from them (each a
    `prepare` of the submissions taken at once), and an error that made preparing fail."""

    submissions: list[Submission[T, R]]
    admitted: list[Submission[T, R]] = field(default_factory=list)
    parts: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def items(self) -> int:
        return sum(len(submission.items) for submission in self.submissions)


def _raise(exc: BaseException) -> NoReturn:
    raise exc


class GroupCommitter(Generic[T, R]):
    """Commits submissions in groups. `record` stores items durably and returns one result per
    item, in order (as votes_record and ingest_grpc.recording.ballots_record).

    `prepare` and `commit`, given together, are `record` in two halves: `prepare(items)` does
    the first (the lookup) on the preparing thread's connection and returns a part;
    `commit(parts)` stores a group's parts in one transaction on the committing thread's.
    Without them, the whole of `record` runs in the committing thread; `record` alone also
    stores a submission again by itself after its group failed. `pipelined` keeps two groups in
    flight, one forming while the other commits (module docstring). `admit`, when given, turns a
    submission's items into what `record` takes, one for one and once (see the module
    docstring). At most `max_pending` items wait for `submit_async`. The stored votes go to
    `live`, a feed the caller shares with its other writers and closes itself, or else to a
    feed of the committer's own, published and closed by `stop`.
    """

    def __init__(
        self,
        record: Callable[[Sequence[T]], list[R]],
        *,
        route: str,
        max_items: int = 2000,
        max_pending: int = DEFAULT_MAX_PENDING,
        admit: Callable[[Sequence[T]], Sequence[T]] | None = None,
        prepare: Callable[[Sequence[T]], Any] | None = None,
        commit: Callable[[Sequence[Any]], list[R]] | None = None,
        pipelined: bool = False,
        live: LiveFeed | None = None,
    ) -> None:
        if (prepare is None) != (commit is None):
            raise ValueError("prepare and commit go together")
        self._record = record
        self._prepare = prepare
        self._commit_parts = commit
        self._pipelined = pipelined
        self._admit = admit
        self._route = route
        self._owns_live = live is None
        self._live = LiveFeed(route) if live is None else live
        self._max_items = max_items
        self._max_pending = max_pending
        self._in_flight_gauge = metrics.COMMIT_GROUPS_IN_FLIGHT.labels(route)
        # Guarded by _state: what waits, the group handed over, and the threads' lives.
        self._state = threading.Condition()
        self._pending: list[Submission[T, R]] = []
        self._pending_items = 0
        self._ready: _Group[T, R] | None = None  # handed over, for the committing thread to take
        self._committer_free = False  # the committing thread waits for a group
        self._in_flight = 0  # groups taken and not yet answered (at most two)
        self._stopping = False
        self._preparing_done = False
        self._preparing: threading.Thread | None = None
        self._committing: threading.Thread | None = None
        self._iterated: list[threading.Event] = []  # the last answered group's loops (see loops_wake)
        self._answered = 0  # groups answered so far
        self.group_sizes: list[int] = []  # submissions per recent transaction, for tests and logs

    def submit(self, items: Sequence[T]) -> list[R]:
        """Record `items` (one result each, in order) once they are committed; raises as `record`."""
        if not items:
            return []
        submission: Submission[T, R] = Submission(items, done=threading.Event())
        self._enqueue(submission)
        submission.done.wait()  # type: ignore[union-attr]
        if submission.error is not None:
            raise submission.error
        assert submission.results is not None
        return submission.results

    async def submit_async(self, items: Sequence[T]) -> list[R]:
        """As `submit`, for a coroutine: the event loop goes on while the items are committed.
        A caller cancelled meanwhile (its deadline passed) leaves its items in the group.

        Raises Overloaded at once, nothing taken, when `max_pending` items would be waiting
        (a submission larger than that is still taken when nothing waits).
        """
        if not items:
            return []
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self._enqueue(Submission(items, future), bounded=True)
        return await future

    def waiting(self) -> int:
        """Submissions not yet taken into a group."""
        with self._state:
            return len(self._pending)

    def waiting_items(self) -> int:
        """Items not yet taken into a group (what `max_pending` bounds)."""
        with self._state:
            return self._pending_items

    def in_flight(self) -> int:
        """Groups taken and not yet answered: 0, 1 (one forming or committing) or 2."""
        with self._state:
            return self._in_flight

    def stop(self) -> None:
        """Prepare and commit what is pending, then end both threads and publish what they stored."""
        with self._state:
            self._stopping = True
            self._state.notify_all()
        for loop_iterated in self._iterated:  # a loop that has stopped will not iterate again
            loop_iterated.set()
        for thread in (self._preparing, self._committing):
            if thread is not None:
                thread.join()
        self._preparing = self._committing = None
        self._stopping = self._preparing_done = False
        if self._owns_live:
            self._live.close()
            self._live = LiveFeed(self._route)

    def _enqueue(self, submission: Submission[T, R], *, bounded: bool = False) -> None:
        with self._state:
            waiting = self._pending_items
            if bounded and waiting and waiting + len(submission.items) > self._max_pending:
                raise Overloaded(f"{waiting} waiting for the database in this server")
            self._pending.append(submission)
            self._pending_items += len(submission.items)
            route = self._route
            if self._pipelined:
                self._committing = thread_ensure(self._committing, self._commit_loop, f"group-commit-{route}")
            self._preparing = thread_ensure(self._preparing, self._prepare_loop, f"group-prepare-{route}")
            self._state.notify_all()

    # --- the preparing thread ------------------------------------------------------------

    def _prepare_loop(self) -> None:
        try:
            while (group := self._next_group()) is not None:
                self._grow(group, group.submissions)
                if not self._pipelined:
                    self._sizes_note(group)
                    self._finish(group)
                    continue
                while (more := self._more_or_hand_over(group)) is not None:
                    group.submissions += more
                    self._grow(group, more)
        finally:
            db.connection.close()
            with self._state:
                self._preparing_done = True
                self._state.notify_all()

    def _next_group(self) -> _Group[T, R] | None:
        """The next group, once something waits; None once stopping with nothing left.

        Whenever a group has been answered since the last look, its callers' event loops
        iterate first (submissions.ITERATIONS_BEFORE_NEXT_GROUP): the calls they already hold
        join this group instead of the first of them going alone. Serial, this thread has
        answered the group before itself, so one group is in flight at a time.
        """
        answered = None
        while True:
            with self._state:
                while not self._pending and not self._stopping and self._answered == answered:
                    self._state.wait()
                if self._answered == answered:
                    if not self._pending:
                        return None
                    self._in_flight += 1
                    self._in_flight_gauge.inc()
                    return _Group(self._take(self._max_items))
                answered, iterated = self._answered, self._iterated
            for loop_iterated in iterated:
                loop_iterated.wait(submissions.ITERATIONS_WAIT_MAX_SECONDS)

    def _more_or_hand_over(self, group: _Group[T, R]) -> list[Submission[T, R]] | None:
        """While the committing thread is busy, the submissions that arrive, to join the group
        part by part (each admitted and looked up at once) as room allows; once it is free,
        None: the group is handed over, and only its last part's work was left to wait for."""
        with self._state:
            while not self._committer_free:
                if more := self._take(self._max_items - group.items, whole=True):
                    return more
                self._state.wait()
            self._ready, self._committer_free = group, False
            self._state.notify_all()
            return None

    def _take(self, room: int, *, whole: bool = False) -> list[Submission[T, R]]:
        """The oldest submissions, whole, up to `room` items: at least one unless `whole`
        (a group that grows takes none that would not fit)."""
        taken, items = 0, 0
        for submission in self._pending:
            if (taken or whole) and items + len(submission.items) > room:
                break
            taken += 1
            items += len(submission.items)
        group = self._pending[:taken]
        del self._pending[:taken]
        self._pending_items -= items
        return group

    def _grow(self, group: _Group[T, R], submissions: list[Submission[T, R]]) -> None:
        """Admit `submissions` and prepare them as a part of `group`. A failure is kept and
        raised again by the group's commit, which handles it as a failed commit."""
        try:
            with database_session():
                admitted = self._admitted(submissions)
                group.admitted += admitted
                if admitted:
                    items = [item for submission in admitted for item in submission.items]
                    group.parts.append(items if self._prepare is None else self._prepare(items))
        except BaseException as exc:  # never leave a caller waiting forever
            group.error = group.error or exc

    def _admitted(self, group: list[Submission[T, R]]) -> list[Submission[T, R]]:
        """The group's submissions, each admitted (once: a retry finds it done); those whose
        admission failed are answered with its error and left out."""
        if self._admit is None:
            return group
        admitted: list[Submission[T, R]] = []
        unavailable: StorageUnavailable | None = None
        for submission in group:
            if not submission.admitted:
                if unavailable is not None:  # the store is unreachable: no one waits for it again
                    submission.finish(error=unavailable)
                    continue
                try:
                    submission.items = self._admit(submission.items)
                except StorageUnavailable as exc:
                    unavailable = exc
                    submission.finish(error=exc)
                    continue
                except Exception as exc:
                    logger.exception("admission failed")
                    submission.finish(error=exc)
                    continue
                submission.admitted = True
            admitted.append(submission)
        return admitted

    # --- the committing thread -----------------------------------------------------------

    def _commit_loop(self) -> None:
        try:
            while True:
                with self._state:
                    self._committer_free = True
                    self._state.notify_all()
                    while self._ready is None and not self._preparing_done:
                        self._state.wait()
                    self._committer_free = False
                    if self._ready is None:
                        return
                    group, self._ready = self._ready, None
                self._sizes_note(group)
                self._finish(group)
        finally:
            db.connection.close()

    def _finish(self, group: _Group[T, R]) -> None:
        """Commit a group and answer its callers, whatever happens."""
        try:
            self._commit_group(group)
        except BaseException as exc:  # never leave a caller waiting forever
            for submission in group.submissions:
                if not submission.finished:
                    submission.finish(error=exc)
            logger.exception("group commit thread failed")
        finally:
            iterated = loops_wake(group.submissions)
            with self._state:
                self._iterated = iterated
                self._answered += 1
                self._in_flight -= 1
                self._in_flight_gauge.dec()
                self._state.notify_all()

    def _sizes_note(self, group: _Group[T, R]) -> None:
        self.group_sizes = [*self.group_sizes[-99:], len(group.submissions)]

    def _commit_group(self, group: _Group[T, R]) -> None:
        if group.error is not None:
            self._commit(group.admitted, partial(_raise, group.error))
        elif group.parts:
            parts = group.parts
            if self._commit_parts is not None:
                self._commit(group.admitted, partial(self._commit_parts, parts))
            else:
                self._commit(group.admitted, partial(self._record, [item for part in parts for item in part]))

    def _commit(self, group: list[Submission[T, R]], commit: Callable[[], list[R]]) -> None:
        """Run a group's commit and answer each submission; on failure, as the module says."""
        try:
            with database_session():
                results = commit()
        except StorageUnavailable as exc:
            if len(group) > 1 and _database_answers():
                self._record_each(group)  # the database is fine: one submission made the group fail
                return
            for submission in group:
                submission.finish(error=exc)
            return
        except Exception as exc:
            if len(group) == 1:
                group[0].finish(error=exc)
                return
            logger.warning("group commit failed; recording its submissions one by one", exc_info=True)
            self._record_each(group)
            return
        start = 0
        for submission in group:
            submission.finish(results=results[start : start + len(submission.items)])
            start += len(submission.items)
        self._live.publish(results)  # from its own thread: the next group does not wait on Redis

    def _record_each(self, group: list[Submission[T, R]]) -> None:
        """Each submission in a transaction of its own, both halves here (already admitted)."""
        for submission in group:
            self.group_sizes = [*self.group_sizes[-99:], 1]
            self._commit([submission], partial(self._record, submission.items))


def _database_answers() -> bool:
    try:
        db.connection.ensure_connection()
        with db.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except db.Error:
        db.connection.close()
        return False
