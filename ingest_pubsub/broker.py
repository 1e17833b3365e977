"""kombu's Redis transport: no message lost between its pop and its unacked record, and the
acknowledgements of one event-loop turn written together.

**Landing list.** kombu pops a message with BRPOP and only then records it in the "unacked"
hash, so a worker killed in between (or whose pending BRPOP Redis serves while the killed
process's connection is not yet closed) loses it. Here the message is moved atomically
(BLMOVE) from the queue to a landing list of this channel, and the MULTI/EXEC that records
it as unacked also removes it from there: at every moment the message is in the queue, the
landing list or the unacked hash, in Redis. Each landing list is registered in a sorted set
with a heartbeat that the restore sweep refreshes; a sweep puts the contents of landing lists
whose heartbeat is older than the visibility timeout (their worker died) back on the queue,
and those of its own that no fetch is using (a connection lost after a move). Same number of
fsynced writes per message as kombu's. Needs Redis >= 6.2.

**Several queues** (the worker consumes votes and actas): BLMOVE has one source, so a fetch
first moves, without blocking, from the first queue in the cycle's order that has a message
(one Lua script, LMOVE per queue, atomic as BLMOVE), and only when none has one blocks on the
first queue the worker was given (`-Q votes,actas`: votes) for up to `brpop_timeout`, then
looks at every queue again. A vote is taken at once whatever the actas do; an acta that arrives
while the worker waits for votes waits at most `brpop_timeout` (1 s).

**Acks.**
With acks_late, kombu's Redis transport acknowledges a message by removing it from the
"unacked" hash and index: one MULTI/EXEC per message, from the worker's one event loop. On a
Redis with `appendfsync always` every such write waits for an fsync (about 1 to 2 ms here),
and the group committer finishes the tasks of a transaction at once, so their acks arrived
as a burst of sequential fsyncs that held up the next deliveries. Here the acks that the
event loop runs in one turn are queued and removed from Redis in one MULTI/EXEC at the start
of the next turn: one fsync for the burst.

Nothing can be lost by the delay: until its removal, an acknowledged message is still in the
"unacked" hash, so a worker that dies in between has it delivered again after the visibility
timeout, and the redelivery finds its votes stored (idempotent on vote_id). Delivery
(BRPOP, then recording the message as unacked) is kombu's, unchanged. Outside a worker's
event loop (no hub), an ack is written at once, as kombu does.

**Requeue.** A task that cannot settle its batch rejects the message with requeue=True
(ingest_pubsub/tasks.py). If Redis refuses that write too, the message stays in the
"unacked" hash and is restored after the visibility timeout; kombu's would raise into the
event loop instead, which stops the worker when the error is not a connection error.
"""

from __future__ import annotations

import logging
import uuid
from queue import Empty
from time import monotonic, time
from typing import Any

import redis
from kombu.asynchronous import get_event_loop
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

LANDING_INDEX = "unacked_landing_index"  # landing list -> heartbeat (seconds since the epoch)
LANDING_PREFIX = "unacked_landing:"
# KEYS: queue, its landing list, queue, its landing list...: move one message from the first
# queue that has one to its landing list; answer {its position from 1, the message} or nil.
MOVE_FIRST_SCRIPT = """
for i = 1, #KEYS, 2 do
  local raw = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'LEFT')
  if raw then return {(i + 1) / 2, raw} end
end
return nil
"""


class QoS(kombu_redis.QoS):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acks_unwritten: list[str] = []

    def ack(self, delivery_tag: str) -> None:
        hub = get_event_loop()
        if hub is None:
            super().ack(delivery_tag)
            return
        if not self._acks_unwritten:
            hub.call_soon(self.acks_write)
        self._acks_unwritten.append(delivery_tag)
        virtual.QoS.ack(self, delivery_tag)  # the prefetch window moves on at once

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        """A requeue that Redis refuses (away, read-only, out of memory) leaves the message in
        the "unacked" hash, to be restored after the visibility timeout, rather than raising
        into the event loop: kombu's would stop the worker over a connection error it does not
        expect there, and over any other error."""
        if not requeue:
            super().reject(delivery_tag, requeue=False)
            return
        try:
            self.restore_by_tag(delivery_tag, leftmost=True)
        except redis.RedisError as exc:
            logger.warning(
                "could not requeue a message; it is restored after the visibility timeout",
                extra={"error": str(exc)},
            )
        virtual.QoS.ack(self, delivery_tag)  # out of this worker's prefetch window either way

    def append(self, message: Any, delivery_tag: str) -> None:
        landed = self.channel.landed
        if landed is None:  # not fetched through a landing list
            super().append(message, delivery_tag)
            return
        queue, raw = landed
        delivery = message.delivery_info
        record = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        with self.pipe_or_acquire() as pipe:  # MULTI/EXEC: recorded and off the landing list at once
            pipe.zadd(self.unacked_index_key, {delivery_tag: time()})
            pipe.hset(self.unacked_key, delivery_tag, record)
            pipe.lrem(self.channel.landing_key(queue), 1, raw)
            pipe.execute()
        virtual.QoS.append(self, message, delivery_tag)

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        super().restore_visible(start=start, num=num, interval=interval)
        self.channel.landing_sweep(self.visibility_timeout)

    def acks_write(self) -> None:
        """Remove every acknowledged message not yet removed, in one MULTI/EXEC."""
        tags, self._acks_unwritten = self._acks_unwritten, []
        if not tags:
            return
        with self.pipe_or_acquire() as pipe:
            pipe.zrem(self.unacked_index_key, *tags).hdel(self.unacked_key, *tags).execute()

    def restore_unacked_once(self, stderr: Any = None) -> Any:
        self.acks_write()  # a warm shutdown writes the acks it still holds
        return super().restore_unacked_once(stderr)


class Channel(kombu_redis.Channel):
    QoS = QoS
    # One list per queue: BLMOVE has one source (priorities would add a list per level).
    priority_steps = [0]
    _client_for_pool: Any = None  # a class default: kombu's __init__ may ask for a client first

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.global_keyprefix:
            raise ValueError("ingest_pubsub.broker does not support global_keyprefix")
        self._landing_id = uuid.uuid4().hex
        self._landing_registered: set[str] = set()
        self._moving_from: list[str] = []  # the queues of the move in flight, in its order
        self._multi_waiting = False  # several queues, none had a message: a blocking move next
        self._first_queue = ""
        self.landed: tuple[str, bytes] | None = None  # (queue, raw message) being delivered

    def _create_client(self, asynchronous: bool = False) -> Any:
        """One client per connection pool for the commands kombu runs outside its event loop
        (publishes, acks, the unacked record), not one per command: each new redis-py client
        builds its table of about 170 response callbacks, a sixth of a publish's CPU
        (measured). A client is thread-safe; each command takes a connection from the pool."""
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool  # made anew after kombu drops a broken one: then so is the client
        if self._client_for_pool is None or self._client_for_pool.connection_pool is not pool:
            self._client_for_pool = super()._create_client()
        return self._client_for_pool

    def landing_key(self, queue: str) -> str:
        return f"{LANDING_PREFIX}{queue}:{self._landing_id}"

    def _brpop_start(self, timeout: float | None = None) -> None:
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        for queue in queues:
            if queue not in self._landing_registered:
                with self.conn_or_acquire() as client:  # before the first move into it
                    client.zadd(LANDING_INDEX, {self.landing_key(queue): time()})
                self._landing_registered.add(queue)
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()  # type: ignore[assignment]
        wait = self.brpop_timeout if timeout is None else timeout
        if len(queues) > 1 and not self._multi_waiting:
            # Several queues (votes and actas): BLMOVE has one source, so first a move from
            # whichever has a message, in the cycle's order, without blocking...
            self._moving_from = list(queues)
            keys = [key for queue in queues for key in (self._q_for_pri(queue, 0), self.landing_key(queue))]
            self.client.connection.send_command("EVAL", MOVE_FIRST_SCRIPT, len(keys), *keys)
            return
        # ...and when none had one, a blocking move from the first queue the worker was given
        # (votes: a lone vote is taken at once; an acta arriving meanwhile waits up to `wait`).
        queue = queues[0] if len(queues) == 1 else self._waiting_queue(queues)
        self._moving_from = [queue]
        self.client.connection.send_command(
            "BLMOVE", self._q_for_pri(queue, 0), self.landing_key(queue), "RIGHT", "LEFT", wait or 0
        )

    def _waiting_queue(self, queues: list[str]) -> str:
        if self._first_queue not in queues:
            self._first_queue = queues[0]  # before any rotation: the -Q order's first
        return self._first_queue

    def _brpop_read(self, **options: Any) -> bool:
        sources = self._moving_from
        if not sources:  # no move of ours in flight
            return bool(super()._brpop_read(**options))
        try:
            command = "BLMOVE" if len(sources) == 1 else "EVAL"
            try:
                reply = self.client.parse_response(self.client.connection, command, **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if command == "EVAL":
                self._multi_waiting = not reply  # none had a message: block next time
                queue, raw = (sources[int(reply[0]) - 1], reply[1]) if reply else ("", None)
            else:
                self._multi_waiting = False  # a message or a timeout: look at every queue again
                queue, raw = sources[0], reply
            if not raw:
                raise Empty()
            self._queue_cycle.rotate(queue)
            self.landed = (queue, raw)
            try:
                self.connection._deliver(loads(bytes_to_str(raw)), queue)
            finally:
                self.landed = None
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._moving_from = []
            self._flush_brpop_reauth()

    def landing_sweep(self, visibility_timeout: float) -> None:
        """Heartbeat this channel's landing lists; put back on the queue what dead workers left
        in theirs, and what a lost connection left in ours."""
        now = time()
        with self.conn_or_acquire() as client:
            for queue in self._landing_registered:
                client.zadd(LANDING_INDEX, {self.landing_key(queue): now})
                if self._in_poll is None:  # no move pending: anything there is stranded
                    _landing_empty(client, self.landing_key(queue), queue)
            for raw_key in client.zrangebyscore(LANDING_INDEX, 0, now - visibility_timeout):
                key = bytes_to_str(raw_key)
                queue = key[len(LANDING_PREFIX) :].rpartition(":")[0]
                _landing_empty(client, key, queue)
                client.zrem(LANDING_INDEX, key)

    def close(self) -> None:
        """Put back what our landing lists hold. They stay registered: a move that Redis serves
        after this (a BLMOVE still pending) is put back by a later sweep, once they are old."""
        if self._landing_registered:  # a channel that never consumed (the pidbox's) has none,
            try:  # and may already have lost its connection: it asks Redis for nothing
                with self.conn_or_acquire() as client:
                    for queue in self._landing_registered:
                        _landing_empty(client, self.landing_key(queue), queue)
            except self.connection_errors:
                pass  # the sweep of another worker empties them once they are old
        super().close()


def _landing_empty(client: Any, key: str, queue: str) -> None:
    # RPOPLPUSH moves one message atomically: a crash in between leaves it in one of the two.
    while client.rpoplpush(key, queue) is not None:
        pass


class Transport(kombu_redis.Transport):
    Channel = Channel
