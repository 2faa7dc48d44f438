"""Prize draws under real concurrency, and the verifier against a finished campaign.

Committed data (``committed_db``): each test onboards a merchant of its own; threads
claim with their own connections. The ledger is audited at the end of each.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign, CampaignStatus, Claim, PrizeDraw, PrizeTable
from campaigns.models.prizes import TierTerms
from campaigns.prizes import draw, verify
from campaigns.scan.claims import ClaimResult, claim_code
from campaigns.services import set_status
from core.errors import DomainError
from points import ledger
from points import services as points_services
from points.audit import audit
from points.models import Transaction, TransactionKind
from redemption import services as mall
from redemption.models import Coupon, Order
from tenants.models import Merchant, MerchantStatus
from tenants.onboarding import create_merchant
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.prizes import coupon_pool, merchant_with_prize_codes, nonce, prize_campaign
from tests.test_claim_function import MOMENTS, _verdict


def _consumers(new_phone: Callable[[], str], n: int) -> list[User]:
    return [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(n)]


def test_twenty_parallel_draws_on_the_last_unit_of_a_tier(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """Nearly every draw lands on the one-unit top tier: exactly one gets it, every
    other draw that landed there falls to the next tier with units (the published
    rule), and the log's order says which."""
    tiers = [
        TierTerms("一等奖", 1000, 1_000_000, 1),
        TierTerms("二等奖", 10, 1, None),
        TierTerms("谢谢参与", 0, 1, None),
    ]
    merchant, batch, found = merchant_with_prize_codes(unique, size=20, tiers=tiers)
    consumers = _consumers(new_phone, 20)

    results = run_in_threads(
        20, lambda i: claim_code(consumers[i], found[i], f"draw-{i}", nonce=nonce())
    )

    assert all(status == "ok" for status, _ in results), results
    prizes = [value.prize for _, value in results if isinstance(value, ClaimResult)]
    assert len(prizes) == 20 and all(p is not None for p in prizes)
    landed_top = [p for p in prizes if p is not None and p.drawn == 1]
    assert len(landed_top) >= 2  # else the race was not run (weights 10⁶ : 2)
    assert [p.tier for p in landed_top].count(1) == 1
    assert all(p.tier == 2 for p in landed_top if p.tier != 1)
    with tenant_context(merchant):
        table = PrizeTable.objects.get(campaign=batch.campaign)
        assert table.tiers.get(position=1).won == 1
        first_top = PrizeDraw.objects.filter(table=table, drawn=1).order_by("seq").first()
        assert first_top is not None and first_top.awarded == 1
        paid = sum(Claim.objects.filter(batch=batch).values_list("points", flat=True))
        assert batch.prize_reserve is not None and paid <= batch.prize_reserve
        set_status(merchant, batch.campaign, CampaignStatus.ENDED)
        report = verify.verify(verify.published(table))
    assert report.ok and report.recomputed == 20, report.problems
    assert audit() == []


def test_concurrent_draws_never_spend_beyond_the_reserve(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """60 codes, 3 consumers a code each thread-wise: capped tiers with heavy weights, so
    the caps are hit under contention. The awards sum to what left the reserve, within
    it; the ledger balances; every claim's award is its draw's."""
    tiers = [
        TierTerms("A", 300, 40, 3),
        TierTerms("B", 30, 40, 10),
        TierTerms("C", 3, 10, None),
        TierTerms("谢谢", 0, 10, None),
    ]
    merchant, batch, found = merchant_with_prize_codes(unique, size=60, tiers=tiers)
    consumers = _consumers(new_phone, 12)

    def claim_many(i: int) -> list[str]:
        outcomes = []
        for code in found[i::12]:
            try:
                claim_code(consumers[i], code, f"k-{code}", nonce=nonce())
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(exc.code)
        return outcomes

    results = run_in_threads(12, claim_many)
    assert all(status == "ok" for status, _ in results), results
    with tenant_context(merchant):
        claims = list(Claim.objects.filter(batch=batch).values_list("points", flat=True))
        assert len(claims) == 60
        awarded = Counter(
            PrizeDraw.objects.filter(code__in=found).values_list("awarded", flat=True)
        )
        assert awarded[1] <= 3 and awarded[2] <= 10
        reserve = ledger.campaign_reserve(merchant.pk, batch.reserve_ref(0))
        assert batch.prize_reserve is not None
        assert sum(claims) == batch.prize_reserve - ledger.balance_of(reserve)
        assert sum(claims) <= batch.prize_reserve
    awards = Transaction.objects.filter(kind=TransactionKind.AWARD, merchant_id=merchant.pk)
    assert awards.count() == sum(1 for p in claims if p)
    assert audit() == []


def test_the_verifier_reproduces_a_finished_campaign_and_catches_one_altered_entry(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant, batch, found = merchant_with_prize_codes(unique, size=40)
    consumer = _consumers(new_phone, 1)[0]
    for i, code in enumerate(found):
        claim_code(consumer, code, f"v-{i}", nonce=nonce())
    with tenant_context(merchant):
        table = PrizeTable.objects.get(campaign=batch.campaign)
        before_end = verify.verify(verify.published(table))
        # The seed is still secret: the chain checks, the draws wait.
        assert before_end.ok and before_end.pending == 40 and before_end.recomputed == 0
        set_status(merchant, batch.campaign, CampaignStatus.ENDED)
        document = verify.published(table)
    report = verify.verify(document)
    assert report.ok and report.recomputed == 40, report.problems

    # 1. One field changed: its hash no longer matches.
    forged = copy.deepcopy(document)
    forged["log"][17][4] = 1 if forged["log"][17][4] != 1 else 2
    assert any("draw 18: its hash" in p for p in verify.verify(forged).problems)

    # 2. Changed and re-hashed, and the rest of the chain re-linked (a forger with the
    # database): the chain holds, the seed does not give that tier.
    forged = copy.deepcopy(document)
    entry = forged["log"][17]
    entry[3] = entry[4] = 1 if entry[4] != 1 else 4
    entry[5] = 500 if entry[4] == 1 else 0
    prev = entry[6]
    for row in forged["log"][17:]:
        row[6] = prev
        row[7] = draw.entry_hash(prev, *row[:6])
        prev = row[7]
    forged["head"]["hash"] = prev
    problems = verify.verify(forged).problems
    assert problems and problems[0].startswith("draw 18: logged tier"), problems

    # 3. A different seed than the one committed to.
    forged = copy.deepcopy(document)
    forged["seeds"][0]["seed"] = "00" * 32
    assert "does not match its commitment" in verify.verify(forged).problems[0]

    # The command reads the database: clean, then one row altered in place.
    call_command("verify_prize_draws", merchant.slug, str(batch.campaign_id))
    with tenant_context(merchant):
        PrizeDraw.objects.filter(table=table, seq=5).update(nonce="altered-nonce-0000")
    with pytest.raises(CommandError, match="draw 5"):
        call_command("verify_prize_draws", merchant.slug, str(batch.campaign_id))


def test_the_prize_function_refuses_exactly_what_the_models_refuse(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """campaigns_claim_prize repeats campaigns_claim_code's checks (decision 0212): the
    same sweep as tests/test_claim_function.py, campaign statuses x moments, then the
    merchant's statuses, through the prize path. Shown to fail (('active', 'not yet'))
    with the prize function's start-date check planted as TRUE."""
    merchant, _batch, codes = merchant_with_prize_codes(unique, size=40)
    cases = [(status, moment) for status in CampaignStatus.values for moment in MOMENTS]
    for n, (status, (label, start, end)) in enumerate(cases):
        now = timezone.now()
        with tenant_context(merchant):
            campaign = Campaign.objects.get(batches__codes__code=codes[n])
            Campaign.objects.filter(pk=campaign.pk).update(
                status=status,
                starts_at=now + start if start is not None else None,
                ends_at=now + end if end is not None else None,
            )
            campaign.refresh_from_db()
        expected = _verdict(partial(campaign.ensure_claimable, timezone.now()))
        consumer = _consumers(new_phone, 1)[0]
        claim = partial(claim_code, consumer, codes[n], f"k{codes[n]}", nonce=nonce())
        assert _verdict(claim) == expected, (status, label)
    with tenant_context(merchant):
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.ACTIVE, starts_at=None, ends_at=None
        )
    shopper = _consumers(new_phone, 1)[0]
    for n, status in enumerate(MerchantStatus.values, start=len(cases)):
        Merchant.objects.filter(pk=merchant.pk).update(status=status)
        merchant.refresh_from_db()
        expected = _verdict(merchant.ensure_can_award)
        claim = partial(claim_code, shopper, codes[n], f"k{codes[n]}", nonce=nonce())
        assert _verdict(claim) == expected, status


def test_parallel_first_scans_of_one_consumer_are_guaranteed_once(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """One consumer scans ten codes at once, three others one each, in a campaign whose
    draws nearly always win nothing: the guarantee pays each consumer once (the first
    entry of their tag in the log, decided under the head's lock), the reserve holds, and
    the verifier replays it. Shown to fail with the guarantee's log lookup planted as
    TRUE (every draw is "first": ten guaranteed wins for the one consumer)."""
    tiers = [
        TierTerms("一等奖", 100, 1, 1),
        TierTerms("小奖", 5, 1, None),
        TierTerms("谢谢参与", 0, 1_000_000, None),
    ]
    merchant, batch, found = merchant_with_prize_codes(
        unique, size=13, tiers=tiers, first_scan_guarantee=True
    )
    people = _consumers(new_phone, 4)
    who = [people[0]] * 10 + people[1:]

    results = run_in_threads(
        13, lambda i: claim_code(who[i], found[i], f"first-{i}", nonce=nonce())
    )

    assert all(status == "ok" for status, _ in results), results
    prizes = [value.prize for _, value in results if isinstance(value, ClaimResult)]
    assert sum(1 for p in prizes[:10] if p is not None and p.guaranteed) == 1
    assert all(p is not None and p.points > 0 for p in prizes[10:])
    with tenant_context(merchant):
        table = PrizeTable.objects.get(campaign=batch.campaign)
        reasons = Counter(PrizeDraw.objects.filter(table=table).values_list("guarantee", flat=True))
        assert reasons["first-scan"] <= 4 and reasons["first-scan"] >= 3
        paid = sum(Claim.objects.filter(batch=batch).values_list("points", flat=True))
        assert batch.prize_reserve is not None and paid <= batch.prize_reserve
        set_status(merchant, batch.campaign, CampaignStatus.ENDED)
        report = verify.verify(verify.published(table))
    assert report.ok and report.recomputed == 13, report.problems
    assert audit() == []


def test_twenty_parallel_draws_on_the_last_coupon(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """The pool holds one coupon, set aside by the batch (the tier's cap is 1); twenty
    draws that nearly all land on it, and a mall redemption of the same product, run at
    once: one draw gets the coupon (one order, the coupon given once), the others fall
    to the next tier, the mall answers sold out, and the pool ends empty, never short."""
    merchant = create_merchant(slug=unique("coupons"), name="Coupon Co")
    points_services.fund_with_money(
        merchant, amount_minor=1_000_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    pool = coupon_pool(merchant, coupons=1, price=500)
    tiers = [
        TierTerms("代金券", 0, 1_000_000, 1, coupon=pool.pk),
        TierTerms("小奖", 5, 1, None),
        TierTerms("谢谢参与", 0, 1, None),
    ]
    with tenant_context(merchant):
        batch, found = prize_campaign(merchant, 20, tiers)
    pool.refresh_from_db()
    assert pool.stock == 0
    people = _consumers(new_phone, 21)

    def work(i: int) -> object:
        if i == 20:
            try:
                return mall.redeem(people[20], pool.pk, 1, idempotency_key="buy-last")
            except DomainError as exc:
                return exc.code
        return claim_code(people[i], found[i], f"last-{i}", nonce=nonce())

    results = run_in_threads(21, work)

    assert all(status == "ok" for status, _ in results), results
    prizes = [value.prize for _, value in results[:20] if isinstance(value, ClaimResult)]
    assert len(prizes) == 20
    assert [p.tier for p in prizes if p is not None].count(1) == 1
    assert sum(1 for p in prizes if p is not None and p.drawn == 1) >= 2  # a race was run
    # The set-aside coupon left the stock when the batch was made: the mall has none.
    assert results[20][1] == "OUT_OF_STOCK"
    assert Order.objects.filter(product=pool).count() == 1
    assert Coupon.objects.filter(product=pool, order__isnull=False).count() == 1
    pool.refresh_from_db()
    assert pool.stock == 0
    with tenant_context(merchant):
        set_status(merchant, batch.campaign, CampaignStatus.ENDED)
        report = verify.verify(verify.published(PrizeTable.objects.get(campaign=batch.campaign)))
    assert report.ok and report.recomputed == 20, report.problems
    pool.refresh_from_db()
    assert pool.stock == 0  # the set-aside coupon was given: nothing comes back
    assert audit() == []
