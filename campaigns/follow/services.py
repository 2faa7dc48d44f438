"""Follow campaigns: points for following the merchant's WeChat official account.

Funding is a questionnaire's (``campaigns.reserves``): activation reserves
``cap x points`` over the reserve buckets, a reward takes ``points`` from one bucket,
the campaign closes itself when every bucket is empty and ending it returns the rest.
Only a merchant whose authorised account is a verified service account may run one:
parametric QR codes need it (WeChat's 48001 otherwise).

The consumer's way (docs/follow.md): our page asks for a code (``follow_code``): a
temporary ``QR_STR_SCENE`` code whose scene names this consumer's ``FollowCode`` row;
they long-press it and follow. WeChat pushes ``subscribe`` with ``EventKey
qrscene_<scene>`` to the account's message URL (``views``), which answers at once and
leaves the crediting to Celery (``tasks.credit_follow`` → ``credit``). A follower is
known by their OpenID under the merchant's app: a ``Follow`` row exists at most once
per campaign and OpenID, so unfollowing and following again pays nothing, and WeChat's
retries of one event pay once (decision 0191).

A print poster carries a permanent ``QR_LIMIT_STR_SCENE`` code naming the campaign
(``poster_code``). Someone we have never seen who follows from it gets a passive reply
with a sign-in link (``reply_link``); the link (``claim_from_link``) pays once they are
signed in and we have learnt their OpenID under the merchant's app (decision 0192).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, WeChatIdentity
from campaigns import reserves
from campaigns.error_codes import CampaignErrorCode, FollowErrorCode
from campaigns.models import (
    Campaign,
    CampaignError,
    CampaignKind,
    CampaignStatus,
    Follow,
    FollowCampaign,
    FollowCode,
    FollowSource,
)
from campaigns.questionnaires.links import in_merchant_schema
from core.db import connection
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from core.wechat import component as wechat
from points import ledger
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.ledger import Posting
from points.models import Account, Transaction, TransactionKind
from tenants import wechat as official_accounts
from tenants.error_codes import OfficialAccountErrorCode
from tenants.models import Merchant, OfficialAccount
from webhooks import events, payloads
from webhooks.models import EventType

MAX_POINTS_PER_FOLLOW = 1_000_000
MAX_CAP = 10_000_000
# A consumer's code lives 30 minutes: long enough to long-press it, short enough that a
# screenshot passed around stops working the same day. One with less than 5 minutes
# left is not handed out again.
CODE_SECONDS = 30 * 60
CODE_REUSE_MARGIN = timedelta(minutes=5)
# The passive reply's sign-in link: a day, as the chat it sits in is read later.
LINK_SALT = "campaigns.follow.reply-link"
LINK_SECONDS = 24 * 3600
CODE_SCENE = "c"
POSTER_SCENE = "p"


# --- Building and funding ----------------------------------------------------------


def service_account(merchant: Merchant) -> OfficialAccount:
    """The merchant's authorised account, if it may use parametric QR codes."""
    account = official_accounts.authorised_account(merchant)
    if not account.can_use_service_apis:
        raise CampaignError(
            OfficialAccountErrorCode.OFFICIAL_ACCOUNT_NOT_VERIFIED_SERVICE,
            _(
                "Follow campaigns need a verified service account (已认证服务号). "
                "A subscription account or an unverified account cannot make "
                "parametric QR codes."
            ),
        )
    return account


def _check_funding(points: Any, cap: Any) -> None:
    if (
        isinstance(points, bool)
        or not isinstance(points, int)
        or not 1 <= points <= MAX_POINTS_PER_FOLLOW
    ):
        raise CampaignError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("Points per follow must be 1 to 1,000,000."),
            "pointsPerFollow",
        )
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
        raise CampaignError(
            CampaignErrorCode.INVALID_LIMIT,
            _("The cap must be 1 to 10,000,000 follows."),
            "maxRewardedFollows",
        )


def create_follow_campaign(
    merchant: Merchant,
    *,
    name: str,
    points_per_follow: int,
    max_rewarded_follows: int,
    description: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    created_by: User | None = None,
) -> Campaign:
    Campaign.validate_details(name, starts_at, ends_at, {})
    _check_funding(points_per_follow, max_rewarded_follows)
    service_account(merchant)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=CampaignKind.FOLLOW,
            name=name.strip(),
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
        )
        FollowCampaign.objects.create(
            campaign=campaign,
            points_per_follow=points_per_follow,
            max_rewarded_follows=max_rewarded_follows,
        )
    return campaign


def reserve(merchant: Merchant, campaign: Campaign) -> None:
    """Reserve cap x points on first activation (INSUFFICIENT_BUDGET otherwise); the
    account must still be a verified service account."""
    service_account(merchant)
    follow = FollowCampaign.objects.select_for_update().get(campaign=campaign)
    reserves.reserve_once(
        merchant,
        campaign,
        follow,
        cap=follow.max_rewarded_follows,
        points=follow.points_per_follow,
        key_prefix="follow",
    )


def release(merchant: Merchant, campaign: Campaign) -> int:
    """Return what is left of the reserve (the campaign ended)."""
    follow = FollowCampaign.objects.select_for_update().get(campaign=campaign)
    return reserves.release_once(
        merchant, campaign, follow, cap=follow.max_rewarded_follows, key_prefix="follow"
    )


# --- The consumer's code and the poster ------------------------------------------------


def _campaign(campaign_id: int) -> tuple[Campaign, FollowCampaign]:
    campaign = (
        Campaign.objects.filter(pk=campaign_id, kind=CampaignKind.FOLLOW)
        .select_related("follow")
        .first()
    )
    if campaign is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such follow campaign."), "campaignId")
    return campaign, campaign.follow


def _exhausted() -> CampaignError:
    return CampaignError(
        FollowErrorCode.FOLLOW_BUDGET_EXHAUSTED,
        _("All rewards of this campaign have been given out."),
    )


def _ensure_open(campaign: Campaign, follow: FollowCampaign) -> None:
    if follow.exhausted_at is not None:
        raise _exhausted()
    campaign.ensure_claimable()


def merchant_openid(consumer: User, app_id: str) -> str | None:
    return (
        WeChatIdentity.objects.filter(user=consumer, app_id=app_id)
        .values_list("openid", flat=True)
        .first()
    )


def follow_code(merchant: Merchant, consumer: User, campaign_id: int) -> FollowCode:
    """A QR code for ``consumer`` to long-press and follow the merchant's account.

    Refused: the campaign not running or used up; MERCHANT_OPENID_REQUIRED when we do
    not know the consumer's OpenID under the merchant's app (the page then runs the
    silent OAuth and asks again); ALREADY_FOLLOWED once their follow was paid. A code
    asked for again within its life is the same code (one ``qrcode/create`` per visit).
    """
    campaign, follow = _campaign(campaign_id)
    _ensure_open(campaign, follow)
    merchant.ensure_can_award()
    account = service_account(merchant)
    openid = merchant_openid(consumer, account.app_id)
    if openid is None:
        raise CampaignError(
            FollowErrorCode.MERCHANT_OPENID_REQUIRED,
            _("We need to know you under this merchant's official account first."),
        )
    if Follow.objects.filter(campaign=campaign, openid=openid, credited_at__isnull=False).exists():
        raise CampaignError(
            FollowErrorCode.ALREADY_FOLLOWED,
            _("You have already earned this campaign's points for following."),
        )
    now = timezone.now()
    live = (
        FollowCode.objects.filter(
            campaign=campaign, consumer=consumer, expires_at__gt=now + CODE_REUSE_MARGIN
        )
        .order_by("-expires_at")
        .first()
    )
    if live is not None:
        return live
    scene = CODE_SCENE + secrets.token_urlsafe(24)
    ticket = official_accounts.create_qrcode(merchant, scene, CODE_SECONDS)
    return FollowCode.objects.create(
        campaign=campaign,
        consumer=consumer,
        scene=scene,
        ticket=ticket,
        expires_at=now + timedelta(seconds=CODE_SECONDS),
    )


def poster_code(merchant: Merchant, campaign: Campaign) -> str:
    """The permanent poster code's ticket, made once per campaign."""
    with transaction.atomic():
        follow = FollowCampaign.objects.select_for_update().get(campaign=campaign)
        if not follow.poster_ticket:
            service_account(merchant)
            follow.poster_ticket = official_accounts.create_poster_qrcode(
                merchant, f"{POSTER_SCENE}{campaign.pk}"
            )
            follow.save(update_fields=["poster_ticket"])
    return follow.poster_ticket


def image_url(ticket: str) -> str:
    return wechat.qrcode_image_url(ticket)


def page_url(link: str) -> str:
    """Our page with the "关注领积分" button (``/follow/<link>``)."""
    return f"{settings.PUBLIC_BASE_URL}/follow/{link}"


# --- Events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    campaign_id: int
    source: str


def resolve_scene(scene: str) -> Scene | None:
    """The campaign a scene names (in the merchant's schema), or None if not ours."""
    if scene.startswith(POSTER_SCENE) and scene[1:].isdigit() and len(scene) < 19:
        return Scene(int(scene[1:]), FollowSource.POSTER)
    if scene.startswith(CODE_SCENE):
        campaign_id = (
            FollowCode.objects.filter(scene=scene).values_list("campaign_id", flat=True).first()
        )
        if campaign_id is not None:
            return Scene(campaign_id, FollowSource.CODE)
    return None


class Outcome(StrEnum):
    """What crediting one follow did."""

    CREDITED = "credited"
    ALREADY = "already"  # this campaign already knew this OpenID: pays nothing, ever
    PENDING = "pending"  # a follower we cannot tie to a consumer yet (the reply's link)
    CLOSED = "closed"  # the campaign is not running, or its merchant may not award
    EXHAUSTED = "exhausted"
    UNKNOWN = "unknown"  # a scene that is not one of our campaigns'


@dataclass(frozen=True)
class Credit:
    outcome: Outcome
    follow: Follow | None = None
    balance: int | None = None


def credit(
    merchant: Merchant, app_id: str, openid: str, scene: str, followed_at: datetime
) -> Credit:
    """A new follower from one of our codes (WeChat's ``subscribe`` with a scene): record
    the follow once per campaign and OpenID and pay the consumer who has that OpenID.

    Runs in the merchant's schema (Celery, ``tasks.credit_follow``)."""
    found = resolve_scene(scene)
    if found is None:
        return Credit(Outcome.UNKNOWN)
    campaign = Campaign.objects.filter(pk=found.campaign_id, kind=CampaignKind.FOLLOW).first()
    if campaign is None:
        return Credit(Outcome.UNKNOWN)
    follow, created = Follow.objects.get_or_create(
        campaign=campaign,
        openid=openid,
        defaults={"source": found.source, "followed_at": followed_at},
    )
    # Only a follow never tied to anyone is looked at again (the follower we did not
    # know may be known now); any other repeat, a retry or a refollow, pays nothing.
    if not created and (follow.credited_at is not None or follow.consumer_id is not None):
        return Credit(Outcome.ALREADY, follow)
    return _pay(merchant, campaign, follow.pk, app_id)


def _pay(merchant: Merchant, campaign: Campaign, follow_id: int, app_id: str) -> Credit:
    """Pay one follow, if its follower is known and the campaign can pay."""
    openid = Follow.objects.values_list("openid", flat=True).get(pk=follow_id)
    identity = (
        WeChatIdentity.objects.filter(app_id=app_id, openid=openid).select_related("user").first()
    )
    with transaction.atomic():
        follow = Follow.objects.select_for_update().get(pk=follow_id)
        if follow.credited_at is not None:
            return Credit(Outcome.ALREADY, follow)
        if identity is None:
            return Credit(Outcome.PENDING, follow)
        consumer = identity.user
        follow.consumer = consumer
        follow.save(update_fields=["consumer"])
        campaign = Campaign.objects.select_related("follow").get(pk=campaign.pk)
        settings_ = campaign.follow
        try:
            merchant.ensure_can_award()
            _ensure_open(campaign, settings_)
        except DomainError as refused:
            if refused.code == FollowErrorCode.FOLLOW_BUDGET_EXHAUSTED:
                return Credit(Outcome.EXHAUSTED, follow)
            return Credit(Outcome.CLOSED, follow)
        now = timezone.now()
        wallet = ledger.wallet(consumer.pk)
        txn = _reward(merchant, campaign, settings_, consumer, wallet, follow, now)
        if txn is None:
            _close_exhausted(campaign, settings_)
            return Credit(Outcome.EXHAUSTED, follow)
        follow.points = settings_.points_per_follow
        follow.transaction = txn
        follow.credited_at = now
        follow.save(update_fields=["points", "transaction", "credited_at"])
        events.record(
            merchant.pk,
            EventType.FOLLOW_CREDITED,
            lambda: payloads.follow_credited(merchant.pk, follow, campaign, consumer),
        )
    if not reserves.left(merchant, settings_.reserve_ref, settings_.max_rewarded_follows):
        _close_exhausted(campaign, settings_)
    return Credit(Outcome.CREDITED, follow, txn.balances[wallet.pk])


def _reward(
    merchant: Merchant,
    campaign: Campaign,
    settings_: FollowCampaign,
    consumer: User,
    wallet: Account,
    follow: Follow,
    now: datetime,
) -> Transaction | None:
    """Take the points from whichever bucket still has them (the consumer's own first);
    None when every bucket is empty. Follows are rare next to scans: the Follow row's
    lock already serialises one follower, and each attempt has its savepoint."""
    points = settings_.points_per_follow
    order = sorted(reserves.bucket_sizes(settings_.max_rewarded_follows))
    start = consumer.pk % len(order)
    for bucket in order[start:] + order[:start]:
        try:
            return ledger.post(
                TransactionKind.AWARD,
                f"follow:{connection.schema_name}:{campaign.pk}:{follow.openid}",
                [
                    Posting(
                        ledger.campaign_reserve(merchant.pk, settings_.reserve_ref(bucket)), -points
                    ),
                    Posting(wallet, points),
                ],
                merchant_id=merchant.pk,
                consumer_id=consumer.pk,
                memo=campaign.name[:200],
                metadata={"campaign": campaign.pk, "follow": follow.pk},
                lot_expires_at=now + timedelta(days=merchant.points_expiry_days),
                savepoint=True,
            )
        except LedgerError as exc:
            if exc.code != LedgerErrorCode.INSUFFICIENT_BUDGET:
                raise
    return None


def _close_exhausted(campaign: Campaign, follow: FollowCampaign) -> None:
    now = timezone.now()
    FollowCampaign.objects.filter(pk=follow.pk, exhausted_at__isnull=True).update(exhausted_at=now)
    Campaign.objects.filter(pk=campaign.pk).exclude(status=CampaignStatus.ENDED).update(
        status=CampaignStatus.ENDED, updated_at=now
    )


def unfollowed(openid: str, at: datetime) -> int:
    """WeChat's ``unsubscribe``: every follow of this OpenID notes its first unfollow."""
    return Follow.objects.filter(openid=openid, unfollowed_at__isnull=True).update(unfollowed_at=at)


# --- The passive reply's link -----------------------------------------------------------


def reply_link(merchant_id: int, app_id: str, openid: str, scene: str) -> str:
    """The sign-in link a follower we do not know gets in the account's chat."""
    token = signing.dumps(
        {"m": merchant_id, "a": app_id, "o": openid, "s": scene}, salt=LINK_SALT, compress=True
    )
    return f"{settings.PUBLIC_BASE_URL}/f/{token}"


@dataclass(frozen=True)
class LinkClaim:
    merchant: Merchant
    campaign: Campaign
    credit: Credit


def _link_invalid() -> CampaignError:
    return CampaignError(
        FollowErrorCode.FOLLOW_LINK_INVALID,
        _("This link is not valid any more. Scan the poster again."),
        "token",
    )


def read_link(token: str) -> dict[str, Any]:
    try:
        signed: dict[str, Any] = signing.loads(token, salt=LINK_SALT, max_age=LINK_SECONDS)
    except signing.BadSignature as exc:
        raise _link_invalid() from exc
    return signed


def link_merchant(token: str) -> tuple[Merchant, str]:
    """The merchant a reply link names, with the app id (for the OAuth under its app)."""
    signed = read_link(token)
    merchant = Merchant.find(int(signed.get("m", 0)))
    if merchant is None:
        raise _link_invalid()
    return merchant, str(signed.get("a", ""))


def claim_from_link(consumer: User, token: str) -> Credit:
    """The follower opened the reply's link and is signed in: tie the follow to them and
    pay. Their OpenID under the merchant's app must be the one that followed (learnt by
    the silent OAuth: MERCHANT_OPENID_REQUIRED until then), so a forwarded link pays
    no one else. Run in the merchant's schema."""
    signed = read_link(token)
    app_id, openid = str(signed.get("a", "")), str(signed.get("o", ""))
    merchant = Merchant.find(int(signed.get("m", 0)))
    if merchant is None or merchant.schema_name != connection.schema_name:
        raise _link_invalid()
    known = merchant_openid(consumer, app_id)
    if known is None:
        raise CampaignError(
            FollowErrorCode.MERCHANT_OPENID_REQUIRED,
            _("We need to know you under this merchant's official account first."),
        )
    if known != openid:
        raise _link_invalid()
    found = resolve_scene(str(signed.get("s", "")))
    follow = (
        Follow.objects.filter(campaign_id=found.campaign_id, openid=openid).first()
        if found
        else None
    )
    if follow is None:
        raise CampaignError(
            FollowErrorCode.FOLLOW_NOT_FOLLOWED, _("We have not seen this follow yet."), "token"
        )
    if follow.credited_at is not None:
        raise CampaignError(
            FollowErrorCode.ALREADY_FOLLOWED,
            _("You have already earned this campaign's points for following."),
        )
    result = _pay(merchant, follow.campaign, follow.pk, app_id)
    if result.outcome == Outcome.EXHAUSTED:
        raise _exhausted()
    if result.outcome == Outcome.CLOSED:
        follow.campaign.ensure_claimable()
        merchant.ensure_can_award()
    if result.outcome != Outcome.CREDITED:
        raise _link_invalid()
    return result


# --- The public page -------------------------------------------------------------------


@dataclass(frozen=True)
class PublicView:
    """What our follow page shows to anyone (``/follow/<link>``)."""

    merchant_slug: str
    merchant_name: str
    account_name: str
    name: str
    description: str
    points: int
    running: bool


def public_view(link: str) -> PublicView | None:
    """The follow campaign a link names, or None (malformed, unknown, another kind)."""
    try:
        with in_merchant_schema(link, CampaignKind.FOLLOW) as (merchant, campaign_id):
            campaign = Campaign.objects.select_related("follow").get(pk=campaign_id)
            try:
                _ensure_open(campaign, campaign.follow)
                running = True
            except DomainError:
                running = False
    except DomainError:
        return None
    account = official_accounts.account_of(merchant)
    return PublicView(
        merchant.slug,
        merchant.name,
        account.name if account else merchant.name,
        campaign.name,
        campaign.description,
        campaign.follow.points_per_follow,
        running,
    )


# --- Stats ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    new_followers: int  # followed from one of the campaign's codes
    credited: int
    unfollowed_after: int
    points_awarded: int


def stats(campaign: Campaign) -> Stats:
    row = Follow.objects.filter(campaign=campaign).aggregate(
        new=Count("pk"),
        credited=Count("pk", filter=Q(credited_at__isnull=False)),
        unfollowed=Count("pk", filter=Q(unfollowed_at__isnull=False)),
    )
    points = sum(
        Follow.objects.filter(campaign=campaign, credited_at__isnull=False).values_list(
            "points", flat=True
        )
    )
    return Stats(row["new"], row["credited"], row["unfollowed"], points)
