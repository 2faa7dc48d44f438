"""Logs as one JSON object a line, each with the request's id.

A request id comes from the ``X-Request-ID`` header a proxy set (nginx's
``$request_id``, a load balancer's), when it looks like one, else it is made here; it
goes back in the answer's ``X-Request-ID`` and into every log line written while the
request runs, so a consumer's complaint ("请求编号 …"), the proxy's access log and our
logs meet. Celery tasks log with no request id (decision 0237).

``LOG_FORMAT=json`` (production's default) or ``text`` (development's) picks the
formatter in ``config/settings.py``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# A proxy's id is kept only if it is short and plain: it is written into logs as is.
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

request_id: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdMiddleware:
    """First in the chain: every later middleware's and view's logs carry the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        value = given if _SANE.match(given) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx answer after the middleware
        # chain has returned. Cleared when the server closes the response (below).
        request_id.set(value)
        response = self.get_response(request)
        response[HEADER] = value
        return response


@receiver(request_finished)
def _forget_request_id(**kwargs: object) -> None:
    request_id.set("")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request id,
    and the traceback when there is one. Chinese stays readable (no ``\\u`` escapes)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
