"""gunicorn's threaded worker, telling the app when each request became ready to serve.

``gthread`` accepts connections in its main thread and queues them for a fixed pool
of threads; during a burst that queue is where requests wait. This subclass stamps
each connection when it is queued (accepted, or a kept-alive one readable again) and
passes the stamp to the app as the WSGI environ key ``core.deadline.ACCEPTED_AT``,
which ``core.deadline.QueueDeadlineMiddleware`` compares with the deadline. The
stamp is the server's: a header a client sends cannot set it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, cast

from gunicorn.workers.gthread import ThreadWorker

from core.deadline import ACCEPTED_AT

# The pool thread serving a request is the one that calls the app: the stamp rides
# from ``handle_request`` to the app in a thread-local, without copying gunicorn's
# long ``handle_request`` to add one environ key.
_serving = threading.local()


class DeadlineThreadWorker(ThreadWorker):
    def enqueue_req(self, conn: Any) -> None:
        conn.loyalty_queued_at = time.time()
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        _serving.queued_at = getattr(conn, "loyalty_queued_at", None)
        try:
            return super().handle_request(req, conn)
        finally:
            _serving.queued_at = None

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # gunicorn sets ``wsgi`` in ``load_wsgi`` and declares no type for it.
        app = cast(Any, self).wsgi

        def stamped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            queued_at = getattr(_serving, "queued_at", None)
            if queued_at is not None:
                environ[ACCEPTED_AT] = queued_at
            return app(environ, start_response)

        self.wsgi = stamped
