"""Claiming a scanned code: exactly once, quickly, with clear refusals.

1. The code's shape and check character are checked with no database query.
2. Failed attempts are counted per consumer and per IP in Redis; past the limit
   the consumer is cooled down (``RATE_LIMITED`` with a retry-after).
3. The merchant comes from the code (its id is in the first four characters; an
   imported code has a routing row instead: campaigns.scan.routing). An imported code
   whose batch has hidden codes (刮开涂层) is claimed only with its label's secret,
   checked before anything else is read or written (campaigns.scan.hidden, decision
   0314); the routing row says so, so our own codes pay nothing for it.
4. One statement, ``campaigns_claim_code`` (sql/campaigns_claim_code.sql, decision
   0137), in the merchant's schema: check the consumer's consent to share with the
   merchant (decision 0333), read the code with its batch, check merchant, campaign
   and limits, take the code with a conditional ``UPDATE … WHERE claimed_at
   IS NULL`` (only one of any number of concurrent claims gets the row), post the
   award from the batch's reserve bucket to the wallet, and record the claim. It
   answers an outcome; Python words each refusal, from the models' own rules where
   one decides. Nothing is written unless everything is.

The only rows updated are the code, one of the batch's reserve buckets and the
consumer's wallet: nothing that every claim of a campaign would queue on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from accounts import tokens
from accounts.models import User
from accounts.tokens import Bearer
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import Campaign, CampaignError, Claim
from campaigns.prizes import claims as prize_claims
from campaigns.reserves import RESERVE_BUCKETS
from campaigns.scan import hidden
from campaigns.scan.codes import CodeError
from campaigns.scan.routing import route
from core import idempotency, ratelimit
from core.db import connection, rows, violated_constraint
from core.errors import DomainError
from core.ratelimit import Limit
from points import ledger
from privacy import consent as merchant_consent
from privacy.models import MerchantConsent
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


class Outcome(StrEnum):
    """What campaigns_claim_code answers (its first column)."""

    CLAIMED = "claimed"
    UNKNOWN = "unknown"
    MERCHANT = "merchant"
    TAKEN = "taken"
    CAMPAIGN = "campaign"
    VOIDED = "voided"
    CAMPAIGN_LIMIT = "campaign_limit"
    DAILY_LIMIT = "daily_limit"
    PRIZE = "prize"  # the batch pays a prize table: campaigns.prizes.claims draws
    CONSENT = "consent"  # no live consent to share with the merchant: nothing written


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    merchant: Merchant
    campaign: Campaign
    balance: int
    replayed: bool
    prize: prize_claims.Prize | None = None


def _unknown() -> CodeError:
    return CodeError(
        CampaignErrorCode.UNKNOWN_CODE,
        _("We do not know this code. Check it and try again."),
        "code",
    )


# Checks of a claim sent with a location the consumer consented to, before anything is
# written; each may refuse with a DomainError (the dealers app registers its diversion
# refusal). Only such claims pay for them: most claims send no location.
LocatedGuard = Callable[[Merchant, str, float, float], None]
_located_guards: list[LocatedGuard] = []


def guard_located(guard: LocatedGuard) -> None:
    if guard not in _located_guards:
        _located_guards.append(guard)


def claim_code(
    consumer: User,
    raw_code: str,
    idempotency_key: str,
    ip: str | None = None,
    share_with_merchant: bool = False,
    nonce: str | None = None,
    location: tuple[float, float] | None = None,
    hidden_code: str | None = None,
    gate: Bearer | None = None,
) -> ClaimResult:
    """``gate``: the bearer of a request whose session nothing has checked yet (decision
    0345). Its claim statement checks the session first (``tokens.fetch_one``) and
    ``consumer``, the request's lazy user, is read only after that statement admitted
    it. Such a claim refuses nothing before its statement ran: ``GateRefused`` instead,
    with nothing written but the attempt's count toward the per-minute limit, and the
    caller takes the full way, which checks the session and then refuses as ever (so
    that no refusal, no failure count and no scan event goes to a session that is not
    live). A located, prize or hidden-code claim, whose checks before the statement need
    the consumer or count wrong guesses, takes the full way at once."""
    if gate is not None and (location is not None or prize_claims.is_nonce(nonce)):
        raise tokens.GateRefused
    consumer_id = tokens.user_id(consumer, gate)
    limits = [
        Limit(
            f"scan-fail:consumer:{consumer_id}", MAX_FAILURES_PER_CONSUMER, FAILURE_WINDOW_SECONDS
        )
    ]
    if ip:
        limits.append(Limit(f"scan-fail:ip:{ip}", MAX_FAILURES_PER_IP, FAILURE_WINDOW_SECONDS))
    merchant_id: int | None = None
    try:
        idempotency.check_key(idempotency_key)
        ratelimit.guard(
            below=limits,
            count=Limit(f"scan:consumer:{consumer_id}", MAX_CLAIMS_PER_CONSUMER_PER_MINUTE, 60),
        )
        parsed = route(raw_code)
        merchant_id = parsed.merchant_id
        if parsed.needs_hidden_code:
            if gate is not None:
                raise tokens.GateRefused  # a wrong guess is counted: once, by the full way
            check_hidden_code(merchant_id, parsed.code, hidden_code, ip)
        if location is not None and _located_guards:
            # The consent is asked before a guard refuses, as for every claim (the claim
            # function checks it too: one cached lookup more, for these claims only).
            merchant_consent.ensure(
                consumer, merchant_id, share_with_merchant, MerchantConsent.Channel.CLAIM, ip
            )
            merchant = Merchant.find(merchant_id)
            if merchant is None:
                raise _unknown()
            for guard in _located_guards:
                guard(merchant, parsed.code, *location)
        # PIPL art. 23: the merchant sees the claim only with the consumer's consent,
        # given with the claim's own tap the first time. The claim's function checks it
        # before anything else (decision 0333); the first time, it is recorded and the
        # function called again.
        code = parsed.code
        return merchant_consent.participate(
            consumer,
            merchant_id,
            share_with_merchant,
            MerchantConsent.Channel.CLAIM,
            lambda: _claim(merchant_id, consumer, code, idempotency_key, nonce, gate),
            ip,
        )
    except DomainError as exc:
        if gate is not None and not gate.admitted:
            raise tokens.GateRefused from exc  # counted by the full way, once checked
        if exc.code in GUESS_LIKE:
            for limit in limits:
                ratelimit.hit(limit.key, limit.limit, limit.window_seconds)
            merchant = Merchant.find(merchant_id) if merchant_id is not None else None
            if merchant is not None:
                _count_failure(merchant, exc.code)
        raise


def check_hidden_code(merchant_id: int, code: str, given: str | None, ip: str | None) -> None:
    """``hidden.check`` in the code's merchant's schema (the claim's and the preview's).

    Its refusals are not GUESS_LIKE: a wrong secret is counted by its own limits, per
    code and per client, not a second time as a failed claim.
    """
    merchant = Merchant.find(merchant_id)
    if merchant is None:
        raise _unknown()
    with tenant_context(merchant):
        hidden.check(merchant_id, code, given, ip)


def _count_failure(merchant: Merchant, reason: str) -> None:
    with tenant_context(merchant), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_scanfailure (day, reason, count) VALUES (%s, %s, 1) "
            "ON CONFLICT (day, reason) "
            "DO UPDATE SET count = campaigns_scanfailure.count + 1",
            [timezone.localdate(), reason],
        )


# The claim's database work is one statement: campaigns/scan/sql/campaigns_claim_code.sql
# (installed by migrate, core/db/functions.py) says what it does and in which order.
CLAIM_SQL = (
    "SELECT * FROM public.campaigns_claim_code(%s, %s, %s, %s, %s, %s, %s::bigint[], %s::jsonb, %s)"
)
_CLAIM_MERCHANT = rows.columns(Merchant, only={"id", "name"})
_CLAIM = rows.columns(Claim)
_CLAIM_CAMPAIGN = rows.columns(Campaign, only={"id", "name", "status", "starts_at", "ends_at"})


def _fetch(params: list[Any], nonce: str | None, gate: Bearer | None) -> tuple[Any, ...] | None:
    """The claim's one round trip: campaigns_claim_code (gated: ``claim_code``), or
    campaigns_claim_prize first when the page sent a nonce (it does for a code its preview
    showed as a prize code; never gated). A wrong guess writes nothing and costs a second
    round trip."""
    merchant_id, code, consumer_id, key, now = params[:5]
    consent = params[-1]
    if prize_claims.is_nonce(nonce):
        head, prize = prize_claims.claim(merchant_id, code, consumer_id, key, now, nonce, consent)
        if head[0] != prize_claims.NOT_A_PRIZE:
            return (*head, prize)
    row = tokens.fetch_one(CLAIM_SQL, params, gate, now, phone=False)
    if row is not None and row[0] == Outcome.PRIZE:
        # A prize batch's code claimed without a nonce: refused (INVALID_DRAW_NONCE).
        head, prize = prize_claims.claim(merchant_id, code, consumer_id, key, now, nonce, consent)
        return (*head, prize)
    return row


def _claim(
    merchant_id: int,
    consumer: User,
    code: str,
    idempotency_key: str,
    nonce: str | None,
    gate: Bearer | None,
) -> ClaimResult:
    now = timezone.now()
    consumer_id = tokens.user_id(consumer, gate)
    # The code.claimed event's outbox rows are written by the claim's own statement
    # (decision 0329): the endpoints listening and the part of the event known now.
    endpoints = events.subscribers(merchant_id, EventType.CODE_CLAIMED)
    event = None
    if endpoints:
        known = payloads.code_claimed_before(merchant_id, code, now, consumer_id)
        event = json.dumps(
            events.envelope(uuid.uuid4(), EventType.CODE_CLAIMED, now, known), ensure_ascii=False
        )
    params = [
        merchant_id, code, consumer_id, idempotency_key, now, RESERVE_BUCKETS,
        list(endpoints) if endpoints else None, event, merchant_consent.required(),
    ]  # fmt: skip
    try:
        if connection.in_atomic_block or (endpoints and prize_claims.is_nonce(nonce)):
            # A transaction of its own (a savepoint inside the caller's), so that a
            # refusal leaves the caller's transaction usable; and a prize claim's
            # outbox row, written here, commits exactly when the claim does.
            with transaction.atomic():
                row = _fetch(params, nonce, gate)
                result = _answer(
                    merchant_id, consumer, consumer_id, code, idempotency_key, now, row
                )
                if endpoints and not result.replayed:
                    if result.prize is None:
                        events.wake_on_commit()  # campaigns_claim_code wrote the rows
                    else:
                        _record_event(result, consumer)
                return result
        # Most claims: the one statement is its own transaction (autocommit).
        row = _fetch(params, nonce, gate)
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint == ledger.BALANCE_CONSTRAINT:
            # The bucket was emptied (or never filled) by a void that committed first.
            raise _voided() from exc
        if constraint == ledger.MERGED_CONSTRAINT:
            # The consumer's account was merged into another while this claim waited:
            # nothing was written, the code is still free for the surviving account.
            raise ledger.merged_refusal() from exc
        raise
    result = _answer(merchant_id, consumer, consumer_id, code, idempotency_key, now, row)
    if endpoints and not result.replayed:
        # Committed with its outbox rows (a prize claim without a nonce is refused).
        events.wake_on_commit()
    return result


def _answer(
    merchant_id: int,
    consumer: User,
    consumer_id: int,
    code: str,
    idempotency_key: str,
    now: datetime,
    row: tuple[Any, ...] | None,
) -> ClaimResult:
    """The function's row as a result, or its refusal as the domain's error (``consumer``
    is read only for a replay: a gated claim's lazy user, once its statement admitted it)."""
    assert row is not None  # the function always answers one row
    prize = row[12] if len(row) > 12 else None  # campaigns.prizes.claims' draw, if any
    (
        outcome,
        merchant_name,
        campaign_id,
        campaign_name,
        status,
        starts_at,
        ends_at,
        batch_id,
        points,
        claim_id,
        txn_id,
        balance,
    ) = row[:12]
    if outcome == Outcome.UNKNOWN:
        raise _unknown()
    if outcome == Outcome.CONSENT:
        raise merchant_consent.ConsentMissing  # privacy.consent.participate asks or gives
    if outcome == Outcome.MERCHANT:
        found = Merchant.find(merchant_id)
        if found is None:
            raise _unknown()
        found.ensure_can_award()
        raise AssertionError(f"the claim function refused merchant {merchant_id} (rule drift)")
    merchant = _CLAIM_MERCHANT.build([merchant_id, merchant_name])
    campaign = _CLAIM_CAMPAIGN.build([campaign_id, campaign_name, starts_at, ends_at, status])
    if outcome == Outcome.TAKEN:
        tenant = Merchant.find(merchant_id)
        assert tenant is not None  # the function just found it
        with tenant_context(tenant):
            return _replay_or_refuse(tenant, consumer, code, idempotency_key)
    if outcome == Outcome.CAMPAIGN:
        campaign.ensure_claimable(now)
        raise AssertionError(f"the claim function refused campaign {campaign_id} (rule drift)")
    if outcome == Outcome.VOIDED:
        raise _voided()
    if outcome == Outcome.CAMPAIGN_LIMIT:
        raise CampaignError(
            CampaignErrorCode.CAMPAIGN_LIMIT_REACHED,
            _("You have collected all the points this campaign offers you."),
        )
    if outcome == Outcome.DAILY_LIMIT:
        raise CampaignError(
            CampaignErrorCode.DAILY_LIMIT_REACHED,
            _("You have reached today's limit for this campaign."),
        )
    assert outcome == Outcome.CLAIMED, outcome
    # Built as a row read back would be (core.db.rows): Model.__init__ and the foreign
    # keys' descriptors were a twentieth of a claim's CPU.
    claim = _CLAIM.build(
        [claim_id, code, campaign_id, batch_id, consumer_id, points, txn_id, idempotency_key, now]
    )
    return ClaimResult(claim, merchant, campaign, balance, replayed=False, prize=prize)


def _record_event(result: ClaimResult, consumer: User) -> None:
    # In the claim's transaction: the event exists exactly when the claim does.
    merchant_id = result.merchant.pk
    events.record(
        merchant_id,
        EventType.CODE_CLAIMED,
        lambda: payloads.code_claimed(merchant_id, result.claim, result.campaign, consumer),
    )


def _voided() -> CampaignError:
    return CampaignError(CampaignErrorCode.CODE_VOIDED, _("This code is no longer valid."), "code")


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
    prize = prize_claims.drawn_for(code)
    return ClaimResult(claim, merchant, claim.campaign, balance, replayed=True, prize=prize)
