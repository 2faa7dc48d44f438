"""Merchants' WeChat official accounts, authorised to our third-party platform.

The flow (docs/wechat.md, "Merchants' official accounts"):

1. WeChat pushes a ``component_verify_ticket`` every ten minutes to our message URL
   (``apply_push``); it is kept in the database (``ComponentVerifyTicket``), and the
   component access token is fetched with it, by one process at a time
   (``core.wechat.tokens``).
2. A merchant's admin asks for the authorisation page (``authorisation_url``): a fresh
   pre-auth code and a ``state`` signed for this merchant and this staff member.
3. WeChat sends the browser back to the console with ``auth_code``; the console hands it
   with the state to ``complete_authorisation``, which exchanges it (``api_query_auth``,
   single use), keeps the refresh token and reads the account's type and verification.
   WeChat also pushes ``authorized`` with the same code: whichever comes second finds
   the code used and the account already recorded.
4. From then on ``authorizer_call`` calls WeChat as the account, its access token
   refreshed from the refresh token by one process at a time, and once more on
   ``invalid credential``. ``unauthorized`` pushes end it.

OAuth on a merchant's behalf (``merchant_openid_url``, ``link_merchant_openid``) learns
a signed-in consumer's OpenID under the merchant's app, stored as
``accounts.WeChatIdentity(app_id=<the merchant's app id>)``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.models import User, WeChatIdentity
from core.errors import DomainError
from core.wechat import WeChatError, component_enabled, tokens
from core.wechat import component as wechat
from tenants.error_codes import OfficialAccountErrorCode as Code
from tenants.models import (
    ComponentVerifyTicket,
    Membership,
    Merchant,
    OfficialAccount,
    OfficialAccountStatus,
)

T = TypeVar("T")

STATE_SALT = "tenants.wechat.authorisation"
OPENID_STATE_SALT = "tenants.wechat.merchant-openid"
# The authorisation page's pre-auth code lasts 30 minutes; the state as long.
STATE_SECONDS = 1800
# WeChat's OAuth code lasts 5 minutes; the consumer's state a little longer.
OPENID_STATE_SECONDS = 600
# WeChat retries a push three times within about 15 s; a day covers any replay of note.
PUSH_SEEN_SECONDS = 24 * 3600


def _require_configured() -> None:
    if not component_enabled():
        raise DomainError(
            Code.OFFICIAL_ACCOUNT_PLATFORM_NOT_CONFIGURED,
            _("The platform's WeChat third-party platform is not configured."),
        )


def _unavailable(error: WeChatError) -> DomainError:
    if error.errcode == WeChatError.API_UNAUTHORIZED:
        return DomainError(
            Code.OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE,
            _(
                "WeChat refused (48001): only a verified service account may use this. "
                "A subscription account or an unverified account cannot."
            ),
        )
    return DomainError(
        Code.OFFICIAL_ACCOUNT_WECHAT_UNAVAILABLE,
        _("WeChat could not be reached or refused the call (%(code)s). Try again later.")
        % {"code": error.errcode},
    )


# --- The component access token ------------------------------------------------------


def record_ticket(ticket: str) -> None:
    ComponentVerifyTicket.objects.update_or_create(
        component_app_id=settings.WECHAT_COMPONENT_APP_ID,
        defaults={"ticket": ticket, "received_at": timezone.now()},
    )


def _fetch_component_token() -> tuple[str, int]:
    found = ComponentVerifyTicket.objects.filter(
        component_app_id=settings.WECHAT_COMPONENT_APP_ID
    ).first()
    return wechat.fetch_component_token(found.ticket if found else "")


def component_access_token() -> str:
    return tokens.get(wechat.COMPONENT_TOKEN, _fetch_component_token)


def component_call(request: Callable[[str], T]) -> T:
    """``request(component_access_token)``, refreshed once on ``invalid credential``."""
    return tokens.call(wechat.COMPONENT_TOKEN, _fetch_component_token, request)


# --- Authoriser tokens --------------------------------------------------------------


def _fetch_authorizer_token(app_id: str) -> Callable[[], tuple[str, int]]:
    def fetch() -> tuple[str, int]:
        account = OfficialAccount.objects.filter(
            app_id=app_id, status=OfficialAccountStatus.AUTHORIZED
        ).first()
        if account is None:
            raise WeChatError(61003, "component is not authorized by this account")
        refreshed = component_call(
            lambda token: wechat.refresh_authorizer_token(token, app_id, account.refresh_token)
        )
        if refreshed.refresh_token != account.refresh_token:
            OfficialAccount.objects.filter(pk=account.pk).update(
                refresh_token=refreshed.refresh_token
            )
        return refreshed.access_token, refreshed.expires_in

    return fetch


def authorizer_access_token(app_id: str) -> str:
    return tokens.get(wechat.authorizer_token_name(app_id), _fetch_authorizer_token(app_id))


def authorizer_call(app_id: str, request: Callable[[str], T]) -> T:
    """``request(authorizer_access_token)`` as the account, refreshed once on 40001/42001."""
    return tokens.call(
        wechat.authorizer_token_name(app_id), _fetch_authorizer_token(app_id), request
    )


def create_qrcode(merchant: Merchant, scene: str, expire_seconds: int = 2592000) -> str:
    """A temporary parametric QR code of the merchant's account (a verified service
    account only: WeChat's 48001 becomes ``OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE``)."""
    account = authorised_account(merchant)
    try:
        return authorizer_call(
            account.app_id, lambda token: wechat.create_qrcode(token, scene, expire_seconds)
        )
    except WeChatError as error:
        raise _unavailable(error) from error


def create_poster_qrcode(merchant: Merchant, scene: str) -> str:
    """A permanent parametric QR code of the merchant's account (for print)."""
    account = authorised_account(merchant)
    try:
        return authorizer_call(
            account.app_id, lambda token: wechat.create_poster_qrcode(token, scene)
        )
    except WeChatError as error:
        raise _unavailable(error) from error


# --- Authorisation -------------------------------------------------------------------


def account_of(merchant: Merchant) -> OfficialAccount | None:
    return OfficialAccount.objects.filter(merchant=merchant).first()


def authorised_account(merchant: Merchant) -> OfficialAccount:
    account = account_of(merchant)
    if account is None or not account.is_authorized:
        raise DomainError(
            Code.OFFICIAL_ACCOUNT_NOT_AUTHORIZED,
            _("No official account is authorised to the platform for this merchant."),
        )
    return account


def _pre_auth_key(pre_auth_code: str) -> str:
    return "wechat:pre-auth:" + hashlib.sha256(pre_auth_code.encode()).hexdigest()


def authorisation_url(membership: Membership) -> str:
    """WeChat's authorisation page for the merchant's official account.

    Its ``redirect_uri`` is the console's WeChat screen with a ``state`` signed for this
    merchant and staff member; the pre-auth code is remembered for the ``authorized``
    push, which names no merchant.
    """
    _require_configured()
    state = signing.dumps(
        {"m": membership.merchant_id, "u": membership.user_id, "n": secrets.token_hex(8)},
        salt=STATE_SALT,
        compress=True,
    )
    redirect_uri = settings.PUBLIC_BASE_URL + reverse("console-wechat") + "?state=" + state
    try:
        url, pre_auth_code = component_call(
            lambda token: wechat.login_page_url(token, redirect_uri)
        )
    except WeChatError as error:
        raise _unavailable(error) from error
    cache.set(_pre_auth_key(pre_auth_code), membership.merchant_id, STATE_SECONDS)
    return url


def complete_authorisation(membership: Membership, state: str, auth_code: str) -> OfficialAccount:
    """The console came back from WeChat's page: exchange ``auth_code`` and keep the account."""
    _require_configured()
    invalid = DomainError(
        Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID,
        _("This authorisation is not valid any more. Start again from this page."),
    )
    try:
        signed = signing.loads(state, salt=STATE_SALT, max_age=STATE_SECONDS)
    except signing.BadSignature as exc:
        raise invalid from exc
    if signed.get("m") != membership.merchant_id or signed.get("u") != membership.user_id:
        raise invalid
    # One completion per state: a replayed return from WeChat is refused here.
    if not cache.add(f"wechat:authorisation-state:{signed.get('n', '')}", 1, STATE_SECONDS):
        raise invalid
    # WeChat pushes ``authorized`` with the same single-use code, usually before the
    # browser is back: when that push was applied for this merchant, the account is in.
    pushed = _pushed_account(membership.merchant, auth_code)
    if pushed is not None:
        return pushed
    try:
        return _authorise(membership.merchant, auth_code, invalid)
    except DomainError as refusal:
        # The push was being applied while we asked: WeChat refused the used code.
        pushed = _pushed_account(membership.merchant, auth_code)
        if refusal is invalid and pushed is not None:
            return pushed
        raise


def _pushed_account(merchant: Merchant, auth_code: str) -> OfficialAccount | None:
    """The account a push recorded with ``auth_code`` for ``merchant`` (taken once)."""
    key = _auth_code_key(auth_code)
    if cache.get(key) != merchant.pk or not cache.delete(key):
        return None
    return account_of(merchant)


def _auth_code_key(auth_code: str) -> str:
    return "wechat:auth-code:" + hashlib.sha256(auth_code.encode()).hexdigest()


def _authorise(merchant: Merchant, auth_code: str, invalid: DomainError) -> OfficialAccount:
    try:
        authorised = component_call(lambda token: wechat.query_auth(token, auth_code))
    except WeChatError as error:
        if 61009 <= error.errcode <= 61010:  # code invalid, or used/expired
            raise invalid from error
        raise _unavailable(error) from error
    tokens.put(
        wechat.authorizer_token_name(authorised.authoriser),
        authorised.access_token,
        authorised.expires_in,
    )
    try:
        info = component_call(lambda token: wechat.authorizer_info(token, authorised.authoriser))
    except WeChatError as error:
        raise _unavailable(error) from error
    now = timezone.now()
    with transaction.atomic():
        # The account's administrator confirmed in WeChat: the latest authorisation wins,
        # from another merchant too (decision 0164).
        OfficialAccount.objects.filter(app_id=authorised.authoriser).exclude(
            merchant=merchant
        ).delete()
        account, _created = OfficialAccount.objects.update_or_create(
            merchant=merchant,
            defaults={
                "app_id": authorised.authoriser,
                "refresh_token": authorised.refresh_token,
                "status": OfficialAccountStatus.AUTHORIZED,
                "name": info.name[:100],
                "principal_name": info.principal_name[:200],
                "user_name": info.user_name[:64],
                "service_type": info.service_type,
                "verify_type": info.verify_type,
                "func_ids": list(info.func_ids or authorised.func_ids),
                "authorized_at": now,
                "updated_at": now,
                "unauthorized_at": None,
            },
        )
    return account


# --- Pushes ----------------------------------------------------------------------


def apply_push(fields: dict[str, str]) -> str:
    """Apply one decrypted push; returns what was done (for the log and the tests)."""
    kind = fields.get("InfoType", "").lower()
    if kind == "component_verify_ticket":
        record_ticket(fields["ComponentVerifyTicket"])
        return "ticket"
    app_id = fields.get("AuthorizerAppid", "")
    if kind == "unauthorized":
        OfficialAccount.objects.filter(app_id=app_id).update(
            status=OfficialAccountStatus.UNAUTHORIZED,
            unauthorized_at=timezone.now(),
            updated_at=timezone.now(),
        )
        tokens.forget(wechat.authorizer_token_name(app_id))
        return "unauthorized"
    if kind in ("authorized", "updateauthorized"):
        return _apply_authorised(app_id, fields)
    return "ignored"


def _apply_authorised(app_id: str, fields: dict[str, str]) -> str:
    merchant_id = cache.get(_pre_auth_key(fields.get("PreAuthCode", "")))
    existing = OfficialAccount.objects.filter(app_id=app_id).select_related("merchant").first()
    merchant = (
        Merchant.objects.filter(pk=merchant_id).first()
        if merchant_id is not None
        else (existing.merchant if existing is not None else None)
    )
    if merchant is None:
        return "unknown"
    invalid = DomainError(Code.OFFICIAL_ACCOUNT_AUTHORIZATION_INVALID, "code used")
    code = fields.get("AuthorizationCode", "")
    try:
        _authorise(merchant, code, invalid)
        cache.set(_auth_code_key(code), merchant.pk, STATE_SECONDS)
    except DomainError:
        # The console already exchanged the code (it is single-use): the account it
        # recorded stands. Anything else is WeChat's to retry.
        if not OfficialAccount.objects.filter(app_id=app_id, merchant=merchant).exists():
            raise
    return "authorized"


def seen_push(body: bytes) -> bool:
    """Whether these exact bytes were pushed before (WeChat retries: apply once)."""
    return not cache.add("wechat:push:" + hashlib.sha256(body).hexdigest(), 1, PUSH_SEEN_SECONDS)


def forget_push(body: bytes) -> None:
    """A push that failed: WeChat's retry must be applied, not skipped."""
    cache.delete("wechat:push:" + hashlib.sha256(body).hexdigest())


# --- A consumer's OpenID under a merchant's app ------------------------------------


def merchant_openid_url(user: User, merchant: Merchant, next_path: str = "/") -> str:
    """WeChat's silent OAuth under the merchant's app, for the signed-in ``user``.

    The ``state`` is signed, names the consumer and the app, and carries a nonce kept
    server-side for one use: the page WeChat returns to hands code and state to
    ``link_merchant_openid`` with the consumer's own bearer token, which must match.
    """
    _require_configured()
    account = authorised_account(merchant)
    nonce = secrets.token_urlsafe(12)
    # Only a path on this site: "//host" and "/\\host" are other sites to a browser.
    if not next_path.startswith("/") or not url_has_allowed_host_and_scheme(
        next_path, allowed_hosts=set()
    ):
        next_path = "/"
    state = signing.dumps(
        {"u": user.pk, "a": account.app_id, "n": nonce, "x": next_path[:200]},
        salt=OPENID_STATE_SALT,
        compress=True,
    )
    cache.set(f"wechat:openid-state:{nonce}", user.pk, OPENID_STATE_SECONDS)
    redirect_uri = settings.PUBLIC_BASE_URL + reverse("wechat-merchant-openid")
    return wechat.oauth_url(account.app_id, redirect_uri, state)


def link_merchant_openid(user: User, state: str, code: str) -> tuple[WeChatIdentity, str]:
    """Exchange WeChat's code once and keep the consumer's OpenID under the merchant's app.

    Returns the identity and the path to go back to. Refused: a state not ours, expired,
    used, or another consumer's; a code WeChat refuses (used, expired).
    """
    _require_configured()
    invalid = DomainError(
        Code.OFFICIAL_ACCOUNT_OAUTH_INVALID,
        _("This WeChat sign-in link is not valid any more. Go back and try again."),
    )
    try:
        signed: dict[str, Any] = signing.loads(
            state, salt=OPENID_STATE_SALT, max_age=OPENID_STATE_SECONDS
        )
    except signing.BadSignature as exc:
        raise invalid from exc
    if signed.get("u") != user.pk:
        raise invalid
    # One use: the nonce is taken before WeChat is asked.
    if not cache.delete(f"wechat:openid-state:{signed.get('n', '')}"):
        raise invalid
    app_id = str(signed.get("a", ""))
    try:
        openid = component_call(lambda token: wechat.oauth_openid(token, app_id, code))
    except WeChatError as error:
        if error.errcode in (WeChatError.CODE_USED, WeChatError.INVALID_CODE):
            raise invalid from error
        raise _unavailable(error) from error
    try:
        with transaction.atomic():
            identity, _created = WeChatIdentity.objects.get_or_create(
                user=user, app_id=app_id, defaults={"openid": openid}
            )
    except IntegrityError as exc:
        # This OpenID is another consumer's already (binding accounts is its own flow).
        raise invalid from exc
    if identity.openid != openid:
        raise invalid
    return identity, str(signed.get("x") or "/")
