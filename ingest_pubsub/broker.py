"""kombu's Redis transport, with the acknowledgements of one event-loop turn written together.

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
"""

from __future__ import annotations

from typing import Any

from kombu.asynchronous import get_event_loop
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual


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


class Transport(kombu_redis.Transport):
    Channel = Channel
