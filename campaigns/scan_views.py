"""The phone page a QR code opens: ``GET /s/<code>``.

The page itself touches no database: the code is checked for shape and check
character here (``campaigns.codes.parse``), and everything else is fetched by the
page's script from the consumer API, using only the operations kept in
``graphql/operations/consumer/`` (embedded in the page as JSON, so the script and
the tests send the very same documents). A malformed code still gets a page, with
HTTP 404, a friendly message and a box to type the code.

Language: ``?lang=`` (``zh-hans`` or ``en``), else the ``django_language`` cookie,
else ``Accept-Language``, else ``LANGUAGE_CODE`` (zh-hans). Source strings are in
English and marked for translation, so the page works without compiled catalogues.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from campaigns.codes import CodeError, normalize, parse, pretty

OPERATIONS_DIR = settings.BASE_DIR / "graphql" / "operations" / "consumer"
# The operations the page's script may send, by name.
PAGE_OPERATIONS = (
    "ScanPreview",
    "Me",
    "RequestSignInCode",
    "SignInWithCode",
    "RefreshToken",
    "ClaimCode",
    "SignOut",
)


@lru_cache(maxsize=1)
def page_operations() -> dict[str, str]:
    """The operation documents, read once per process from graphql/operations/consumer/."""
    return {name: (OPERATIONS_DIR / f"{name}.graphql").read_text() for name in PAGE_OPERATIONS}


def error_messages() -> dict[str, str]:
    """A human message for every code the page can meet, in the page's language.

    The API's own messages are in the server's language; these follow the page's.
    ``RATE_LIMITED`` takes the seconds to wait from the API's message.
    """
    claim_codes = {
        "MALFORMED_CODE": _("This is not a valid code. Check it and try again."),
        "INVALID_CHECK_CHARACTER": _("This code has a typo. Check each character and try again."),
        "UNKNOWN_CODE": _("We do not know this code. Check it and try again."),
        "ALREADY_CLAIMED": _("This code has already been used."),
        "CODE_VOIDED": _("This code is no longer valid."),
        "CAMPAIGN_NOT_ACTIVE": _("This campaign is not running right now."),
        "CAMPAIGN_ENDED": _("This campaign has ended."),
        "MERCHANT_SUSPENDED": _("This merchant cannot award points at the moment."),
        "MERCHANT_NOT_ACTIVE": _("This merchant cannot award points yet."),
        "CAMPAIGN_LIMIT_REACHED": _("You have collected all the points this campaign offers you."),
        "DAILY_LIMIT_REACHED": _("You have reached today's limit for this campaign."),
        "RATE_LIMITED": _("Too many attempts. Try again in %(seconds)s seconds."),
        "RATE_LIMITED_SOON": _("Too many attempts. Try again in a few minutes."),
        "INVALID_IDEMPOTENCY_KEY": _("Something went wrong on this page. Reload it and retry."),
        "IDEMPOTENCY_CONFLICT": _("Something went wrong on this page. Reload it and retry."),
    }
    sign_in_codes = {
        "UNAUTHENTICATED": _("Please sign in again."),
        "PERMISSION_DENIED": _("Sign in with a phone number to collect points."),
        "TOKEN_INVALID": _("Please sign in again."),
        "TOKEN_EXPIRED": _("Please sign in again."),
        "SESSION_REVOKED": _("You were signed out. Please sign in again."),
        "ACCOUNT_DISABLED": _("This account is disabled."),
        "INVALID_PHONE": _("Enter a valid mobile number."),
        "OTP_INVALID": _("That code is not right. Check the text message and try again."),
        "OTP_EXPIRED": _("That code has expired. Ask for a new one."),
        "OTP_TOO_MANY_ATTEMPTS": _("Too many wrong codes. Ask for a new one."),
    }
    other = {
        "SERVICE_UNAVAILABLE": _("The service is briefly unavailable. Please retry."),
        "NETWORK": _("No connection. Check your network and retry."),
        "UNEXPECTED": _("Something went wrong. Please retry."),
    }
    return {**claim_codes, **sign_in_codes, **other}


def page_texts() -> dict[str, str]:
    """Sentences the script fills in (``%(name)s`` placeholders)."""
    return {
        "status_CLAIMABLE": _("Collect these points with your phone number."),
        "status_ALREADY_CLAIMED": _("This code has already been used."),
        "status_NOT_ACTIVE": _("This campaign is not running right now."),
        "status_ENDED": _("This campaign has ended."),
        "status_VOIDED": _("This code is no longer valid."),
        "status_UNKNOWN": _("We do not know this code. Check it and try again."),
        "points": _("%(points)s points"),
        "claim": _("Collect %(points)s points"),
        "claiming": _("Collecting…"),
        "sending": _("Sending…"),
        "signing_in": _("Signing in…"),
        "code_sent": _("We sent a 6-digit code to %(phone)s. It is valid for %(minutes)s minutes."),
        "resend_in": _("Send a new code (%(seconds)ss)"),
        "resend": _("Send a new code"),
        "signed_in_as": _("Signed in as %(phone)s"),
        "earned": _("You earned %(points)s points"),
        "earned_from": _("From %(merchant)s · %(campaign)s"),
        "balance": _("Your wallet: %(balance)s points"),
        "enter_phone": _("Enter your mobile number."),
        "enter_otp": _("Enter the 6-digit code from the text message."),
        "loading": _("Loading…"),
        "unknown_title": _("Unknown code"),
    }


def _language(request: HttpRequest) -> str:
    requested = request.GET.get("lang", "").lower()
    if requested in dict(settings.LANGUAGES):
        return requested
    return translation.get_language_from_request(request)


@require_safe
def scan_page(request: HttpRequest, code: str) -> HttpResponse:
    language = _language(request)
    typed = request.GET.get("code")
    if typed is not None:
        # The "type your code" form: go to the page of what was typed (no JS needed).
        cleaned = "".join(c for c in normalize(typed) if c.isascii() and c.isalnum())[:64]
        target = reverse("scan", kwargs={"code": cleaned or "-"})
        query = {"lang": request.GET["lang"]} if "lang" in request.GET else {}
        return HttpResponseRedirect(f"{target}?{urlencode(query)}" if query else target)
    with translation.override(language):
        context: dict[str, object] = {"language": language, "languages": settings.LANGUAGES}
        try:
            parsed = parse(code)
        except CodeError as exc:
            context.update(error=exc.message, error_code=exc.code, typed=code[:64])
            status = 404
        else:
            context.update(
                code=parsed.code,
                pretty=pretty(parsed.code),
                config={"code": parsed.code, "api": reverse("consumer-api")},
                operations=page_operations(),
                error_messages=error_messages(),
                texts=page_texts(),
            )
            status = 200
        response = render(request, "campaigns/scan.html", context, status=status)
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response
