"""Consent to share a consumer's data with a merchant: asked, checked, withdrawn.

A claim's and a questionnaire submit's own SQL function checks it (``participate``,
decision 0333): it is given ``required()``, the version asked, reads the live row in the
statement it runs anyway, and answers 'consent' before writing anything when there is
none. A submit is most consumers' only one with a questionnaire, so a cache of the
answer missed every time; in the statement, a withdrawal refuses the very next call.

Other checks (``ensure``: a claim sent with a location, before its guards; a submit
refused against a cached version) keep the answer in the cache (Redis) per (version,
consumer, merchant) for ``CACHE_SECONDS``; a consent given or withdrawn deletes the
entry when its transaction commits. The version is in the key: raising
``MERCHANT_CONSENT_VERSION`` asks every consumer again, with nothing to flush. What
merchants see (exports, responses) is read from the rows, never from the cache, so a
withdrawal hides the consumer at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Exists, Expression, ExpressionWrapper, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import redislink
from core.error_codes import CoreErrorCode
from privacy.error_codes import PrivacyErrorCode
from privacy.errors import PrivacyError
from privacy.models import MerchantConsent
from tenants.models import Merchant

# Bumped together with the consent text of the consumer pages (frontend/consumer, the
# "share with the merchant" box); every consumer is then asked again on their next
# participation with each merchant.
MERCHANT_CONSENT_VERSION = "2026-12-06"
CACHE_SECONDS = 600


def _key(consumer_id: int, merchant_id: int) -> str:
    return f"privacy:mc:{MERCHANT_CONSENT_VERSION}:{consumer_id}:{merchant_id}"


def _forget(consumer_id: int, merchant_id: int) -> None:
    key = _key(consumer_id, merchant_id)
    transaction.on_commit(lambda: cache.delete(key))


def _live(consumer_id: int, merchant_id: int) -> bool:
    return MerchantConsent.objects.filter(
        user_id=consumer_id,
        merchant_id=merchant_id,
        version=MERCHANT_CONSENT_VERSION,
        withdrawn_at__isnull=True,
    ).exists()


def _cached(key: str) -> int | None:
    """The cached answer: through the thread's lean Redis link (one GET; Django's cache
    stores an int as its digits; a located claim asks it before its guards), else
    through the Django cache."""
    link = redislink.link()
    if link is None:
        value: int | None = cache.get(key)
        return value
    raw = link.command("GET", link.make_key(key))
    return None if raw is None else int(raw)


def has_consented(consumer_id: int, merchant_id: int) -> bool:
    """Whether the consumer shares their data with the merchant (current version)."""
    key = _key(consumer_id, merchant_id)
    found = _cached(key)
    if found is not None:
        return bool(found)
    live = _live(consumer_id, merchant_id)
    cache.set(key, int(live), CACHE_SECONDS)
    return live


def give(
    consumer: User,
    merchant_id: int,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
) -> MerchantConsent | None:
    """Record the consumer's agreement to the current version (a live row of an older
    version is closed first). None if the merchant does not exist."""
    now = timezone.now()
    try:
        with transaction.atomic():
            MerchantConsent.objects.filter(
                user=consumer, merchant_id=merchant_id, withdrawn_at__isnull=True
            ).exclude(version=MERCHANT_CONSENT_VERSION).update(withdrawn_at=now)
            consent = MerchantConsent.objects.create(
                user=consumer,
                merchant_id=merchant_id,
                version=MERCHANT_CONSENT_VERSION,
                given_at=now,
                channel=channel,
                ip=ip or None,
                user_agent=user_agent[:200],
            )
            _forget(consumer.pk, merchant_id)
            return consent
    except IntegrityError:
        # Given a moment ago (two taps, two tabs) or a merchant that is not there.
        return (
            MerchantConsent.objects.filter(
                user=consumer, merchant_id=merchant_id, withdrawn_at__isnull=True
            )
            .order_by("-given_at")
            .first()
        )


def ensure(
    consumer: User,
    merchant_id: int,
    given: bool,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
) -> None:
    """Before the consumer takes part in a campaign of the merchant: their consent is on
    record, or is given by this very call (``given``), or MERCHANT_CONSENT_REQUIRED."""
    if not settings.MERCHANT_CONSENT_REQUIRED or has_consented(consumer.pk, merchant_id):
        return
    _missing(consumer, merchant_id, given, channel, ip, user_agent)


def _missing(
    consumer: User,
    merchant_id: int,
    given: bool,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
) -> None:
    """No live consent is on record: given by this very call (``given``), or
    MERCHANT_CONSENT_REQUIRED."""
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        return  # no such merchant: the campaign's own answer (unknown code) follows
    if given:
        give(consumer, merchant_id, channel, ip, user_agent)
        return
    raise PrivacyError(
        PrivacyErrorCode.MERCHANT_CONSENT_REQUIRED,
        _(
            "To take part, agree to share your masked phone number and your activity "
            "with %(merchant)s."
        )
        % {"merchant": merchant.name},
        "shareWithMerchant",
    )


class ConsentMissing(Exception):
    """A participation's SQL function found no live consent and wrote nothing."""


def required() -> str | None:
    """The version a participation's SQL function requires the consumer's live consent
    of (its ``p_consent``), None when consent is not asked."""
    return MERCHANT_CONSENT_VERSION if settings.MERCHANT_CONSENT_REQUIRED else None


Result = TypeVar("Result")


def participate(
    consumer: User,
    merchant_id: int,
    given: bool,
    channel: str,
    attempt: Callable[[], Result],
    ip: str | None = None,
) -> Result:
    """Take part through a SQL function that checks the consent itself (given
    ``required()``): ``attempt`` calls it and raises ``ConsentMissing`` when it answers
    'consent'. Then the consent is recorded if this very request gives it (``given``) and
    the function called once more, or MERCHANT_CONSENT_REQUIRED, as ``ensure`` refuses."""
    try:
        return attempt()
    except ConsentMissing:
        _missing(consumer, merchant_id, given, channel, ip)
    try:
        return attempt()
    except ConsentMissing:
        # Withdrawn again between the consent and the call (another tab): asked again.
        _missing(consumer, merchant_id, False, channel, ip)
        raise  # the function found a merchant that Merchant.find does not: never


def withdraw(consumer: User, merchant_id: int) -> int:
    """Withdraw the consumer's consent for the merchant; the number of rows closed."""
    with transaction.atomic():
        closed = MerchantConsent.objects.filter(
            user=consumer, merchant_id=merchant_id, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
        _forget(consumer.pk, merchant_id)
    if not closed:
        raise PrivacyError(
            PrivacyErrorCode.MERCHANT_CONSENT_NOT_GIVEN,
            _("You do not share your data with this merchant."),
            "merchantId",
        )
    return closed


def withdraw_by_id(consumer: User, consent_id: int) -> int:
    """Withdraw the consent ``consent_id`` of the consumer (the account screen's button)."""
    found = (
        MerchantConsent.objects.filter(pk=consent_id, user=consumer)
        .values_list("merchant_id", flat=True)
        .first()
    )
    if found is None:
        raise PrivacyError(CoreErrorCode.NOT_FOUND, _("No such object."), "id")
    return withdraw(consumer, found)


def withheld_from(merchant_id: int, consumer_ids: Iterable[int]) -> set[int]:
    """Of ``consumer_ids``, those whose identity the merchant may no longer see: they
    withdrew their consent and have not given it again (decision 0184)."""
    ids = list(set(consumer_ids))
    if not ids:
        return set()
    consents = MerchantConsent.objects.filter(merchant_id=merchant_id, user_id__in=ids)
    withdrawn = set(consents.filter(withdrawn_at__isnull=False).values_list("user_id", flat=True))
    live = set(consents.filter(withdrawn_at__isnull=True).values_list("user_id", flat=True))
    return withdrawn - live


def live_consents(consumer: User) -> list[MerchantConsent]:
    return list(
        MerchantConsent.objects.filter(user=consumer, withdrawn_at__isnull=True)
        .select_related("merchant")
        .order_by("-given_at")
    )


def identity_withheld(merchant_id: int, consumer_field: str = "consumer_id") -> Expression:
    """An annotation for a merchant's rows (responses): whether the row's consumer withdrew
    their consent to share with the merchant and has not given it again (then shown
    without identity). The consent table is public, so the subqueries work from any
    merchant's schema: one query for a whole list or export."""
    consents = MerchantConsent.objects.filter(
        merchant_id=merchant_id, user_id=OuterRef(consumer_field)
    )
    withdrawn = Exists(consents.filter(withdrawn_at__isnull=False))
    live = Exists(consents.filter(withdrawn_at__isnull=True))
    return ExpressionWrapper(Q(withdrawn) & ~Q(live), output_field=BooleanField())


def move_on_merge(merged_id: int, survivor_id: int) -> None:
    """``accounts.merge`` step: the merged account's live consents go to the survivor,
    for merchants the survivor has none with (the merge proved both are one person)."""
    already = MerchantConsent.objects.filter(
        user_id=survivor_id, withdrawn_at__isnull=True
    ).values_list("merchant_id", flat=True)
    moving = MerchantConsent.objects.filter(user_id=merged_id, withdrawn_at__isnull=True).exclude(
        merchant_id__in=list(already)
    )
    for merchant_id in moving.values_list("merchant_id", flat=True):
        _forget(survivor_id, merchant_id)
    moving.update(user_id=survivor_id)
