"""The Celery app of the Redis route: `celery -A election worker -Q votes` (Procfile `worker:`).

Configured from Django settings (the CELERY_ names in election/settings.py). The tasks live
in `ingest_pubsub.tasks`, named in CELERY_IMPORTS, so this package never imports a route.

How the worker is run (Procfile `worker:`), and why (a vote must never be lost nor counted
twice). This is the one place that explains it; election/settings.py, ingest_pubsub/tasks.py
and ingest_pubsub/workers.py point here.

- Two processes (CELERY_WORKER_PROCESSES, `python -m ingest_pubsub.workers`), each
  `--pool threads` with 32 threads (CELERY_WORKER_CONCURRENCY). py-spy and timing showed the
  drain bound by the consumer loop, not the database: kombu's Redis transport makes three
  writes per message (BRPOP; recording it as unacknowledged; the ack), each waiting for
  Redis' fsync (`appendfsync always`), one message at a time per process. Two processes
  overlap those waits and use both cores; the acks of one event-loop turn are written in
  one MULTI/EXEC (ingest_pubsub/broker.py, below).
- Threads and group commit: the 32 tasks of a process hand their votes to its one
  committer thread (ingest_pubsub/committer.py), which stores the votes of every task
  waiting meanwhile in one transaction: the per-transaction cost (commit fsync, the hot
  tally rows held until commit) is paid once per group, not per message of ~15 votes. The
  threads mostly wait, so the interpreter lock is no limit; the switch interval is cut to
  0.5 ms (ingest_pubsub/tasks.py) so the consumer thread gets it back quickly.
- Prefetch (CELERY_PREFETCH_MULTIPLIER, 4 by default, x the concurrency): the messages a
  process reserves ahead, so new tasks are ready while a group commits. They stay
  unacknowledged while reserved: a dead worker strands at most processes x concurrency x
  multiplier messages until the visibility timeout.
- acks_late (CELERY_TASK_ACKS_LATE): a task returns only once the committer has committed
  its votes, and its message is acknowledged only then. A worker that dies before leaves the
  message unacknowledged, so it is delivered again, and the redelivery finds its votes
  stored (votes_record is idempotent on vote_id) and changes nothing. The acks of one turn
  of the event loop are removed from Redis together at the next turn: one that is not yet
  written when the worker dies only means one more, harmless, redelivery.
- reject_on_worker_lost: in a prefork pool, a killed child requeues its message instead of
  acknowledging it as failed. With threads, the whole process dies together, which leaves
  all its messages unacknowledged.
- Visibility timeout and restore (CELERY_VISIBILITY_TIMEOUT 300 s,
  CELERY_UNACKED_RESTORE_INTERVAL x _THROTTLE 10 s): Redis has no broker-side acks; kombu
  keeps each delivered message in the "unacked" hash, and any worker puts it back on the
  queue once it has been held that long. A SIGKILLed worker's messages come back after the
  timeout plus one sweep. kombu pops a message (BRPOP) before it records it there, so a
  worker killed in between lost it; ingest_pubsub/broker.py moves it (BLMOVE) to a landing
  list instead, which the same sweep empties back into the queue when its worker is dead.
- Time limit: the threads pool cannot kill a task, so CELERY_TASK_TIME_LIMIT applies to a
  prefork pool only. A stuck database call ends with InnoDB's lock wait timeout (an error,
  retried); a message held past the visibility timeout is delivered again (harmless).
- Every way out of a task ends with its votes stored, retried, requeued or parked
  (ingest_pubsub/tasks.py `_record`), because Celery acknowledges whatever a task returns
  or raises: a task that raised is acknowledged (task_acks_on_failure_or_timeout, on by
  default), and kombu's Redis transport acknowledges a Reject that does not requeue. So:
  - Retries with backoff: a batch the database or the catalogue cannot take now
    (StorageUnavailable, DatabaseError, CatalogueError: a worker started while MariaDB is
    down, a catalogue that no longer builds and no good copy of it yet) is retried after
    1, 2, 4 ... 60 s with jitter (VOTES_TASK_RETRY_BACKOFF_MAX), VOTES_TASK_MAX_RETRIES
    times (~25 min), then parked in the dead letters. The retry is a new message, published
    before the old one is acknowledged.
  - A retry that cannot be published (Redis away or refusing writes) would make Celery
    reject the message without requeueing it, so the task rejects it with requeue=True:
    back on the queue, or, if Redis refuses that too, left unacknowledged and restored after
    the visibility timeout.
  - Anything else (a bug, an unforeseen refusal) parks the batch's votes; a vote that does
    not read (bad signature, refused by a changed catalogue) or whose vote_id is stored with
    other content (a conflict) is parked alone, with the reason, once the others are stored.
    Parking that fails (Redis away) requeues the message instead.
  Within a group commit, any failure other than StorageUnavailable is taken for one bad
  message: its messages are committed one by one, so a poison message fails alone.
- The catalogue is read at worker start (a signal: a failure is logged, the worker starts
  all the same) and each process keeps its last good copy when a re-read fails
  (election/catalogue/index.py), so an ambiguous catalogue written past the admin's check, or
  MariaDB away, does not stop validation.
- Signed messages: each queued vote carries an HMAC of its fields with VOTE_QUEUE_KEY
  (ingest_pubsub/messages.py); the worker stores none it cannot verify, and parks it.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")

app = Celery("escrutinio")
app.config_from_object("django.conf:settings", namespace="CELERY")
# kombu's Redis transport with landing lists (no message lost between pop and unacked
# record) and the acks of one event-loop turn written in one MULTI/EXEC (see that module).
# Named, not imported, as CELERY_IMPORTS names the tasks.
app.conf.broker_transport = "ingest_pubsub.broker:Transport"
