"""Authenticate API requests that carry ``Authorization: Bearer <access token>``."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts import tokens
from accounts.errors import AuthError
from config import unavailable


class BearerTokenMiddleware:
    """Sets ``request.user`` from a bearer token.

    A request with a bad or expired token is answered 401 at once with a GraphQL
    shaped error, so that a client knows to refresh rather than silently being
    treated as signed out. Bearer requests skip CSRF: no cookie authenticates them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            try:
                user, session = tokens.authenticate(header[7:].strip())
            except unavailable.UNAVAILABLE_ERRORS as exc:
                # Django would make this a 500 before outer middleware could see it.
                unavailable.log_unavailable(exc, "bearer token check")
                return unavailable.unavailable_response()
            except AuthError as exc:
                return JsonResponse(
                    {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                    status=401,
                    headers={
                        "WWW-Authenticate": f'Bearer error="invalid_token", code="{exc.code}"'
                    },
                )
            request.user = user
            request.auth_session = session  # type: ignore[attr-defined]
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)
