"""Sign-in inside WeChat's browser: our side of OAuth web authorisation (snsapi_base).

``/wechat/signin?next=<local path>`` sends the visitor to WeChat with a random
``state`` that is also kept in a signed, HttpOnly, short-lived cookie of this browser,
with ``next``; WeChat sends the visitor back to ``/wechat/callback?code&state``, where
the state must match the cookie (CSRF: a callback this browser did not start is
refused), the code is exchanged once for the OpenID, and the visitor goes back to
``next#wx=<ticket>``: the page's script trades the ticket through ``signInWithWeChat``.
The ticket travels in the fragment, which no server (ours, a proxy's log) ever sees.

The binding of WeChat to an account signed in by phone uses the same two addresses
(the URL name ``wechat-signin`` and its ``next`` are a contract).
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_safe

from accounts.error_codes import AccountErrorCode
from accounts.wechat import issue_ticket
from core import ratelimit, wechat
from core.error_codes import CoreErrorCode
from core.wechat import WeChatError, oauth
from frontend.consumer.messages import error_messages
from frontend.pages import render_page

logger = logging.getLogger(__name__)

STATE_COOKIE = "wechat_signin"
_STATE_SALT = "frontend.consumer.wechat.state"
# Long enough for WeChat's round trip on a slow phone network, short enough that a
# stolen cookie is soon worthless; WeChat's own code lives 5 minutes.
STATE_SECONDS = 10 * 60
# WeChat accepts a state of [a-zA-Z0-9] up to 128 bytes: 32 hex digits, 128 bits.
STATE_BYTES = 16
# WeChat's answers about the code itself (the visitor may start again), as opposed to
# its being unreachable or refusing our credentials (the platform's problem).
CODE_ERRORS = frozenset({WeChatError.INVALID_CODE, WeChatError.CODE_USED, 42003})


def local_next(value: str) -> str:
    """``value`` if it is a path on this site, else the wallet: never another site.

    A path starts with one ``/`` (``//host`` and ``/\\host`` are other sites to a
    browser) and carries no scheme, host or control character; its fragment is
    dropped (the callback appends its own).
    """
    value = (value or "").split("#", 1)[0]
    parts = urlsplit(value)
    if (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
        and "\\" not in value
        and value.isprintable()
        and len(value) <= 1000
    ):
        return value
    return reverse("wallet")


def _callback_url(request: HttpRequest) -> str:
    # The address WeChat returns to must be on the web-authorisation domain registered
    # with our service account; the host the visitor used is the one its cookie is on.
    return request.build_absolute_uri(reverse("wechat-callback"))


@require_safe
def signin(request: HttpRequest) -> HttpResponse:
    """``/wechat/signin?next=``: off to WeChat's silent authorisation, state in a cookie."""
    next_path = local_next(request.GET.get("next", ""))
    if not wechat.enabled():
        # No service account configured: the page signs in by phone.
        return HttpResponseRedirect(next_path + "#phone")
    state = secrets.token_hex(STATE_BYTES)
    response = HttpResponseRedirect(oauth.authorize_url(_callback_url(request), state))
    response.set_signed_cookie(
        STATE_COOKIE,
        json.dumps({"s": state, "n": next_path}),
        salt=_STATE_SALT,
        max_age=STATE_SECONDS,
        path=reverse("wechat-callback"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


def _stored(request: HttpRequest) -> dict[str, str] | None:
    try:
        value = request.get_signed_cookie(STATE_COOKIE, salt=_STATE_SALT, max_age=STATE_SECONDS)
        stored = json.loads(value or "")
    except (KeyError, signing.BadSignature, ValueError):
        return None
    if not isinstance(stored, dict) or not all(isinstance(stored.get(k), str) for k in "sn"):
        return None
    return stored


def _error_page(
    request: HttpRequest, code: str, next_path: str, status: int, message: str = ""
) -> HttpResponse:
    """A tiny page in the visitor's language: what happened, start again, or use a phone."""
    start_again = f"{reverse('wechat-signin')}?next={quote(next_path)}"
    response = render_page(
        request,
        "consumer/wechat_error.html",
        lambda: {
            "error": error_messages()[message or code],
            "error_code": code,
            "start_again": start_again,
            "phone": next_path + "#phone",
        },
        status=status,
    )
    response.delete_cookie(STATE_COOKIE, path=reverse("wechat-callback"), samesite="Lax")
    return response


@require_safe
def callback(request: HttpRequest) -> HttpResponse:
    """``/wechat/callback?code&state``: WeChat's answer, checked, exchanged once, handed over."""
    stored = _stored(request)
    state = request.GET.get("state", "")
    if stored is None or not state or not constant_time_compare(state, stored["s"]):
        # Forged, replayed from another browser, or the cookie expired.
        next_path = local_next(stored["n"]) if stored else reverse("wallet")
        return _error_page(request, AccountErrorCode.WECHAT_STATE_INVALID, next_path, 400)
    next_path = local_next(stored["n"])
    code = request.GET.get("code", "")
    if not code or len(code) > 128:
        return _error_page(request, AccountErrorCode.WECHAT_CODE_INVALID, next_path, 400)
    ip = request.META.get("REMOTE_ADDR")
    try:
        if ip:
            ratelimit.check(
                f"wechat-callback:ip:{ip}", settings.WECHAT_SIGNINS_PER_IP_PER_HOUR, 3600
            )
        result = oauth.exchange_code(code)
    except ratelimit.RateLimited:
        return _error_page(request, CoreErrorCode.RATE_LIMITED, next_path, 429, "RATE_LIMITED_SOON")
    except ratelimit.RateLimiterUnavailable:
        return _error_page(request, CoreErrorCode.SERVICE_UNAVAILABLE, next_path, 503)
    except WeChatError as error:
        if error.errcode in CODE_ERRORS:
            return _error_page(request, AccountErrorCode.WECHAT_CODE_INVALID, next_path, 400)
        logger.warning("WeChat sign-in failed: %s", error)
        return _error_page(request, AccountErrorCode.WECHAT_UNAVAILABLE, next_path, 503)
    response = HttpResponseRedirect(f"{next_path}#wx={issue_ticket(result)}")
    # The state is single use: the cookie goes with the first answer.
    response.delete_cookie(STATE_COOKIE, path=reverse("wechat-callback"), samesite="Lax")
    return response
