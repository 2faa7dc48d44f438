"""API keys: a merchant's scoped, revocable credentials for server-to-server calls.

A key is ``lk_live_<8 characters>_<secret>``. The first 16 characters (the prefix)
find the row by a unique index; the whole key is compared by its SHA-256 digest,
in constant time. Keys authenticate only the merchant API, and only for their own
merchant.

What a key may do is decided in two steps:

1. **Scopes, per root field** (``ROOT_FIELD_SCOPES``): every query and mutation of
   the merchant API is either mapped to the scope it needs, open to any key
   (``ANY_KEY``), or absent, which means keys may never call it (staff, keys, the
   audit log, sign-in). A test fails when a field of the schema has no decision.
   ``node(id)`` answers only objects whose model a granted scope covers
   (``MODEL_SCOPES``).
2. **A role ceiling** (``KEY_ROLE``, admin): inside a field the usual role checks
   run against it, so a key never does what only owners may do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.error_codes import ApiKeyErrorCode, MerchantErrorCode
from tenants.models import ApiKey, ApiScope, Membership, Role

KEY_PREFIX = "lk_live_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
KEY_ROLE = Role.ADMIN
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3 * 365
# A key's last_used_at is written at most this often, so that a busy ERP does not
# turn its key row into a hot row.
TOUCH_INTERVAL = timedelta(minutes=1)
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits

ANY_KEY = "any"

# Every root field of the merchant API: the scope it needs, or ANY_KEY. Fields not
# listed are refused to keys. Reading with a write scope is allowed (IMPLIED).
ROOT_FIELD_SCOPES: dict[str, str] = {
    # Who and where.
    "me": ANY_KEY,
    "merchant": ANY_KEY,
    "myRole": ANY_KEY,
    "node": ANY_KEY,  # narrowed by MODEL_SCOPES
    # Campaigns, batches, questionnaires.
    "campaigns": ApiScope.CAMPAIGNS_READ,
    "scanFailures": ApiScope.CAMPAIGNS_READ,
    "dashboard": ApiScope.CAMPAIGNS_READ,
    "questionnaires": ApiScope.CAMPAIGNS_READ,
    "createScanCampaign": ApiScope.CAMPAIGNS_WRITE,
    "updateCampaign": ApiScope.CAMPAIGNS_WRITE,
    "activateCampaign": ApiScope.CAMPAIGNS_WRITE,
    "pauseCampaign": ApiScope.CAMPAIGNS_WRITE,
    "endCampaign": ApiScope.CAMPAIGNS_WRITE,
    "createQuestionnaire": ApiScope.CAMPAIGNS_WRITE,
    "editQuestions": ApiScope.CAMPAIGNS_WRITE,
    "createCodeBatch": ApiScope.BATCHES_WRITE,
    "voidCodeBatch": ApiScope.BATCHES_WRITE,
    # Codes a packaging printer made: its files come from the merchant's systems.
    "codeImports": ApiScope.CAMPAIGNS_READ,
    "createCodeImport": ApiScope.BATCHES_WRITE,
    # The label sheet's first page with sample codes: no real code in it.
    "labelPreview": ApiScope.CAMPAIGNS_READ,
    # The logo printed on labels (owners and admins; a key's role ceiling is admin).
    "merchantLogoUpload": ApiScope.CAMPAIGNS_WRITE,
    "merchantLogoRemove": ApiScope.CAMPAIGNS_WRITE,
    # Scans and suspicious codes (issue 20): a code's history names no consumer.
    "suspiciousCodes": ApiScope.CAMPAIGNS_READ,
    "codeScans": ApiScope.CAMPAIGNS_READ,
    "scansPerDay": ApiScope.CAMPAIGNS_READ,
    # Follow campaigns (issue 21); authorising the account stays a person's act (below).
    "followCampaigns": ApiScope.CAMPAIGNS_READ,
    "createFollowCampaign": ApiScope.CAMPAIGNS_WRITE,
    "makeFollowPoster": ApiScope.CAMPAIGNS_WRITE,
    # Prize tables (issue 23): their terms are a campaign's, as its points are.
    "prizeTable": ApiScope.CAMPAIGNS_READ,
    "setPrizeTable": ApiScope.CAMPAIGNS_WRITE,
    "clearPrizeTable": ApiScope.CAMPAIGNS_WRITE,
    # Exports: a file of codes is as sensitive as reading them, so asking for one and
    # downloading it are both exports:read.
    "batchExports": ApiScope.EXPORTS_READ,
    "requestBatchExport": ApiScope.EXPORTS_READ,
    "requestQuestionnaireExport": ApiScope.EXPORTS_READ,
    # Ledger, and the figures finance and growth read from it.
    "budget": ApiScope.LEDGER_READ,
    "ledger": ApiScope.LEDGER_READ,
    "ledgerMovements": ApiScope.LEDGER_READ,
    "ledgerCsv": ApiScope.LEDGER_READ,
    "pointsLiability": ApiScope.LEDGER_READ,
    "analytics": ApiScope.LEDGER_READ,
    # The same figures as a file (a signed link): what reads them may download them.
    "analyticsCsv": ApiScope.LEDGER_READ,
    # Rebuilding the merchant's own figures changes nothing but when they were counted.
    "refreshAnalytics": ApiScope.LEDGER_READ,
    # Mall.
    "mallCategories": ApiScope.MALL_READ,
    "suppliedProducts": ApiScope.MALL_READ,
    "supplierOrders": ApiScope.MALL_READ,
    "settlement": ApiScope.MALL_READ,
    "consignProduct": ApiScope.MALL_WRITE,
    "shipOrder": ApiScope.MALL_WRITE,
    "refundOrder": ApiScope.MALL_WRITE,
    # The earning API (earning/): a merchant's own systems awarding points.
    "awardPoints": ApiScope.EARNING_WRITE,
    "recordPurchase": ApiScope.EARNING_WRITE,
    "reverseAward": ApiScope.EARNING_WRITE,
    "earningRule": ApiScope.EARNING_WRITE,
    # Dealers and diversion (issue 22): a dealer ERP keeps its dealers and assigns goods.
    "dealers": ApiScope.CAMPAIGNS_READ,
    "dealerAssignments": ApiScope.CAMPAIGNS_READ,
    "diversionEvents": ApiScope.CAMPAIGNS_READ,
    "diversionTotals": ApiScope.CAMPAIGNS_READ,
    "scanStats": ApiScope.CAMPAIGNS_READ,
    "scanStatsCsv": ApiScope.CAMPAIGNS_READ,
    "campaignDiversionAction": ApiScope.CAMPAIGNS_READ,
    "createDealer": ApiScope.CAMPAIGNS_WRITE,
    "updateDealer": ApiScope.CAMPAIGNS_WRITE,
    "deleteDealer": ApiScope.CAMPAIGNS_WRITE,
    "assignToDealer": ApiScope.BATCHES_WRITE,
    "unassignFromDealer": ApiScope.BATCHES_WRITE,
    "setCampaignDiversionAction": ApiScope.CAMPAIGNS_WRITE,
}
# Deliberately refused to keys: people, keys and the log are managed by people.
KEY_FORBIDDEN_FIELDS = frozenset(
    {
        "staff",
        "staffInvite",
        "staffChangeRole",
        "staffRemove",
        "acceptInvitation",
        "merchantSignUp",  # an applicant is a person, and a key already has its merchant
        "signIn",
        "refreshToken",
        "signOut",
        "apiKeys",
        "apiKeyCreate",
        "apiKeyRevoke",
        "auditLog",
        # Webhook endpoints carry signing secrets and receive consumers' addresses:
        # set up by a person in the console, not by another server's key.
        "webhookEndpoints",
        "webhookDeliveries",
        "webhookEndpointCreate",
        "webhookEndpointUpdate",
        "webhookEndpointDelete",
        "webhookRedeliver",
        # A top-up request names the person who asked, for the operators to call back.
        "requestTopUp",
        # The WeChat official account is authorised by its administrator scanning WeChat's
        # page in a browser: a person's act, and its account facts are the console's.
        "officialAccount",
        "officialAccountPlatformEnabled",
        "officialAccountAuthorizeStart",
        "officialAccountAuthorizeComplete",
        # How purchases earn and what bonuses cost is a decision about the merchant's
        # money: made by an admin in the console, not by the server that sends awards.
        "setEarningRule",
    }
)

IMPLIED: dict[str, set[str]] = {
    ApiScope.CAMPAIGNS_WRITE: {ApiScope.CAMPAIGNS_READ},
    ApiScope.MALL_WRITE: {ApiScope.MALL_READ},
}


def model_scopes() -> dict[type, str]:
    """The scope ``node(id)`` needs per model (imported late: campaigns imports tenants)."""
    from campaigns.models import BatchExport, Campaign, CodeBatch, Questionnaire
    from points.models import Entry
    from redemption.models import Order, Product

    return {
        Campaign: ApiScope.CAMPAIGNS_READ,
        CodeBatch: ApiScope.CAMPAIGNS_READ,
        Questionnaire: ApiScope.CAMPAIGNS_READ,
        BatchExport: ApiScope.EXPORTS_READ,
        Entry: ApiScope.LEDGER_READ,
        Product: ApiScope.MALL_READ,
        Order: ApiScope.MALL_READ,
    }


class ApiKeyError(DomainError):
    pass


def granted(key: ApiKey) -> set[str]:
    """The key's scopes with the ones they imply."""
    scopes = set(key.scopes)
    for scope in key.scopes:
        scopes |= IMPLIED.get(scope, set())
    return scopes


def check_field(key: ApiKey, field_name: str) -> None:
    """Refuse a root field the key may not use (``PERMISSION_DENIED`` / ``SCOPE_MISSING``)."""
    scope = ROOT_FIELD_SCOPES.get(field_name)
    if scope is None:
        raise ApiKeyError(
            CoreErrorCode.PERMISSION_DENIED, _("API keys cannot use %(f)s.") % {"f": field_name}
        )
    if scope != ANY_KEY and scope not in granted(key):
        raise ApiKeyError(
            ApiKeyErrorCode.SCOPE_MISSING,
            _("This API key lacks the %(scope)s scope.") % {"scope": scope},
        )


def may_see(key: ApiKey, obj: object) -> bool:
    """Whether ``node(id)`` may answer ``obj`` to this key."""
    scope = model_scopes().get(type(obj))
    return scope is not None and scope in granted(key)


def key_membership(key: ApiKey) -> Membership:
    """The membership a key acts with: its merchant, no user, the key role ceiling.

    Never saved; services that record who acted get ``user = None`` (the audit log
    names the key).
    """
    return Membership(merchant=key.merchant, user=None, role=KEY_ROLE)


# --- Managing keys --------------------------------------------------------------------


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_scopes(scopes: list[str]) -> list[str]:
    if not scopes:
        raise ApiKeyError(ApiKeyErrorCode.INVALID_SCOPE, _("Choose at least one scope."), "scopes")
    unknown = [scope for scope in scopes if scope not in ApiScope.values]
    if unknown:
        raise ApiKeyError(
            ApiKeyErrorCode.INVALID_SCOPE,
            _("Unknown scope: %(s)s.") % {"s": ", ".join(unknown)},
            "scopes",
        )
    return sorted(set(scopes))


def create(
    actor: Membership, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for the actor's merchant (admins and owners): the row and the full key.

    The full key exists only in the return value; the database keeps its digest.
    """
    if not actor.has_role(Role.ADMIN):
        raise ApiKeyError(
            CoreErrorCode.PERMISSION_DENIED, _("Only admins and owners manage API keys.")
        )
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ApiKeyError(
            MerchantErrorCode.INVALID_NAME, _("A name of 1 to 100 characters is required."), "name"
        )
    scopes = _check_scopes(scopes)
    now = timezone.now()
    if expires_at is not None and not (now < expires_at <= now + timedelta(MAX_EXPIRY_DAYS)):
        raise ApiKeyError(
            MerchantErrorCode.INVALID_EXPIRY,
            _("The expiry must be in the next three years."),
            "expiresAt",
        )
    for _attempt in range(5):  # 36^8 prefixes: a collision is rare, and retried
        prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _i in range(8))
        full = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    merchant_id=actor.merchant_id,
                    name=name,
                    prefix=prefix,
                    key_hash=_digest(full),
                    scopes=scopes,
                    created_by=actor.user,
                    created_at=now,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
        return key, full
    raise ApiKeyError(
        CoreErrorCode.SERVICE_UNAVAILABLE, _("Could not make a key; retry.")
    )  # pragma: no cover


def revoke(actor: Membership, key: ApiKey) -> ApiKey:
    """Revoke a key of the actor's merchant at once (idempotent: revoking twice is fine)."""
    if not actor.has_role(Role.ADMIN):
        raise ApiKeyError(
            CoreErrorCode.PERMISSION_DENIED, _("Only admins and owners manage API keys.")
        )
    if key.merchant_id != actor.merchant_id:  # callers look keys up per merchant already
        raise ApiKeyError(CoreErrorCode.NOT_FOUND, _("No such API key."), "id")
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
    return key


# --- Authenticating ---------------------------------------------------------------------


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def authenticate(token: str) -> ApiKey:
    """The live key ``token`` is, with its merchant; otherwise an ``AuthError`` (HTTP 401)."""
    key = (
        ApiKey.objects.select_related("merchant").filter(prefix=token[:PREFIX_LENGTH]).first()
        if len(token) > PREFIX_LENGTH
        else None
    )
    if key is None or not hmac.compare_digest(key.key_hash, _digest(token)):
        raise AuthError(AccountErrorCode.TOKEN_INVALID, _("This API key is not valid."))
    if key.revoked_at is not None:
        raise AuthError(ApiKeyErrorCode.API_KEY_REVOKED, _("This API key was revoked."))
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise AuthError(ApiKeyErrorCode.API_KEY_EXPIRED, _("This API key has expired."))
    touch(key)
    return key


def touch(key: ApiKey) -> None:
    """Record use, at most once per ``TOUCH_INTERVAL`` (a conditional update, no lock)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_INTERVAL:
        return
    ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - TOUCH_INTERVAL).update(
        last_used_at=now
    )
    key.last_used_at = now
