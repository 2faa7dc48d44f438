"""Authenticate API requests that carry ``Authorization: Bearer <access token or API key>``."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _

from accounts import tokens
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from core import unavailable


def unauthorized(exc: AuthError) -> JsonResponse:
    """The answer to a refused bearer token: 401, with the refusal's code."""
    return JsonResponse(
        {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
        status=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", code="{exc.code}"'},
    )


@lru_cache(maxsize=8)
def _consumer_api_path(script_prefix: str) -> str:
    # Keyed by the script prefix because reverse() puts the current one in front.
    return reverse("consumer-api")


class BearerTokenMiddleware:
    """Sets ``request.user`` from a bearer token, or ``request.api_key`` from an API key.

    A request with a bad or expired token is answered 401 at once with a GraphQL
    shaped error, so that a client knows to refresh rather than silently being
    treated as signed out. Bearer requests skip CSRF: no cookie authenticates them.
    On the consumer API the session is checked by the view, or by the operation's own
    statement, unless this process checked it lately (``tokens.defer``).

    An API key (``lk_live_…``, recognised by its prefix) authenticates only the
    merchant API: anywhere else it is refused with 401, so that a leaked key never
    reaches the consumer API, downloads or pages. The request stays anonymous
    (``request.user``); ``api.require_membership`` lets the key act for its
    merchant.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
            # Imported here: tenants builds on accounts, not the other way round.
            from tenants import apikeys

            try:
                if apikeys.is_api_key(token):
                    if request.path != reverse("merchant-api"):
                        raise AuthError(
                            AccountErrorCode.TOKEN_INVALID,
                            _("API keys work only on the merchant API."),
                        )
                    request.api_key = apikeys.authenticate(token)  # type: ignore[attr-defined]  # ours on Django's request
                elif request.path == _consumer_api_path(get_script_prefix()):
                    # The view checks the session, or leaves it to the operation's own
                    # statement (tokens.defer, decision 0343).
                    tokens.defer(request, tokens.verify(token))
                else:
                    user, session = tokens.authenticate(token)
                    request.user = user
                    request.auth_session = session  # type: ignore[attr-defined]  # ours on Django's request
            except unavailable.UNAVAILABLE_ERRORS as exc:
                # Django would make this a 500 before outer middleware could see it.
                unavailable.log_unavailable(exc, "bearer token check")
                return unavailable.unavailable_response()
            except AuthError as exc:
                return unauthorized(exc)
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]  # Django's CSRF opt-out, not in django-stubs
        return self.get_response(request)
