"""Answering cleanly when the database is unreachable, and when code fails unexpectedly.

A dropped connection, a restarting PostgreSQL or a failover surfaces as psycopg's
``OperationalError`` / ``InterfaceError`` (Django wraps them under the same names).
Nothing a client sent is wrong and the transaction has rolled back, so the right
answer is "retry": HTTP 503 with the ``SERVICE_UNAVAILABLE`` code and a
``Retry-After``, never a 500 with a stack trace in the logs. Django closes the
broken connection at the end of the request (``close_if_unusable_or_obsolete``),
so the next request opens a new one: the app recovers without a restart.

Any other exception is a bug: it is logged with its traceback (``core.errors``
logger, ERROR) and the client gets ``INTERNAL_SERVER_ERROR`` with no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from core.error_codes import CoreErrorCode

logger = logging.getLogger("core.errors")

# What a lost or refused database connection raises (Django's and psycopg's classes:
# Django re-raises psycopg's under its own names, but code that talks to psycopg
# directly, or a failure inside Django's wrapper, may surface either).
try:
    import psycopg

    UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
except ImportError:  # pragma: no cover - psycopg is a dependency
    UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)

RETRY_AFTER_SECONDS = 1


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE_ERRORS)


def unavailable_message() -> str:
    return _("This service is briefly unavailable. Please retry.")


def unavailable_response(retry_after: int = RETRY_AFTER_SECONDS) -> JsonResponse:
    """The GraphQL-shaped 503 that every layer answers with; ``retry_after`` in seconds."""
    return JsonResponse(
        {
            "errors": [
                {
                    "message": unavailable_message(),
                    "extensions": {"code": CoreErrorCode.SERVICE_UNAVAILABLE},
                }
            ]
        },
        status=503,
        headers={"Retry-After": str(retry_after)},
    )


def log_unavailable(exc: BaseException, where: str) -> None:
    # A warning, not an error: the outage is the operator's signal (monitor 503s),
    # and one line per request is enough; the traceback says nothing new.
    logger.warning("database unavailable in %s: %s", where, str(exc).strip().splitlines()[:1])


class DatabaseUnavailableMiddleware:
    """Turns a view's database-connection failure into a 503 (see the module docstring).

    ``process_exception`` sees what views raise; middleware that reads the database
    itself (the bearer token check) handles the same errors in place, because
    Django turns a middleware's exception into a 500 before outer middleware sees it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_unavailable(exception):
            return None
        log_unavailable(exception, request.path)
        return unavailable_response()
