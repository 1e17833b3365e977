"""The Celery app of the Redis route: `celery -A election worker -Q votes` (Procfile `worker:`).

Configured from Django settings (the CELERY_ names in election/settings.py). The tasks live
in `ingest_pubsub.tasks`, named in CELERY_IMPORTS, so this package never imports a route.

How the worker is run, and why (a vote must never be lost nor counted twice):

- `--pool threads --concurrency 32` (CELERY_WORKER_CONCURRENCY): one process runs up to 32
  tasks at once, and they share its group committer (ingest_pubsub/group_commit.py): the
  votes of every task waiting while a transaction commits go together in the next one. The
  drain is bound by transactions (the commit's fsync; the hot tally rows each transaction
  holds until its commit), not by Python, so more votes per transaction is what makes it
  faster; more processes, each committing its own messages, are not (2 and 4 prefork
  processes drained at the same rate, serialised on the same tally rows). The threads
  mostly wait on the committer, so one process and its GIL are enough.
- Prefetch (CELERY_PREFETCH_MULTIPLIER, 4 by default, x the concurrency): the messages the
  process reserves ahead, so new tasks are ready while a group commits. They stay
  unacknowledged while reserved: a dead worker strands at most concurrency x multiplier
  messages until the visibility timeout.
- acks_late (CELERY_TASK_ACKS_LATE): a task returns only once the committer has committed
  its votes, and its message is acknowledged only then. A worker that dies before leaves the
  message unacknowledged, so it is delivered again, and the redelivery finds its votes
  stored (votes_record is idempotent on vote_id) and changes nothing.
- reject_on_worker_lost: in a prefork pool, a killed child requeues its message instead of
  acknowledging it as failed. With threads, the whole process dies together, which leaves
  all its messages unacknowledged.
- Visibility timeout and restore (CELERY_VISIBILITY_TIMEOUT 300 s,
  CELERY_UNACKED_RESTORE_INTERVAL x _THROTTLE 10 s): Redis has no broker-side acks; kombu
  keeps each delivered message in the "unacked" hash, and any worker puts it back on the
  queue once it has been held that long. A SIGKILLed worker's messages come back after the
  timeout plus one sweep.
- Time limit: the threads pool cannot kill a task, so CELERY_TASK_TIME_LIMIT applies to a
  prefork pool only. A stuck database call ends with InnoDB's lock wait timeout (an error,
  retried); a message held past the visibility timeout is delivered again (harmless).
- Retries with backoff: a batch the database cannot take (StorageUnavailable) fails every
  task of its group; each retries after 1, 2, 4 ... 60 s with jitter, VOTES_TASK_MAX_RETRIES
  times (~25 min), then is parked in the dead letters. Any other failure of a group is taken
  for one bad message: its messages are committed one by one, so a poison message fails
  alone and is parked, never dropped, while the others commit.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "election.settings")

app = Celery("escrutinio")
app.config_from_object("django.conf:settings", namespace="CELERY")
# kombu's Redis transport with the acks of one event-loop turn written in one MULTI/EXEC
# (see that module). Named, not imported, as CELERY_IMPORTS names the tasks.
app.conf.broker_transport = "ingest_pubsub.broker:Transport"
