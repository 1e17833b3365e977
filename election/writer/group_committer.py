"""Group commit, pipelined: the items of many callers in one transaction, while the next
group is made ready on a second connection.

Callers hand their items to `GroupCommitter.submit` (a Celery task's thread, which blocks)
or `submit_async` (a coroutine of the gRPC server, which awaits). Two threads per committer
own the database work, each on its own connection:
- the preparing thread takes every submission waiting (whole, up to `max_items`), admits
  them and runs `prepare`, the first half of `record` (the lookup of their vote_ids and the
  statements that store them), then hands the group over and waits until it is taken;
- the committing thread runs the second half (the writes and the COMMIT, with its fsync),
  answers the group's callers, and takes the next group at once.
So while group N commits, group N+1 is admitted and looked up, and the cores that waited
on MariaDB's commit do that work meanwhile. At most two groups are in flight. There is no
timer: a lone submission goes through both halves at once, and a busy process forms large
groups by itself.

What does not change with the pipeline: a caller is answered only after the COMMIT that
stored its items; a vote_id in both groups in flight is looked up as new by both, and the
second COMMIT fails on the unique key, so that group is looked up again and reports it as a
duplicate (election.votes.recording.plan_commit).

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
refused: its callers are the Celery worker's task threads, as many as the worker has, each
holding one message; their number bounds what waits, and a task must not fail for a full
queue (its message would be retried or parked for no fault of its own).

After a commit whose callers include coroutines, the preparing thread lets each of their
event loops run a few iterations before it takes the next group: the answered callers' calls
go out, and the calls that have already reached the process (read, but with their handler not
yet at `submit_async`) join the next group rather than the one after it. This is not a timer:
an idle loop runs those iterations in about a tenth of a millisecond.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, NoReturn, TypeVar

from django import db

from election.ingest.async_batcher import DEFAULT_MAX_PENDING, Overloaded
from election.lib.singletons import thread_ensure
from election.observability import metrics
from election.votes.types import StorageUnavailable
from election.writer.db_session import database_session
from election.writer.live_feed import LiveFeed

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# The second half of a group's recording, returned by its first (`prepare`).
Commit = Callable[[], list[R]]


@dataclass(eq=False)
class _Submission(Generic[T, R]):
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


def _wake(group: list[_Submission[T, R]]) -> list[threading.Event]:
    """One wake-up per event loop for a whole group, not one per caller: each crossing from
    this thread to a loop costs both threads the interpreter lock. Returns, per loop, an event
    set once it has run ITERATIONS_BEFORE_NEXT_GROUP iterations after answering."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Submission[T, R]]] = {}
    for submission in group:
        if submission.future is not None:
            by_loop.setdefault(submission.future.get_loop(), []).append(submission)
    iterated: list[threading.Event] = []
    for loop, submissions in by_loop.items():
        iterated.append(threading.Event())
        loop.call_soon_threadsafe(_settle_all, loop, submissions, iterated[-1])
    return iterated


def _settle_all(
    loop: asyncio.AbstractEventLoop, submissions: list[_Submission[T, R]], iterated: threading.Event
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


@dataclass(eq=False)
class _Group(Generic[T, R]):
    """Submissions taken together, and the commit their preparation returned."""

    submissions: list[_Submission[T, R]]
    commit: Commit[R] | None = None  # None: nothing of the group left to store
    admitted: list[_Submission[T, R]] = field(default_factory=list)


def _unprepared(record: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> Commit[R]:
    """Without a `prepare`: nothing done ahead, the whole of `record` is the commit."""
    return partial(record, items)


def _raise(exc: BaseException) -> NoReturn:
    raise exc


class GroupCommitter(Generic[T, R]):
    """Commits submissions in groups through `record`, which stores items durably and returns
    one result per item, in order (as votes_record and ingest_grpc.recording.ballots_record).

    `prepare`, when given, is `record` in two halves: it does the first (the lookup) and
    returns the second (the commit), which runs while the next group is prepared. Without it
    the whole of `record` runs in the committing thread. `admit`, when given, turns a
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
        prepare: Callable[[Sequence[T]], Commit[R]] | None = None,
        live: LiveFeed | None = None,
    ) -> None:
        self._record = record
        self._prepare = prepare if prepare is not None else partial(_unprepared, record)
        self._admit = admit
        self._route = route
        self._owns_live = live is None
        self._live = LiveFeed(route) if live is None else live
        self._max_items = max_items
        self._max_pending = max_pending
        self._in_flight_gauge = metrics.COMMIT_GROUPS_IN_FLIGHT.labels(route)
        # Guarded by _state: what waits, the group handed over, and the threads' lives.
        self._state = threading.Condition()
        self._pending: list[_Submission[T, R]] = []
        self._pending_items = 0
        self._ready: _Group[T, R] | None = None  # prepared, waiting for the committing thread
        self._in_flight = 0  # groups taken and not yet answered (at most two)
        self._stopping = False
        self._preparing_done = False
        self._preparing: threading.Thread | None = None
        self._committing: threading.Thread | None = None
        self._iterated: list[threading.Event] = []  # the last answered group's loops (see _wake)
        self._answered = 0  # groups answered so far
        self.group_sizes: list[int] = []  # submissions per recent transaction, for tests and logs

    def submit(self, items: Sequence[T]) -> list[R]:
        """Record `items` (one result each, in order) once they are committed; raises as `record`."""
        if not items:
            return []
        submission: _Submission[T, R] = _Submission(items, done=threading.Event())
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
        self._enqueue(_Submission(items, future), bounded=True)
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
        """Groups taken and not yet answered: 0, 1 (one preparing or committing) or 2."""
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

    def _enqueue(self, submission: _Submission[T, R], *, bounded: bool = False) -> None:
        with self._state:
            waiting = self._pending_items
            if bounded and waiting and waiting + len(submission.items) > self._max_pending:
                raise Overloaded(f"{waiting} waiting for the database in this server")
            self._pending.append(submission)
            self._pending_items += len(submission.items)
            route = self._route
            self._committing = thread_ensure(self._committing, self._commit_loop, f"group-commit-{route}")
            self._preparing = thread_ensure(self._preparing, self._prepare_loop, f"group-prepare-{route}")
            self._state.notify_all()

    # --- the preparing thread ------------------------------------------------------------

    def _prepare_loop(self) -> None:
        try:
            while (group := self._next_group()) is not None:
                self._prepared(group)
                with self._state:
                    self._ready = group  # the committing thread has taken the one before
                    self._state.notify_all()
                    while self._ready is not None:  # two groups in flight at most
                        self._state.wait()
        finally:
            db.connection.close()
            with self._state:
                self._preparing_done = True
                self._state.notify_all()

    def _next_group(self) -> _Group[T, R] | None:
        """The next group, once something waits; None once stopping with nothing left.

        Whenever a group has been answered since the last look, its callers' event loops
        iterate first (see ITERATIONS_BEFORE_NEXT_GROUP): the calls they already hold join
        this group instead of the first of them going alone.
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
                    return _Group(self._take())
                answered, iterated = self._answered, self._iterated
            for loop_iterated in iterated:
                loop_iterated.wait(ITERATIONS_WAIT_MAX_SECONDS)

    def _take(self) -> list[_Submission[T, R]]:
        """The oldest submissions, whole, up to max_items (at least one)."""
        taken, items = 0, 0
        for submission in self._pending:
            if taken and items + len(submission.items) > self._max_items:
                break
            taken += 1
            items += len(submission.items)
        group = self._pending[:taken]
        del self._pending[:taken]
        self._pending_items -= items
        return group

    def _prepared(self, group: _Group[T, R]) -> None:
        """Admit the group's submissions and run the first half of their recording; a failure
        of it is raised again by the group's commit, which handles it as a failed commit."""
        self.group_sizes = [*self.group_sizes[-99:], len(group.submissions)]
        try:
            with database_session():
                group.admitted = self._admitted(group.submissions)
                if group.admitted:
                    group.commit = self._prepare([item for s in group.admitted for item in s.items])
        except BaseException as exc:  # never leave a caller waiting forever
            group.commit = partial(_raise, exc)

    def _admitted(self, group: list[_Submission[T, R]]) -> list[_Submission[T, R]]:
        """The group's submissions, each admitted (once: a retry finds it done); those whose
        admission failed are answered with its error and left out."""
        if self._admit is None:
            return group
        admitted: list[_Submission[T, R]] = []
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
                    while self._ready is None and not self._preparing_done:
                        self._state.wait()
                    if self._ready is None:
                        return
                    group, self._ready = self._ready, None
                    self._state.notify_all()  # the preparing thread may take the next group
                try:
                    if group.commit is not None:
                        self._commit(group.admitted, group.commit)
                except BaseException as exc:  # never leave a caller waiting forever
                    for submission in group.submissions:
                        if not submission.finished:
                            submission.finish(error=exc)
                    logger.exception("group commit thread failed")
                finally:
                    iterated = _wake(group.submissions)
                    with self._state:
                        self._iterated = iterated
                        self._answered += 1
                        self._in_flight -= 1
                        self._in_flight_gauge.dec()
                        self._state.notify_all()
        finally:
            db.connection.close()

    def _commit(self, group: list[_Submission[T, R]], commit: Commit[R]) -> None:
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

    def _record_each(self, group: list[_Submission[T, R]]) -> None:
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
