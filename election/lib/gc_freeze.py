"""The garbage collector in a long-running server process.

CPython's full collection (generation 2) walks every tracked object. In the gRPC server, with
Django and grpc loaded, that is about 87,000 objects, almost all made at start-up and alive
until exit: under 64 callers a full collection took 40-45 ms, four or five times in 6 s,
and every call in flight waited for it. `startup_objects_freeze` moves what start-up made out
of the collector's sight (gc.freeze), so later collections walk only what the server made
since: 0.7 ms at most in the same measurement. The HTTP edge (the gateway's and the
publisher's workers: 61,000 objects, 13 ms a full collection) does the same once started.
Reference counting still frees a frozen object that is no longer used; only a cycle among
frozen objects would stay.
"""

from __future__ import annotations

import gc


def startup_objects_freeze() -> None:
    """Call once start-up is done (modules imported, caches warm), before serving."""
    gc.collect()  # what start-up left as garbage is freed, not kept forever
    gc.freeze()
