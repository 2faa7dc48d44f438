"""Refuse a request that waited in the server's queue longer than a stated deadline.

During a burst the server takes every connection at once and queues the requests for
a bounded number of threads (each with its one database connection, see
``config/gunicorn.py``). A request that has waited longer than
``REQUEST_QUEUE_DEADLINE_SECONDS`` is answered 503 ``SERVICE_UNAVAILABLE`` with a
``Retry-After`` before anything else runs: its client has likely given up or is about
to, and serving it would only make every request behind it later still. Requests
that waited less are served, however long the queue.

The server says when it took the request: the WSGI environ key ``ACCEPTED_AT``, a
Unix time in seconds, set by ``config.gunicorn_worker.DeadlineThreadWorker`` when
the request became ready to serve (its connection accepted, or a kept-alive one
readable). Without the key (Django's test client, another server) nothing is refused.
See docs/decisions/0135-bursts-queue-bounded-threads-and-a-deadline.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.unavailable import unavailable_response

logger = logging.getLogger("core.errors")

ACCEPTED_AT = "loyalty.accepted_at"
# Longer than the database-outage answer's 1 s: the queue that made this request wait
# past the deadline needs seconds to drain, and clients coming back at once would
# only refill it.
RETRY_AFTER_SECONDS = 5


def waited(request: HttpRequest, now: float | None = None) -> float | None:
    """Seconds since the server took ``request``, or ``None`` when it did not say."""
    accepted = request.META.get(ACCEPTED_AT)
    if not isinstance(accepted, float):
        return None
    return (time.time() if now is None else now) - accepted


class QueueDeadlineMiddleware:
    """The first middleware: a request past the deadline is refused before any work."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.deadline: float = settings.REQUEST_QUEUE_DEADLINE_SECONDS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = waited(request)
        if seconds is not None and seconds > self.deadline:
            # A warning, like a lost database: the operator's signal is the 503 rate.
            logger.warning("request refused after %.1f s in the queue: %s", seconds, request.path)
            return unavailable_response(retry_after=RETRY_AFTER_SECONDS)
        return self.get_response(request)
