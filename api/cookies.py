"""Cookie middleware that the bearer-token APIs skip, and their language middleware.

The two GraphQL endpoints authenticate by bearer token only and ignore cookies
(``api.views.ApiView``), so sessions, session-based users and flash messages,
which only the Django admin uses, have nothing to do there. Django runs every
middleware on every request; on the scan claim, these three cost 3% of the
worker's CPU (building a session store and two message stores for each request,
docs/benchmarks.md). Each class here is Django's own, made to pass API requests
straight through. They stay subclasses of Django's, which the admin's system checks
look for.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessages
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware as DjangoLocale
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin


@lru_cache(maxsize=8)
def _api_paths(script_prefix: str) -> frozenset[str]:
    # Keyed by the script prefix because reverse() puts the current one in front.
    return frozenset({reverse("consumer-api"), reverse("merchant-api")})


def is_api_request(request: HttpRequest) -> bool:
    """Whether the request is for one of the GraphQL endpoints."""
    return request.path in _api_paths(get_script_prefix())


class NotOnTheApisMixin(MiddlewareMixin):
    """Pass API requests on untouched (in a synchronous stack, as served here).

    A ``MiddlewareMixin`` itself, as each of Django's classes below is: the class order
    is unchanged, and ``super().__call__`` is Django's middleware.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if not self.async_mode and is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class LocaleMiddleware(DjangoLocale):
    """Django's, with the APIs' language taken from ``Accept-Language`` alone.

    The pages' URLs carry their language (``i18n_patterns``); the APIs' do not, yet
    Django's middleware looks for one in every path first: a twentieth of a scan
    claim's CPU went to matching the API's path against the languages.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not is_api_request(request):
            super().process_request(request)
            return
        translation.activate(translation.get_language_from_request(request, check_path=False))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        # Django's looks for a language in the path again, which an API path never has
        # (no language is called "graphql"), and, for a 404, for the same path under
        # a language prefix to redirect to: the APIs answer no 404 and have no such
        # paths. What is left for them is what Django adds to an answer without a
        # language in its path.
        if response.status_code == 404 or not is_api_request(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class SessionMiddleware(NotOnTheApisMixin, DjangoSessions):
    pass


class AuthenticationMiddleware(NotOnTheApisMixin, DjangoAuthentication):
    pass


class MessageMiddleware(NotOnTheApisMixin, DjangoMessages):
    pass
