"""Group commit for the Celery worker's threads: the votes of many tasks in one transaction.

Each task thread hands its validated votes to `GroupCommitter.submit` and blocks until they
are committed (so Celery, with acks_late, acknowledges a message only after its commit).
One committer thread per worker process owns the database work: while it commits, the
submissions that arrive meanwhile wait, and the next transaction takes them all together.
There is no timer: a lone message is committed at once, a busy worker forms large
transactions by itself. This is what makes the drain faster: the cost of a transaction (the
commit's fsync, the hot tally rows held until commit) is paid once per group, not once per
message, and one writer never waits on the tally row locks of another in this process.

Failures: StorageUnavailable from the database fails every submission of the group (each
task retries with backoff). Any other failure of a group of several submissions is taken for
one bad message: each submission is then committed alone, so only the bad one fails.
The latest-votes list and the announcement follow each commit, from a thread of their own
(election.live.LiveFeed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django import db

from election.db_thread import database_session
from election.live import LiveFeed
from election.models import Route
from election.services import RecordResult, StorageUnavailable, ValidatedVote, votes_record

logger = logging.getLogger(__name__)

# Stores validated votes durably, one result per vote, in order (votes_record's contract).
Record = Callable[[Sequence[ValidatedVote]], list[RecordResult]]


@dataclass(eq=False)
class _Submission:
    votes: Sequence[ValidatedVote]
    done: threading.Event = field(default_factory=threading.Event)
    results: list[RecordResult] | None = None
    error: BaseException | None = None

    def finish(self, results: list[RecordResult] | None = None, error: BaseException | None = None) -> None:
        self.results, self.error = results, error
        self.done.set()


class GroupCommitter:
    def __init__(self, record: Record, *, route: str, max_votes: int = 2000) -> None:
        self._record = record
        self._route = route
        self._live = LiveFeed(route)
        self._max_votes = max_votes
        self._pending: list[_Submission] = []
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.group_sizes: list[int] = []  # messages per recent transaction, for tests and logs

    def submit(self, votes: Sequence[ValidatedVote]) -> list[RecordResult]:
        """Record `votes` (one result each, in order) once they are committed; raises as votes_record."""
        if not votes:
            return []
        submission = _Submission(votes)
        with self._wakeup:
            self._pending.append(submission)
            self._thread_ensure()
            self._wakeup.notify()
        submission.done.wait()
        if submission.error is not None:
            raise submission.error
        assert submission.results is not None
        return submission.results

    def waiting(self) -> int:
        """Submissions not yet taken into a transaction."""
        with self._wakeup:
            return len(self._pending)

    def stop(self) -> None:
        """End the committer thread once nothing is pending (tests; a worker just exits)."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread is not None:
            self._thread.join()
        self._thread, self._stopping = None, False
        self._live.close()  # what it still had to publish, published
        self._live = LiveFeed(self._route)

    def _thread_ensure(self) -> None:
        # Started on first use, so a prefork child gets its own (a thread does not survive fork).
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._pending and not self._stopping:
                    self._wakeup.wait()
                if not self._pending:
                    db.connection.close()
                    return
                group = self._take()
            try:
                self._commit(group)
            except BaseException as exc:  # never leave a task waiting forever
                for submission in group:
                    if not submission.done.is_set():
                        submission.finish(error=exc)
                logger.exception("group commit thread failed")

    def _take(self) -> list[_Submission]:
        """The oldest submissions, whole, up to max_votes (at least one)."""
        taken, votes = 0, 0
        for submission in self._pending:
            if taken and votes + len(submission.votes) > self._max_votes:
                break
            taken += 1
            votes += len(submission.votes)
        group = self._pending[:taken]
        del self._pending[:taken]
        return group

    def _commit(self, group: list[_Submission]) -> None:
        with database_session():
            self._commit_group(group)

    def _commit_group(self, group: list[_Submission]) -> None:
        self.group_sizes = [*self.group_sizes[-99:], len(group)]
        try:
            results = self._record([vote for submission in group for vote in submission.votes])
        except StorageUnavailable as exc:
            if len(group) > 1 and _database_answers():
                self._commit_each(group)  # the database is fine: one message made the group fail
                return
            for submission in group:
                submission.finish(error=exc)
            return
        except Exception as exc:
            if len(group) == 1:
                group[0].finish(error=exc)
                return
            logger.warning("group commit failed; committing its messages one by one", exc_info=True)
            self._commit_each(group)
            return
        start = 0
        for submission in group:
            submission.finish(results=results[start : start + len(submission.votes)])
            start += len(submission.votes)
        self._live.publish(results)  # from its own thread: the next group does not wait on Redis

    def _commit_each(self, group: list[_Submission]) -> None:
        for submission in group:
            self._commit([submission])


def _database_answers() -> bool:
    try:
        db.connection.ensure_connection()
        with db.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except db.Error:
        db.connection.close()
        return False


def _record_redis(votes: Sequence[ValidatedVote]) -> list[RecordResult]:
    return votes_record(votes=votes, route=Route.REDIS)


# One per worker process: every task thread of the process shares its transactions.
committer = GroupCommitter(_record_redis, route=Route.REDIS)
