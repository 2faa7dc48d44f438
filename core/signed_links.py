"""Signed, expiring links: the one way the platform hands out a file by URL, or takes one.

A link carries a ``django.core.signing`` token naming exactly what it gives (a
merchant and an export, a merchant and a month, an operator and a period …), signed
with the server's key under a salt of its own, so that it cannot be altered, nor a
token of one kind be used as another, and it dies ``ttl`` seconds after it was made.
Like a pre-signed storage URL, the link is the authorisation: it opens in a plain
browser tab (no bearer header, no session) and can be handed on for a few minutes.
The API or page that mints it has already checked who may have it; the view may
check more (the merchant still exists, the operator is still staff).

Every refusal is plain text, never cached: **403** for a token that is not valid
(tampered, another kind's, malformed), **410** for one that was valid and has
expired (ask the page that gave it for a new one). What the token names is the
view's own business (404 if it is gone, 202 while a file is being prepared).

An upload link (``SignedLink.upload``: a merchant's logo, a printer's code file) is
posted to by a script or the console's ``fetch``, so its refusals are JSON
``errors`` with a code, as the APIs': 410 ``LINK_EXPIRED``, 403 ``LINK_NOT_VALID``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

DEFAULT_TTL = 15 * 60  # seconds
FROM_THE_CONSOLE = gettext_lazy(
    "This download link has expired. Get a new one from the merchant console."
)

# What the view of a link receives: the token's values in the order of ``fields``. It
# answers with any response, a file streamed from storage (``FileResponse``) included.
Handler = Callable[..., HttpResponseBase]


@dataclass(frozen=True)
class SignedLink:
    """One kind of download link: its salt, lifetime, URL name and what its token names.

    ``fields`` maps each key of the token (kept short: the token is in the URL) to the
    type of its value, ``int`` or ``str``; ``token`` and ``read`` take and give the
    values in that order.
    """

    salt: str
    url_name: str
    fields: dict[str, type]
    ttl: int = DEFAULT_TTL
    # Where to get a fresh link, for the 410 answer.
    expired_message: Promise = FROM_THE_CONSOLE

    def token(self, *values: Any) -> str:
        if len(values) != len(self.fields):
            raise TypeError(f"{self.salt}: {len(self.fields)} values expected")
        for (key, kind), value in zip(self.fields.items(), values, strict=True):
            if not _is(value, kind):
                raise TypeError(f"{self.salt}: {key} must be {kind.__name__}")
        return signing.dumps(dict(zip(self.fields, values, strict=True)), salt=self.salt)

    def path(self, *values: Any) -> str:
        return reverse(self.url_name, args=[self.token(*values)])

    def url(self, request: HttpRequest, *values: Any) -> str:
        return request.build_absolute_uri(self.path(*values))

    def expires_at(self) -> datetime:
        """When a link made now stops working."""
        return timezone.now() + timedelta(seconds=self.ttl)

    def read(self, token: str) -> tuple[Any, ...]:
        """The values a token names; raises ``signing.SignatureExpired`` for an old
        token and ``signing.BadSignature`` for one that is not valid."""
        data = signing.loads(token, salt=self.salt, max_age=self.ttl)
        if not isinstance(data, dict) or set(data) != set(self.fields):
            raise signing.BadSignature("malformed token")
        values = tuple(data[key] for key in self.fields)
        if not all(_is(v, kind) for v, kind in zip(values, self.fields.values(), strict=True)):
            raise signing.BadSignature("malformed token")
        return values

    def view(self, handler: Handler) -> Callable[[HttpRequest, str], HttpResponseBase]:
        """Wrap ``handler(request, *values)`` as the view of ``<token>`` URLs (GET/HEAD)."""

        @require_safe
        @functools.wraps(handler)
        def view(request: HttpRequest, token: str) -> HttpResponseBase:
            try:
                values = self.read(token)
            except signing.SignatureExpired:
                return refusal(410, str(self.expired_message))
            except signing.BadSignature:
                return refusal(403, _("This download link is not valid."))
            return handler(request, *values)

        return view

    def upload(self, handler: Handler) -> Callable[[HttpRequest, str], HttpResponseBase]:
        """Wrap ``handler(request, *values)`` as the view of ``<token>`` upload URLs
        (POST; refusals as JSON, ``json_refusal``)."""

        @csrf_exempt  # the signed link, not a cookie, authorises it
        @require_POST
        @functools.wraps(handler)
        def view(request: HttpRequest, token: str) -> HttpResponseBase:
            try:
                values = self.read(token)
            except signing.SignatureExpired:
                return json_refusal(410, "LINK_EXPIRED", str(self.expired_message))
            except signing.BadSignature:
                return json_refusal(403, "LINK_NOT_VALID", _("This upload link is not valid."))
            return handler(request, *values)

        return view


def _is(value: object, kind: type) -> bool:
    # JSON has no separate booleans for our purposes: True is not a merchant id.
    return isinstance(value, kind) and not isinstance(value, bool)


def refusal(status: int, message: str) -> HttpResponse:
    """A plain-text answer for a link that gives nothing (never cached)."""
    return HttpResponse(
        message + "\n",
        status=status,
        content_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def json_refusal(status: int, code: str, message: str) -> JsonResponse:
    """An upload link's refusal: the APIs' ``errors`` shape, with a coded error."""
    return JsonResponse({"errors": [{"code": code, "message": message}]}, status=status)


def csv_attachment(text: str, filename: str) -> HttpResponse:
    """A CSV download. It starts with a byte order mark, so that spreadsheet programs
    read it as UTF-8 (Chinese names and titles)."""
    return HttpResponse(
        ("\ufeff" + text).encode(),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
