"""Helpers every front-end page uses: its operations, its language, its response.

The pages talk to the APIs only with the documents kept in ``graphql/operations/``:
a page names the operations it may send, the server embeds them as JSON and the
page's script posts them verbatim (``frontend/static/frontend/api.js``). The
snapshot tests validate every file there against the schema, so the front ends
cannot drift from the API.

Language: ``?lang=`` (``zh-hans`` or ``en``), else the ``django_language`` cookie,
else ``Accept-Language``, else ``LANGUAGE_CODE`` (zh-hans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers

OPERATIONS_DIR = settings.BASE_DIR / "graphql" / "operations"

Api = Literal["consumer", "merchant"]

# Pages are compressed here, not by a middleware on every response: a page embeds its
# operations and texts (the scan page is 16 KB, 4 KB gzipped, on a phone's weak
# network), while the APIs' small JSON answers are on the claim's hot path, where the
# CPU matters more than a few hundred bytes (decision 0236). Django's gzip adds random
# padding against BREACH-style length probes; pages carry no secret anyway.
_GZIP = GZipMiddleware(lambda request: HttpResponse())


@lru_cache(maxsize=64)
def _operations(api: Api, names: tuple[str, ...]) -> dict[str, str]:
    return {name: (OPERATIONS_DIR / api / f"{name}.graphql").read_text() for name in names}


def operations(api: Api, names: Iterable[str]) -> dict[str, str]:
    """The named operation documents of one API, read once per process."""
    return _operations(api, tuple(names))


def page_language(request: HttpRequest) -> str:
    requested = request.GET.get("lang", "").lower()
    if requested in dict(settings.LANGUAGES):
        return requested
    return translation.get_language_from_request(request)


def render_page(
    request: HttpRequest,
    template: str,
    context: Callable[[], dict[str, Any]] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a page in the visitor's language, saying which one and why it may vary.

    ``context`` is a function, called inside the language override, because the
    pages embed translated sentences for their scripts (``gettext`` at call time).
    """
    language = page_language(request)
    with translation.override(language):
        values = {"language": language, "languages": settings.LANGUAGES}
        if context is not None:
            values.update(context())
        response = render(request, template, values, status=status)
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    if request.GET.get("lang", "").lower() == language:
        # A language picked with ?lang= sticks for the next pages (links carry no ?lang=).
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return compressed(request, response)


def compressed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response`` gzipped when the browser accepts it and it is worth it (200+ bytes)."""
    answer = _GZIP.process_response(request, response)
    assert isinstance(answer, HttpResponse)  # the same response, its content gzipped
    return answer
