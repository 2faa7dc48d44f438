"""The consumer mobile web: server-rendered shells whose scripts talk to ``/graphql/``.

Each view renders a small page in the visitor's language (``frontend.pages``) and
embeds, as JSON, what its script needs: the operation documents it may send (from
``graphql/operations/consumer/``), the one error-message mapping
(``frontend.consumer.messages``), the page's translated sentences and a little
config. The views touch the database only where a wrong address must be a 404 before
any script runs (a questionnaire link); everything else is the script's work, so a
page costs no query and can be cached by the browser's HTTP cache for its static parts.

Pages that need a signed-in consumer show the shared sign-in card (``_signin.html``,
``signin.js``) in place until the visitor signs in: no redirect, the page carries on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_safe
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id

from accounts.models import Consent
from accounts.policies import CURRENT_VERSIONS
from campaigns.error_codes import CampaignErrorCode
from campaigns.follow import services as follow
from campaigns.models import Campaign, CampaignKind, ScanSource
from campaigns.preview import PREVIEW_LINK
from campaigns.prizes.services import chances
from campaigns.questionnaires.links import in_merchant_schema, questionnaire_link
from campaigns.scan import events, routing
from campaigns.scan.codes import CodeError, normalize, pretty
from campaigns.scan.preview import Preview, campaign_offer
from campaigns.scan.verification import verify_code
from core import regions, wechat
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from frontend.consumer.messages import error_messages
from frontend.pages import compressed, operations, render_page
from tenants.models import Merchant

# Every page that may sign a consumer in (or keep a session alive) sends these.
SESSION_OPERATIONS = (
    "Me",
    "RequestSignInCode",
    "SignInWithCode",
    "SignInWithWeChat",
    "RefreshToken",
    "SignOut",
)

SCAN_OPERATIONS = (
    "ScanPreview",
    "ClaimCode",
    "ClaimPrizeCode",
    "WeChatJsConfig",
    *SESSION_OPERATIONS,
)
BIND_OPERATIONS = ("BindPhone", "BindWeChat", "ConfirmAccountMerge")
QUESTIONNAIRE_OPERATIONS = ("Questionnaire", "SubmitResponse", *SESSION_OPERATIONS)
WALLET_OPERATIONS = ("Wallet", *BIND_OPERATIONS, *SESSION_OPERATIONS)
CAMERA_OPERATIONS: tuple[str, ...] = ()
MALL_OPERATIONS = ("Categories", "Products", *SESSION_OPERATIONS)
EARN_OPERATIONS = ("WaysToEarn", *SESSION_OPERATIONS)
PRODUCT_OPERATIONS = ("Product", *SESSION_OPERATIONS)
REDEEM_OPERATIONS = (
    "Product",
    "Wallet",
    "Addresses",
    "SaveAddress",
    "Redeem",
    *BIND_OPERATIONS,
    *SESSION_OPERATIONS,
)
ORDERS_OPERATIONS = ("Orders", "CancelOrder", *SESSION_OPERATIONS)
ADDRESSES_OPERATIONS = ("Addresses", "SaveAddress", "DeleteAddress", *SESSION_OPERATIONS)


def common_texts() -> dict[str, str]:
    """Sentences every page's script may need (sign-in card, lists, numbers)."""
    return {
        "points": _("%(points)s points"),
        "loading": _("Loading…"),
        "sending": _("Sending…"),
        "signing_in": _("Signing in…"),
        "saving": _("Saving…"),
        "code_sent": _("We sent a 6-digit code to %(phone)s. It is valid for %(minutes)s minutes."),
        "resend_in": _("Send a new code (%(seconds)ss)"),
        "resend": _("Send a new code"),
        "signed_in_as": _("Signed in as %(phone)s"),
        "enter_phone": _("Enter your mobile number."),
        "enter_otp": _("Enter the 6-digit code from the text message."),
        "more": _("Show more"),
        "retry": _("Try again"),
        "signed_in_wechat": _("Signed in with WeChat"),
        "agree": _("Agree and continue"),
    }


def binding_texts() -> dict[str, str]:
    """The bindings card (bind.js): phone and WeChat, and a merge to confirm."""
    return {
        "bound_phone": _("Phone %(phone)s"),
        "bound_wechat": _("WeChat bound"),
        "bound": _("Bound. It is one account now."),
        "wechat_account": _("a WeChat account"),
        "merge_required": _(
            "%(account)s is another account, with %(points)s points and %(orders)s orders. "
            "Merge the two into one account and one wallet? No points are lost."
        ),
        # Which account goes on (the older one, decision 0171): said before the tap.
        "merge_keeps_this": _("You stay in this account; the other one is closed."),
        "merge_keeps_other": _("You go on in the other, older account; this one is closed."),
        "merging": _("Merging…"),
    }


def binding_config() -> dict[str, str]:
    """Where "Bind WeChat" goes: the WeChat sign-in view (it returns with ``#wx=``)."""
    return {"wechat_signin": reverse("wechat-signin")}


def wechat_config() -> dict[str, Any]:
    """What a page that signs in by itself inside WeChat needs (``signin.js``).

    Only the scan, questionnaire and wallet pages go to WeChat unasked: they are
    what a scan opens; the others show the sign-in card, which offers it.
    """
    return {"wechatSignin": reverse("wechat-signin")} if wechat.enabled() else {}


def consumer_page(
    request: HttpRequest,
    template: str,
    script: str,
    names: Iterable[str],
    texts: Any = None,
    *,
    config: dict[str, Any] | None = None,
    extra: Any = None,
    status: int = 200,
) -> HttpResponse:
    """Render one consumer page with its embedded operations, messages, texts and config.

    ``texts`` and ``extra`` are functions: ``render_page`` calls the context inside the
    page's language, so the sentences come out translated.
    """
    names = tuple(names)

    def context() -> dict[str, Any]:
        values: dict[str, Any] = dict(extra() if callable(extra) else (extra or {}))
        values.update(
            script=script,
            page_config={"api": reverse("consumer-api"), **(config or {})},
            page_operations=operations("consumer", names),
            page_messages=error_messages(),
            page_texts={**common_texts(), **(texts() if texts else {})},
        )
        return values

    return render_page(request, template, context, status=status)


def _typed_code_redirect(request: HttpRequest) -> HttpResponse:
    """The "type your code" form (works without JavaScript): go to that code's page."""
    typed = request.GET.get("code", "")
    cleaned = "".join(c for c in normalize(typed) if c.isascii() and c.isalnum())[:64]
    target = reverse("scan", kwargs={"code": cleaned or "-"})
    query = {"lang": request.GET["lang"]} if "lang" in request.GET else {}
    return HttpResponseRedirect(f"{target}?{urlencode(query)}" if query else target)


# --- Scanning -----------------------------------------------------------------------


def scan_texts() -> dict[str, str]:
    return {
        "status_CLAIMABLE": _("Collect these points with your phone number."),
        "status_ALREADY_CLAIMED": _("This code has already been used."),
        "status_NOT_ACTIVE": _("This campaign is not running right now."),
        "status_ENDED": _("This campaign has ended."),
        "status_VOIDED": _("This code is no longer valid."),
        "status_UNKNOWN": _("We do not know this code. Check it and try again."),
        "claim": _("Collect %(points)s points"),
        "agree_and_claim": _("Agree and collect"),
        "share_with_merchant": _(
            "Collecting also shares your masked phone number and your activity with %(merchant)s."
        ),
        "claiming": _("Collecting…"),
        "earned": _("You earned %(points)s points"),
        "earned_from": _("From %(merchant)s · %(campaign)s"),
        "balance": _("Your wallet: %(balance)s points"),
        "unknown_title": _("Unknown code"),
        "hidden_title": _("Check the hidden code"),
        **prize_texts(),
        # The first-scan guarantee (decision 0280), in a scan's words.
        "prize_guaranteed": _("Your first scan in this campaign always wins a prize."),
        "prize_guarantee": _("Your first scan in this campaign wins at least “%(tier)s”."),
    }


def prize_texts() -> dict[str, str]:
    """A prize draw's texts (static/consumer/prize-display.js), on the scan and the
    questionnaire pages; each page adds the first-draw guarantee's two in its own words
    (``prize_guarantee`` before, ``prize_guaranteed`` after): a questionnaire has no scan."""
    return {
        "draw": _("Draw for a prize"),
        "prize_up_to": _("Prizes up to %(points)s points"),
        "prize_odds": _("%(name)s · %(points)s points · %(chance)s"),
        "prize_won": _("You won %(tier)s: %(points)s points"),
        "prize_none": _("No prize this time. Thank you for taking part!"),
        "prize_fallback": _("The prize you drew had run out: you get the next one left."),
        "prize_log": _("Draw no. %(seq)s in the public log (%(hash)s…)"),
    }


@require_safe
def scan_page(request: HttpRequest, code: str) -> HttpResponse:
    """``/s/<code>``: what a printed QR code opens. No query: the script asks the API."""
    if "code" in request.GET:
        return _typed_code_redirect(request)
    try:
        code = routing.checked(code)  # ours, or of an imported code's shape
    except CodeError as exc:
        error_code = exc.code
        # A friendly 404 with a box to type the code; the message follows the page.
        return render_page(
            request,
            "consumer/scan_invalid.html",
            lambda: {
                "error": error_messages()[error_code],
                "error_code": error_code,
                "typed": code[:64],
            },
            status=404,
        )
    # Every opening of a printed code's page is a scan (link previews are told apart).
    # Ours name their merchant (no query); an imported code costs its routing lookup.
    try:
        routed = routing.route(code)
    except CodeError:
        routed = None  # not a code of anyone's: the page says so when its script asks
    needs_hidden = routed is not None and routed.needs_hidden_code
    if routed is not None:
        events.record(
            routed.merchant_id,
            routed.code,
            ScanSource.PAGE,
            "opened",
            events.Scanner.from_request(request),
        )
    return consumer_page(
        request,
        "consumer/scan.html",
        "consumer/scan.js",
        SCAN_OPERATIONS,
        scan_texts,
        # The JS-SDK, loaded only inside WeChat (wx.js).
        config={
            "code": code,
            "jweixin": static("consumer/vendor/jweixin.js"),
            # An imported code whose claim needs the label's hidden code (decision 0314):
            # the routing row just read says so; the page asks for it before anything else.
            **({"hidden": True} if needs_hidden else {}),
            **wechat_config(),
        },
        extra={"code": code, "pretty": routing.printable(code), "hidden": needs_hidden},
    )


# GET: the answer; POST: the answer with the hidden code typed from under the label's
# scratch-off (a form, so the secret stays out of URLs and access logs).
@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request: HttpRequest, code: str) -> HttpResponse:
    """``/v/<code>``: the anti-counterfeit answer (防伪查询), rendered on the server: no
    script and one request on a weak network. Never names who scanned the code before."""
    scanner = events.Scanner.from_request(request)
    typed = request.POST.get("hidden_code", "")[:32] if request.method == "POST" else None
    try:
        answer = verify_code(code, scanner, typed)
    except DomainError as exc:
        failure = exc
        asks = failure.code in HIDDEN_CODE_ANSWERS
        if failure.code == CoreErrorCode.RATE_LIMITED:
            status = 429
        elif asks:
            status = HIDDEN_CODE_ANSWERS[failure.code]
        else:
            status = 404
        return render_page(
            request,
            "consumer/verify.html",
            lambda: {
                "error": error_messages().get(failure.code, str(failure)),
                "typed": code[:64],
                "pretty": code[:64],
                # The form again after a wrong code, and while the limit holds (its
                # message says how long): the buyer keeps the page.
                "ask_hidden": asks or typed is not None,
            },
            status=status,
        )
    return render_page(
        request,
        "consumer/verify.html",
        lambda: {
            "answer": answer,
            "pretty": pretty(answer.code) if answer.code else code[:64],
            "warning": answer.warning.label if answer.warning else "",
        },
    )


HIDDEN_CODE_ANSWERS: dict[str, int] = {
    CampaignErrorCode.HIDDEN_CODE_REQUIRED: 200,  # a question, not a failure
    CampaignErrorCode.HIDDEN_CODE_WRONG: 403,
}


@require_safe
def camera_page(request: HttpRequest) -> HttpResponse:
    """``/scan``: scan a QR code with the phone's camera, or type the code."""
    if "code" in request.GET:
        return _typed_code_redirect(request)

    def texts() -> dict[str, str]:
        return {
            "starting": _("Starting the camera…"),
            "scanning": _("Point the camera at the QR code."),
            "found": _("Code found. Opening…"),
            "not_ours": _("This QR code is not one of ours. Try another, or type the code."),
            "denied": _(
                "The camera is blocked. Allow it in the browser's settings, or type the code."
            ),
            "no_camera": _("No camera found. Type the code instead."),
            "insecure": _(
                "The camera works only on a secure (https) connection. Type the code instead."
            ),
            "failed": _("The camera could not start. Type the code instead."),
        }

    return consumer_page(
        request,
        "consumer/camera.html",
        "consumer/camera.js",
        CAMERA_OPERATIONS,
        texts,
        config={"reader": static("consumer/vendor/jsQR.js"), "scanPrefix": "/s/"},
    )


# --- Questionnaires -----------------------------------------------------------------


def questionnaire_texts() -> dict[str, str]:
    return {
        "earn": _("Earn %(points)s points"),
        "state_NOT_ACTIVE": _("This questionnaire is not open right now."),
        "state_ENDED": _("This questionnaire has ended."),
        "state_BUDGET_EXHAUSTED": _("All rewards of this questionnaire have been given out."),
        "state_ALREADY_RESPONDED": _("You have already answered this questionnaire. Thank you!"),
        "submit": _("Submit and earn %(points)s points"),
        "submitting": _("Submitting…"),
        "earned": _("Thank you! You earned %(points)s points"),
        "balance": _("Your wallet: %(balance)s points"),
        "fix_errors": _("Please check the answers marked below."),
        "required": _("Required"),
        "optional": _("Optional"),
        "choose_up_to": _("Choose up to %(n)s"),
        "choose_at_least": _("Choose at least %(n)s"),
        "range": _("From %(min)s to %(max)s"),
        "at_most_chars": _("At most %(n)s characters"),
        "at_least_chars": _("At least %(n)s characters"),
        "rating_low": _("1 = poor, 5 = excellent"),
        "nps_low": _("0 = not at all likely, 10 = extremely likely"),
        "not_found": _("This questionnaire does not exist."),
        **prize_texts(),
        # The guarantee is a consumer's first draw in the campaign: here, their first answer.
        "prize_guaranteed": _("Your first answer to this questionnaire always wins a prize."),
        "prize_guarantee": _("Your first answer to this questionnaire wins at least “%(tier)s”."),
    }


@require_safe
def questionnaire_page(request: HttpRequest, link: str) -> HttpResponse:
    """``/q/<link>``: a questionnaire's share link and poster QR code open this."""
    try:
        with in_merchant_schema(link, CampaignKind.QUESTIONNAIRE) as (merchant, campaign_id):
            key = Campaign.objects.values_list("link_key", flat=True).get(pk=campaign_id)
    except DomainError:
        return render_page(request, "consumer/questionnaire_missing.html", status=404)
    return consumer_page(
        request,
        "consumer/questionnaire.html",
        "consumer/questionnaire.js",
        QUESTIONNAIRE_OPERATIONS,
        questionnaire_texts,
        # The page asks by the key even when opened by an old numeric link.
        config={"link": questionnaire_link(merchant.pk, key), **wechat_config()},
    )


# --- Wallet (the home page) -----------------------------------------------------------


@require_safe
def wallet_page(request: HttpRequest) -> HttpResponse:
    """``/``: balance, points expiring soon and the history, newest first."""

    def texts() -> dict[str, str]:
        return {
            "expiring": _("%(points)s points expire within 30 days, the first on %(date)s."),
            "no_expiry": _("No points expire in the next 30 days."),
            "empty": _("No points yet. Scan a code on a product to collect some."),
            "kind_AWARD": _("Earned"),
            "kind_REDEEM": _("Redeemed"),
            "kind_EXPIRE": _("Expired"),
            "kind_REVERSAL": _("Returned"),
            "kind_RELEASE": _("Returned"),
            "kind_TRANSFER": _("Transfer"),
            "signed_out": _("You are signed out."),
            "kind_MERGE": _("From your other account"),
            # Points a merchant's own systems awarded (a purchase, a bonus): earned too.
            "kind_MERCHANT_AWARD": _("Earned"),
            **binding_texts(),
        }

    return consumer_page(
        request,
        "consumer/wallet.html",
        "consumer/wallet.js",
        WALLET_OPERATIONS,
        texts,
        config={**binding_config(), **wechat_config()},
    )


# --- Ways to earn ---------------------------------------------------------------------


def earn_texts() -> dict[str, str]:
    return {
        "empty": _("No campaigns right now. Scan the codes on products to earn points."),
        "points_vary": _("Points vary"),
        "known": _("You have earned here before"),
        "kind_scan": _("Scan a code"),
        "kind_questionnaire": _("Questionnaire"),
        "kind_follow": _("Follow"),
        "kind_prize": _("Prize draw"),
        "kind_other": _("Campaign"),
    }


@require_safe
def earn_page(request: HttpRequest) -> HttpResponse:
    """``/earn`` ("赚积分"): where points can be earned now (public)."""
    return consumer_page(
        request, "consumer/earn.html", "consumer/earn.js", EARN_OPERATIONS, earn_texts
    )


# --- The mall -------------------------------------------------------------------------


def mall_texts() -> dict[str, str]:
    return {
        "all": _("All"),
        "empty": _("No products found."),
        "sold_out": _("Sold out"),
        "coming": _("Available from %(date)s"),
        "left": _("%(n)s left"),
        "by": _("From %(supplier)s"),
        "platform": _("From the platform"),
        "results": _("%(n)s products shown"),
        "coupon": _("E-coupon: the code appears in your orders at once."),
        "physical": _("Shipped to your address."),
        "limit": _("At most %(n)s per person."),
        "until": _("Available until %(date)s"),
        "redeem": _("Redeem"),
        "not_found": _("This product is no longer in the mall."),
    }


@require_safe
def mall_page(request: HttpRequest) -> HttpResponse:
    """``/mall``: categories, search and products (public; signing in is for redeeming)."""
    return consumer_page(
        request, "consumer/mall.html", "consumer/mall.js", MALL_OPERATIONS, mall_texts
    )


@require_safe
def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/mall/<pk>``: one product. The ID is built here so the script needs no parsing."""
    return consumer_page(
        request,
        "consumer/product.html",
        "consumer/product.js",
        PRODUCT_OPERATIONS,
        mall_texts,
        config={"product": to_global_id("Product", pk), "redeem": reverse("redeem", args=[pk])},
    )


@require_safe
def redeem_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/mall/<pk>/redeem``: quantity, delivery address (or a new one) and confirm."""

    def texts() -> dict[str, str]:
        return {
            **mall_texts(),
            **address_texts(),
            **binding_texts(),
            "total": _("Total: %(points)s points"),
            "have": _("You have %(points)s points."),
            "short": _("You need %(points)s more points."),
            "confirm": _("Redeem for %(points)s points"),
            "redeeming": _("Redeeming…"),
            "done": _("Done! Your order is placed."),
            "balance": _("Points left: %(balance)s"),
            "coupon_codes": _("Your coupon codes:"),
            "choose_address": _("Choose a delivery address."),
        }

    return consumer_page(
        request,
        "consumer/redeem.html",
        "consumer/redeem.js",
        REDEEM_OPERATIONS,
        texts,
        config={
            "product": to_global_id("Product", pk),
            "orders": reverse("orders"),
            **binding_config(),
        },
    )


# --- Orders and addresses -----------------------------------------------------------------


@require_safe
def orders_page(request: HttpRequest) -> HttpResponse:
    """``/orders``: the consumer's orders, newest first, with cancel before shipping."""

    def texts() -> dict[str, str]:
        return {
            "status_PLACED": _("Placed"),
            "status_SHIPPED": _("Shipped"),
            "status_DELIVERED": _("Delivered"),
            "status_COMPLETED": _("Completed"),
            "status_CANCELLED": _("Cancelled"),
            "status_REFUNDED": _("Refunded"),
            "placed_at": _("Ordered %(date)s"),
            "quantity": _("%(n)s × %(points)s points"),  # noqa: RUF001 (a times sign)
            "tracking": _("%(carrier)s, tracking number %(number)s"),
            "coupon_codes": _("Coupon codes:"),
            "ship_to": _("Ship to: %(address)s"),
            "cancel": _("Cancel order"),
            "cancel_confirm": _("Cancel this order? Your points will be returned."),
            "cancelled": _("Order cancelled. Your wallet: %(balance)s points"),
            "empty": _("No orders yet."),
        }

    return consumer_page(
        request, "consumer/orders.html", "consumer/orders.js", ORDERS_OPERATIONS, texts
    )


def address_texts() -> dict[str, str]:
    return {
        "default": _("Default"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "delete_confirm": _("Delete this address?"),
        "deleted": _("Address deleted."),
        "saved": _("Address saved."),
        "add": _("Add an address"),
        "edit_title": _("Edit the address"),
        "empty_addresses": _("No addresses yet."),
        "fill_in": _("Fill in this field."),
    }


REGIONS_MAX_AGE = 7 * 24 * 3600  # the divisions change with a dataset release, rarely


@require_safe
@cache_control(public=True, max_age=REGIONS_MAX_AGE)
def regions_json(request: HttpRequest, code: str = "") -> HttpResponse:
    """The address picker's data, a little at a time (decision 0240).

    ``/regions/``: the provinces, ``[[code, name], …]`` (about 1 KB). ``/regions/<code>``
    of a province: its cities with their districts, ``[[code, name, [[code, name], …]],
    …]`` (2 to 4 KB, gzipped under 2 KB): one request per province chosen, cached a week.
    """
    if not code:
        return compressed(
            request, JsonResponse([[p.code, p.name] for p in regions.provinces()], safe=False)
        )
    province = regions.division(code)
    if province is None or province.level is not regions.Level.PROVINCE:
        raise Http404
    cities = regions.children(code)
    # A municipality's districts may hang straight off the province in the data: then
    # the province stands for its own single city.
    if cities and all(c.level is regions.Level.DISTRICT for c in cities):
        tree = [[province.code, province.name, [[d.code, d.name] for d in cities]]]
    else:
        tree = [
            [c.code, c.name, [[d.code, d.name] for d in regions.children(c.code)]] for c in cities
        ]
    return compressed(request, JsonResponse(tree, safe=False))


@require_safe
def addresses_page(request: HttpRequest) -> HttpResponse:
    """``/addresses``: the address book (add, edit, make default, delete)."""
    return consumer_page(
        request,
        "consumer/addresses.html",
        "consumer/addresses.js",
        ADDRESSES_OPERATIONS,
        address_texts,
    )


# --- WeChat: the consumer's OpenID under a merchant's official account -------------

MERCHANT_OPENID_OPERATIONS = ("MerchantOpenidLinkComplete", *SESSION_OPERATIONS)
FOLLOW_OPERATIONS = (
    "FollowCode",
    "ClaimFollowReward",
    "MerchantOpenidLinkStart",
    *SESSION_OPERATIONS,
)


@require_safe
def merchant_openid_page(request: HttpRequest) -> HttpResponse:
    """Where WeChat's OAuth on a merchant's behalf comes back (``?code=&state=``).

    The page finishes through the consumer API with the consumer's own bearer token
    (``merchantOpenidLinkComplete``): the signed state names the consumer who started,
    and only that consumer's browser can finish, so a link sent to someone else cannot
    attach their WeChat to the sender's account.
    """

    def texts() -> dict[str, str]:
        return {
            "linking": _("Connecting your WeChat…"),
            "linked": _("Done. Taking you back…"),
        }

    return consumer_page(
        request,
        "consumer/merchant_openid.html",
        "consumer/merchant_openid.js",
        MERCHANT_OPENID_OPERATIONS,
        texts,
        config={
            "code": request.GET.get("code", "")[:200],
            "state": request.GET.get("state", "")[:1000],
        },
    )


# --- Our documents ------------------------------------------------------------------------


def _document_page(request: HttpRequest, document: str) -> HttpResponse:
    """A document consumers agree to, with the version their consent records."""
    return render_page(
        request,
        f"consumer/{document}.html",
        lambda: {"version": CURRENT_VERSIONS[document]},
    )


@require_safe
def terms_page(request: HttpRequest) -> HttpResponse:
    """``/terms``: the user agreement (用户协议)."""
    return _document_page(request, Consent.Document.TERMS)


@require_safe
def privacy_page(request: HttpRequest) -> HttpResponse:
    """``/privacy``: the privacy policy (隐私政策)."""
    return _document_page(request, Consent.Document.PRIVACY)


# --- Personal data (PIPL) ---------------------------------------------------------------

MY_DATA_OPERATIONS = (
    "MerchantConsents",
    "WithdrawMerchantConsent",
    "PersonalData",
    "RequestPersonalDataCode",
    "RequestDataCopy",
    "RequestAccountDeletion",
    "CancelAccountDeletion",
    *SESSION_OPERATIONS,
)


@require_safe
def my_data_page(request: HttpRequest) -> HttpResponse:
    """``/my-data``: the merchants the consumer shares their data with (withdrawable), a
    copy of their data, deleting the account (both after a fresh one-time code)."""

    def texts() -> dict[str, str]:
        return {
            "withdraw": _("Stop sharing"),
            "since": _("Since %(date)s"),
            "withdraw_confirm": _("Stop sharing your data with %(merchant)s?"),
            "withdrawn": _("Stopped. This merchant no longer sees your data."),
            "no_consents": _("You share your data with no merchant."),
            "code_sent": _("A code was sent to your phone."),
            "copy_PENDING": _("Your copy is being prepared…"),
            "copy_READY": _("Your copy is ready. The link works for ten minutes."),
            "copy_EXPIRED": _("Your last copy was deleted after a day. Ask for a new one."),
            "deletion_confirm": _(
                "Delete your account? After 15 days your phone, WeChat and addresses are "
                "erased and your points are forfeited. Signing in again before then cancels."
            ),
            "deletion_pending": _(
                "Your account will be deleted on %(date)s. Sign in or tap below to keep it."
            ),
            "deletion_requested": _("Deletion requested. You are signed out."),
            "deletion_cancelled": _("Your account is kept."),
        }

    return consumer_page(
        request, "consumer/my_data.html", "consumer/my_data.js", MY_DATA_OPERATIONS, texts
    )


# --- Follow campaigns (docs/follow.md) -----------------------------------------------


def follow_texts() -> dict[str, str]:
    return {
        "points_for_follow": _("Follow %(account)s and collect %(points)s points"),
        "long_press": _("Long-press the code and choose 识别图中二维码, then follow."),
        "waiting": _("The points arrive as soon as WeChat tells us you followed."),
        "collected": _("%(points)s points collected. Your balance: %(balance)s."),
        "connecting": _("Connecting your WeChat…"),
    }


@require_safe
def follow_page(request: HttpRequest, link: str) -> HttpResponse:
    """``/follow/<link>``: "关注领积分", then a code to long-press in WeChat."""
    return _follow_campaign_page(request, link, preview=False)


def _follow_campaign_page(request: HttpRequest, link: str, *, preview: bool) -> HttpResponse:
    """The follow campaign's page; a preview's button does nothing (decision 0324) and
    it needs no WeChat JS-SDK."""
    found = follow.public_view(link)
    if found is None:
        return render_page(request, "consumer/questionnaire_missing.html", status=404)
    return consumer_page(
        request,
        "consumer/follow.html",
        "consumer/follow.js",
        FOLLOW_OPERATIONS,
        follow_texts,
        config={
            "mode": "follow",
            "link": link,
            "merchant": found.merchant_slug,
            "account": found.account_name,
            "points": found.points,
            **({"preview": True} if preview else wechat_config()),
        },
        extra={"view": found, "preview": preview},
    )


# --- The console's preview of a campaign's page ------------------------------------------


def _offer_json(offer: Preview) -> dict[str, Any]:
    """A scan campaign's offer in the shape the scan page's script reads from the API's
    ``scanPreview`` (the tiers' chance: each weight over the total)."""
    tiers = None
    if offer.prize_tiers is not None:
        tiers = [
            {"name": name, "points": points, "chance": chance, "cap": cap}
            for name, points, chance, cap in chances(offer.prize_tiers)
        ]
    return {
        "code": None,
        "status": offer.status.value,
        "merchantName": offer.merchant_name,
        "campaignName": offer.campaign_name,
        "campaignDescription": offer.campaign_description,
        "points": offer.points,
        "prizeTiers": tiers,
        "prizeGuarantee": offer.prize_guarantee,
    }


def _campaign_preview(request: HttpRequest, merchant_id: int, campaign_id: int) -> HttpResponse:
    """``/preview/<token>``: a campaign's consumer page for the merchant who asked the
    console for it (decision 0324). Records nothing; the page's script sends nothing
    that counts (``config.preview``)."""
    merchant = Merchant.find(merchant_id)
    campaign = None
    if merchant is not None:
        with tenant_context(merchant):
            campaign = Campaign.objects.filter(pk=campaign_id).first()
            if campaign is not None and campaign.kind == CampaignKind.SCAN:
                offer = _offer_json(campaign_offer(merchant, campaign))
    if merchant is None or campaign is None:
        return render_page(request, "consumer/questionnaire_missing.html", status=404)
    link = questionnaire_link(merchant.pk, campaign.link_key)
    if campaign.kind == CampaignKind.SCAN:
        response = consumer_page(
            request,
            "consumer/scan.html",
            "consumer/scan.js",
            SCAN_OPERATIONS,
            scan_texts,
            config={"code": "", "preview": True, "offer": offer},
            extra={"code": "", "preview": True},
        )
    elif campaign.kind == CampaignKind.QUESTIONNAIRE:
        response = consumer_page(
            request,
            "consumer/questionnaire.html",
            "consumer/questionnaire.js",
            QUESTIONNAIRE_OPERATIONS,
            questionnaire_texts,
            config={"link": link, "preview": True},
            extra={"preview": True},
        )
    else:
        response = _follow_campaign_page(request, link, preview=True)
    # The link is the authorisation for a few minutes: no cache keeps its page.
    response["Cache-Control"] = "private, no-store"
    return response


campaign_preview_page = PREVIEW_LINK.view(_campaign_preview)


@require_safe
def follow_reply_page(request: HttpRequest, token: str) -> HttpResponse:
    """``/f/<token>``: the official account's reply link to a follower we did not know:
    sign in (inside WeChat, silently), learn their OpenID under the merchant's app, pay."""
    try:
        merchant, _app_id = follow.link_merchant(token)
    except DomainError:
        return render_page(request, "consumer/questionnaire_missing.html", status=404)
    return consumer_page(
        request,
        "consumer/follow.html",
        "consumer/follow.js",
        FOLLOW_OPERATIONS,
        follow_texts,
        config={"mode": "reply", "token": token, "merchant": merchant.slug, **wechat_config()},
        extra={"view": None, "merchant_name": merchant.name},
    )
