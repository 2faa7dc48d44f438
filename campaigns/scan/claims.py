"""Claiming a scanned code: exactly once, quickly, with clear refusals.

1. The code's shape and check character are checked with no database query.
2. Failed attempts are counted per consumer and per IP in Redis; past the limit
   the consumer is cooled down (``RATE_LIMITED`` with a retry-after).
3. The merchant comes from the code (its id is in the first four characters).
4. In the merchant's schema, one transaction: read the code with its batch,
   check campaign and limits, take the code with a conditional ``UPDATE … WHERE
   claimed_at IS NULL`` (only one of any number of concurrent claims gets the
   row), post the award from the batch's reserve bucket to the wallet, and record
   the claim. Any refusal rolls all of it back.

The only rows updated are the code, one of the batch's reserve buckets and the
consumer's wallet: nothing that every claim of a campaign would queue on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import BatchStatus, Campaign, CampaignError, Claim, Code, CodeBatch
from campaigns.reserves import RESERVE_BUCKETS
from campaigns.scan.codes import CodeError, parse
from core import idempotency, ratelimit
from core.db import connection, rows
from core.db.locks import advisory_xact_lock
from core.errors import DomainError
from core.ratelimit import Limit
from points import ledger
from points.errors import LedgerError
from points.ledger import Posting
from points.models import TransactionKind
from tenants.models import Merchant
from webhooks import events, payloads
from webhooks.models import EventType

FAILURE_WINDOW_SECONDS = 600
MAX_FAILURES_PER_CONSUMER = 10
MAX_FAILURES_PER_IP = 50
MAX_CLAIMS_PER_CONSUMER_PER_MINUTE = 120
# Refusals that may be guessing or misuse: counted toward the cool-down and shown
# to the merchant. Refusals caused by the merchant (paused, ended) are not.
GUESS_LIKE = {
    CampaignErrorCode.MALFORMED_CODE,
    CampaignErrorCode.INVALID_CHECK_CHARACTER,
    CampaignErrorCode.UNKNOWN_CODE,
    CampaignErrorCode.ALREADY_CLAIMED,
}


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    merchant: Merchant
    campaign: Campaign
    balance: int
    replayed: bool


def _unknown() -> CodeError:
    return CodeError(
        CampaignErrorCode.UNKNOWN_CODE,
        _("We do not know this code. Check it and try again."),
        "code",
    )


def claim_code(
    consumer: User, raw_code: str, idempotency_key: str, ip: str | None = None
) -> ClaimResult:
    idempotency.check_key(idempotency_key)
    limits = [
        Limit(
            f"scan-fail:consumer:{consumer.pk}", MAX_FAILURES_PER_CONSUMER, FAILURE_WINDOW_SECONDS
        )
    ]
    if ip:
        limits.append(Limit(f"scan-fail:ip:{ip}", MAX_FAILURES_PER_IP, FAILURE_WINDOW_SECONDS))
    ratelimit.guard(
        below=limits,
        count=Limit(f"scan:consumer:{consumer.pk}", MAX_CLAIMS_PER_CONSUMER_PER_MINUTE, 60),
    )
    merchant: Merchant | None = None
    try:
        parsed = parse(raw_code)
        merchant = Merchant.find(parsed.merchant_id)
        if merchant is None:
            raise _unknown()
        merchant.ensure_can_award()
        return _claim_in_schema(merchant, consumer, parsed.code, idempotency_key)
    except DomainError as exc:
        if exc.code in GUESS_LIKE:
            for limit in limits:
                ratelimit.hit(limit.key, limit.limit, limit.window_seconds)
            if merchant is not None:
                _count_failure(merchant, exc.code)
        raise


def _count_failure(merchant: Merchant, reason: str) -> None:
    with tenant_context(merchant), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_scanfailure (day, reason, count) VALUES (%s, %s, 1) "
            "ON CONFLICT (day, reason) "
            "DO UPDATE SET count = campaigns_scanfailure.count + 1",
            [timezone.localdate(), reason],
        )


def _claim_in_schema(
    merchant: Merchant, consumer: User, code: str, idempotency_key: str
) -> ClaimResult:
    with tenant_context(merchant):
        return _claim(merchant, consumer, code, idempotency_key)


# The claim's two statements on the code, written once (core.db.rows): the ORM spent
# more CPU building them than PostgreSQL spent running them.
_CAMPAIGN = rows.columns(Campaign)
_BATCH = rows.columns(CodeBatch, only={"id", "campaign_id", "status", "points_per_code"})
_READ_CODE = (
    f"SELECT c.serial, c.claimed_by_id, {_BATCH.select('b')}, {_CAMPAIGN.select('p')}"
    f" FROM {rows.table(Code)} c"
    f" JOIN {rows.table(CodeBatch)} b ON b.id = c.batch_id"
    f" JOIN {rows.table(Campaign)} p ON p.id = b.campaign_id"
    " WHERE c.code = %s"
)
_TAKE_CODE = (
    f"UPDATE {rows.table(Code)} SET claimed_by_id = %s, claimed_at = %s"
    " WHERE code = %s AND claimed_at IS NULL"
)
_INSERT_CLAIM = rows.Insert(Claim)


def _read_code(code: str) -> tuple[int, int | None, CodeBatch] | None:
    """(serial, claimed by, batch with its campaign) of a code of this schema."""
    row = rows.fetch_one(_READ_CODE, [code])
    if row is None:
        return None
    batch = _BATCH.build(row[2 : 2 + len(_BATCH)])
    batch.campaign = _CAMPAIGN.build(row[2 + len(_BATCH) :])
    return row[0], row[1], batch


def _claim(merchant: Merchant, consumer: User, code: str, idempotency_key: str) -> ClaimResult:
    now = timezone.now()
    with transaction.atomic(), rows.one_cursor():
        found = _read_code(code)
        if found is None:
            raise _unknown()
        serial, claimed_by, batch = found
        if claimed_by is not None:
            return _replay_or_refuse(merchant, consumer, code, idempotency_key)
        campaign = batch.campaign
        campaign.ensure_claimable(now)
        if batch.status in (BatchStatus.VOIDED, BatchStatus.FAILED):
            raise CampaignError(
                CampaignErrorCode.CODE_VOIDED, _("This code is no longer valid."), "code"
            )
        if campaign.has_per_consumer_limits:
            _check_limits(campaign, consumer, now)
        taken = rows.execute(_TAKE_CODE, [consumer.pk, now, code]) == 1
        if not taken:
            # Someone else's claim committed between our read and our update.
            raise CampaignError(
                CampaignErrorCode.ALREADY_CLAIMED, _("This code has already been used."), "code"
            )
        bucket = ledger.campaign_reserve(merchant.pk, batch.reserve_ref(serial % RESERVE_BUCKETS))
        wallet = ledger.wallet(consumer.pk)
        try:
            txn = ledger.post(
                TransactionKind.AWARD,
                f"claim:{merchant.pk}:{code}",
                [Posting(bucket, -batch.points_per_code), Posting(wallet, batch.points_per_code)],
                merchant_id=merchant.pk,
                consumer_id=consumer.pk,
                memo=campaign.name[:200],
                metadata={"code": code, "campaign": campaign.pk, "batch": batch.pk},
                lot_expires_at=now + timedelta(days=merchant.points_expiry_days),
                # Every refusal below ends this transaction: no savepoint needed.
                savepoint=False,
            )
        except LedgerError as exc:
            # The bucket was emptied by a void that committed after we read the batch.
            raise CampaignError(
                CampaignErrorCode.CODE_VOIDED, _("This code is no longer valid."), "code"
            ) from exc
        claim = Claim(
            code_id=code,
            campaign=campaign,
            batch=batch,
            consumer=consumer,
            points=batch.points_per_code,
            transaction=txn,
            idempotency_key=idempotency_key,
            claimed_at=now,
        )
        _INSERT_CLAIM.one(claim)
        # In this transaction: the event exists exactly when the claim does.
        events.record(
            merchant.pk,
            EventType.CODE_CLAIMED,
            lambda: payloads.code_claimed(merchant.pk, claim, campaign, consumer),
        )
        balance = txn.balances[wallet.pk]
    return ClaimResult(claim, merchant, campaign, balance, replayed=False)


def _replay_or_refuse(
    merchant: Merchant, consumer: User, code: str, idempotency_key: str
) -> ClaimResult:
    claim = (
        Claim.objects.select_related("campaign")
        .filter(code_id=code, consumer=consumer, idempotency_key=idempotency_key)
        .first()
    )
    if claim is None:
        # Whoever claimed it, the answer is the same: no one else's identity is revealed.
        raise CampaignError(
            CampaignErrorCode.ALREADY_CLAIMED, _("This code has already been used."), "code"
        )
    balance = ledger.balance_of(ledger.wallet(consumer.pk))
    return ClaimResult(claim, merchant, claim.campaign, balance, replayed=True)


def _check_limits(campaign: Campaign, consumer: User, now: datetime) -> None:
    # One consumer's claims on one campaign take turns here, so eight phones of the
    # same person cannot all pass a limit of one at once. Other consumers never wait.
    advisory_xact_lock(f"claim-limit:{connection.schema_name}:{campaign.pk}:{consumer.pk}")
    claims = Claim.objects.filter(campaign=campaign, consumer=consumer)
    if campaign.max_claims_per_consumer is not None and (
        claims.count() >= campaign.max_claims_per_consumer
    ):
        raise CampaignError(
            CampaignErrorCode.CAMPAIGN_LIMIT_REACHED,
            _("You have collected all the points this campaign offers you."),
        )
    if campaign.max_claims_per_day is not None:
        since = now - timedelta(days=1)
        if claims.filter(claimed_at__gt=since).count() >= campaign.max_claims_per_day:
            raise CampaignError(
                CampaignErrorCode.DAILY_LIMIT_REACHED,
                _("You have reached today's limit for this campaign."),
            )
