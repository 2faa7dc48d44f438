"""Prize tables and their draws at the service level: terms, reserve, claim, reveal, verify."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign, CampaignStatus, Claim, PrizeDraw, PrizeTier
from campaigns.models.prizes import TierTerms
from campaigns.prizes import draw, verify
from campaigns.prizes import services as prize_services
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign
from campaigns.services import set_status
from core.db import connection
from core.errors import DomainError
from points import ledger
from points.audit import audit
from redemption.models import Coupon, Order
from tests.fixtures.prizes import TIERS, coupon_pool, nonce, prize_campaign
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(tenants: Tenants, unique) -> Iterator[Tenants]:
    fund(tenants.acme, 1_000_000, unique)
    with tenant_context(tenants.acme):
        yield tenants
    connection.set_schema_to_public()


def test_a_prize_batch_reserves_the_most_its_draws_could_pay(acme: Tenants) -> None:
    merchant = acme.acme
    budget = ledger.merchant_budget(merchant.pk)
    before = ledger.balance_of(budget)
    batch, _codes = prize_campaign(merchant, size=10)
    # min(2, 10) x 500 + min(20, 10) x 50 + 10 x 5 + 10 x 0
    assert batch.prize_reserve == batch.reserved_points == 1000 + 500 + 50
    assert batch.points_per_code == 500
    assert ledger.balance_of(budget) == before - 1550


def test_a_prize_claim_draws_logs_pays_and_replays(acme: Tenants, consumer: User) -> None:
    merchant = acme.acme
    batch, found = prize_campaign(merchant, size=30)
    paid = 0
    for i, code in enumerate(found):
        result = claim_code(consumer, code, f"prize-{i}", nonce=nonce())
        assert result.prize is not None and result.prize.seq == i + 1
        assert result.claim.points == result.prize.points
        paid += result.prize.points
        assert result.balance == paid
    again = claim_code(consumer, found[0], "prize-0", nonce=nonce())
    assert again.replayed and again.prize is not None and again.prize.seq == 1
    assert PrizeDraw.objects.filter(table__campaign=batch.campaign).count() == 30
    assert sum(Claim.objects.filter(batch=batch).values_list("points", flat=True)) == paid
    table = batch.campaign.prize_table
    won = {t.position: t.won for t in PrizeTier.objects.filter(table=table, cap__isnull=False)}
    stats = {s.tier.position: s for s in prize_services.stats(table)}
    assert {p: stats[p].won for p in won} == won
    assert sum(s.drawn for s in stats.values()) == sum(s.won for s in stats.values()) == 30
    set_status(merchant, batch.campaign, CampaignStatus.ENDED)
    batch.refresh_from_db()
    assert batch.released_points == 1000 + 1000 + 150 - paid
    report = verify.verify(verify.published(table))
    assert report.ok and report.recomputed == 30, report.problems
    assert audit() == []


def test_a_prize_claim_keeps_the_campaigns_per_consumer_limits(
    acme: Tenants, consumer: User, new_phone: Callable[[], str]
) -> None:
    """The limits the prize claim asks of campaigns_claim_limit (decision 0302)."""
    batch, found = prize_campaign(acme.acme, size=4)
    campaign = Campaign.objects.filter(pk=batch.campaign_id)
    campaign.update(max_claims_per_consumer=2)
    claim_code(consumer, found[0], "limit-a", nonce=nonce())
    claim_code(consumer, found[1], "limit-b", nonce=nonce())
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, found[2], "limit-c", nonce=nonce())
    assert exc.value.code == "CAMPAIGN_LIMIT_REACHED"
    campaign.update(max_claims_per_consumer=None, max_claims_per_day=2)
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, found[2], "limit-d", nonce=nonce())
    assert exc.value.code == "DAILY_LIMIT_REACHED"
    # The code was not used up: someone else may still claim it.
    other, _created = User.objects.get_or_create_consumer(new_phone())
    assert claim_code(other, found[2], "limit-e", nonce=nonce()).prize is not None


def test_a_prize_code_needs_the_pages_nonce(acme: Tenants, consumer: User) -> None:
    _batch, found = prize_campaign(acme.acme, size=2)
    for bad in (None, "short", "x" * 65, "no spaces allowed here"):
        with pytest.raises(DomainError) as exc:
            claim_code(consumer, found[0], "nonce-key", nonce=bad)
        assert exc.value.code == "INVALID_DRAW_NONCE"
    assert not Claim.objects.filter(code_id=found[0]).exists()


@pytest.mark.parametrize(
    ("tiers", "code", "field"),
    [
        ([TierTerms("谢谢", 0, 1, None)], "INVALID_PRIZE_TABLE", "tiers"),
        (
            [TierTerms("A", 5, 1, None), TierTerms("B", 5, 1, None)],
            "INVALID_PRIZE_TABLE",
            "tiers.1",
        ),
        (
            [TierTerms("A", 5, 0, None), TierTerms("谢谢", 0, 1, None)],
            "INVALID_PRIZE_TABLE",
            "tiers.0.weight",
        ),
        (
            [TierTerms("A", 5, 1, 0), TierTerms("谢谢", 0, 1, None)],
            "INVALID_PRIZE_TABLE",
            "tiers.0.cap",
        ),
        (
            [TierTerms("汽车", 5_000_001, 1, 1), TierTerms("谢谢", 0, 1, None)],
            "PRIZE_ABOVE_LEGAL_CEILING",
            "tiers.0.points",
        ),
    ],
)
def test_bad_terms_are_refused_with_the_rule(
    acme: Tenants, tiers: list[TierTerms], code: str, field: str
) -> None:
    campaign = create_scan_campaign(name="Bad terms")
    with pytest.raises(DomainError) as exc:
        prize_services.set_prize_table(campaign, tiers)
    assert (exc.value.code, exc.value.field) == (code, field)


def test_the_ceiling_itself_is_allowed(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Top prize")
    prize_services.set_prize_table(
        campaign, [TierTerms("汽车", 5_000_000, 1, 1), TierTerms("谢谢", 0, 1, None)]
    )


def test_terms_are_locked_at_activation_and_by_batches(acme: Tenants) -> None:
    merchant = acme.acme
    campaign = create_scan_campaign(name="Locked")
    prize_services.set_prize_table(campaign, TIERS)
    create_batch(merchant, campaign, size=5, points_per_code=None)
    with pytest.raises(DomainError) as exc:
        prize_services.set_prize_table(campaign, TIERS)
    assert exc.value.code == "PRIZE_TERMS_LOCKED"
    other = create_scan_campaign(name="Activated")
    prize_services.set_prize_table(other, TIERS)
    set_status(merchant, other, CampaignStatus.ACTIVE)
    table = other.prize_table
    assert table.locked_at is not None and table.seed is not None
    assert table.seed.commitment and table.seed.revealed_at is None
    with pytest.raises(DomainError) as exc:
        prize_services.set_prize_table(other, TIERS)
    assert exc.value.code == "PRIZE_TERMS_LOCKED"
    with pytest.raises(DomainError) as exc:
        create_batch(merchant, other, size=5, points_per_code=10)
    assert exc.value.code == "INVALID_AMOUNT"


def test_a_fixed_points_code_claimed_with_a_nonce_pays_its_points(
    acme: Tenants, consumer: User
) -> None:
    """The page's nonce sends a claim to the prize function first; a fixed-points code
    answers 'points' there without writing, and is claimed by campaigns_claim_code."""
    merchant = acme.acme
    campaign = create_scan_campaign(name="Plain caps")
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=3, points_per_code=7)
    generate_batch(batch.pk)
    code = batch.codes.order_by("serial").values_list("code", flat=True)[0]
    result = claim_code(consumer, code, "plain-1", nonce=nonce())
    assert (result.claim.points, result.prize, result.balance) == (7, None, 7)
    assert not PrizeDraw.objects.filter(code=code).exists()
    assert claim_code(consumer, code, "plain-1", nonce=nonce()).replayed


def test_a_period_ends_its_seed_is_revealed_and_a_fresh_one_committed(
    acme: Tenants, consumer: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.prizes.tasks import rotate_prize_seeds

    merchant = acme.acme
    campaign = create_scan_campaign(name="Monthly draws")
    prize_services.set_prize_table(campaign, TIERS, period_days=30)
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=4, points_per_code=None)
    generate_batch(batch.pk)
    codes = list(batch.codes.order_by("serial").values_list("code", flat=True))
    table = campaign.prize_table
    claim_code(consumer, codes[0], "period-0", nonce=nonce())
    assert prize_services.rotate_due() == 0  # the period has not ended
    later = timezone.now() + timedelta(days=31)
    assert prize_services.rotate_due(later) == 1
    table.refresh_from_db()
    first, second = table.seeds.order_by("period")
    assert first.revealed_at == later and second.revealed_at is None
    assert table.seed_id == second.pk and second.commitment != first.commitment
    claim_code(consumer, codes[1], "period-1", nonce=nonce())
    report = verify.verify(verify.published(table))
    # The first period's draw is recomputed; the second waits for its seed.
    assert report.ok and (report.recomputed, report.pending) == (1, 1), report.problems
    assert PrizeDraw.objects.get(code=codes[1]).period == 1
    connection.set_schema_to_public()
    assert rotate_prize_seeds() == 0  # the task visits every schema; nothing else is due


# Nearly every draw wins nothing: the guarantee is what pays a first scan.
STINGY = [
    TierTerms("一等奖", 100, 1, 1),
    TierTerms("小奖", 5, 1, None),
    TierTerms("谢谢参与", 0, 1_000_000, None),
]


def test_a_first_scan_always_wins_the_lowest_prize_and_the_verifier_knows_why(
    acme: Tenants, consumer: User, new_phone: Callable[[], str]
) -> None:
    merchant = acme.acme
    batch, found = prize_campaign(merchant, size=6, tiers=STINGY, first_scan_guarantee=True)
    other = User.objects.get_or_create_consumer(new_phone())[0]
    # The reserve is the one without the guarantee: Σ min(cap, size) x points.
    assert batch.prize_reserve == 100 + 6 * 5
    results = [
        claim_code(consumer, code, f"g-{i}", nonce=nonce()) for i, code in enumerate(found[:3])
    ]
    results.append(claim_code(other, found[3], "g-3", nonce=nonce()))
    prizes = [r.prize for r in results]
    assert all(p is not None for p in prizes)
    first, second, third, others_first = (p for p in prizes if p is not None)
    assert (first.tier, first.drawn, first.points, first.guaranteed) == (2, 3, 5, True)
    assert (second.tier, third.tier) == (3, 3) and not second.guaranteed
    assert (others_first.tier, others_first.points, others_first.guaranteed) == (2, 5, True)
    assert claim_code(consumer, found[0], "g-0", nonce=nonce()).prize == first  # replayed
    table = batch.campaign.prize_table
    log = list(PrizeDraw.objects.filter(table=table).order_by("seq"))
    assert [e.guarantee for e in log] == ["first-scan", "", "", "first-scan"]
    assert log[0].player == log[1].player == log[2].player != log[3].player
    set_status(merchant, batch.campaign, CampaignStatus.ENDED)
    batch.refresh_from_db()
    assert batch.released_points == 130 - 10
    document = verify.published(table)
    assert document["guarantee"] == {"rule": "first-scan", "tier": 2}
    report = verify.verify(document)
    assert report.ok and report.recomputed == 4, report.problems
    assert audit() == []

    # A guarantee dropped from an entry, or claimed by a player's second draw, is caught
    # even when the forger re-hashes the chain.
    for seq, reason in ((1, ""), (2, "first-scan")):
        forged = copy.deepcopy(document)
        row = forged["log"][seq - 1]
        row[9] = reason
        prev = row[6]
        for entry in forged["log"][seq - 1 :]:
            entry[6] = prev
            entry[7] = draw.entry_hash(prev, *entry[:6], *entry[8:])
            prev = entry[7]
        forged["head"]["hash"] = prev
        problems = verify.verify(forged).problems
        assert problems and problems[0].startswith(f"draw {seq}: logged reason"), problems


def test_the_guarantee_needs_an_uncapped_lowest_prize(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Capped lowest")
    capped = [TierTerms("A", 100, 1, None), TierTerms("B", 5, 1, 10), TierTerms("谢谢", 0, 1, None)]
    with pytest.raises(DomainError) as exc:
        prize_services.set_prize_table(campaign, capped, first_scan_guarantee=True)
    assert (exc.value.code, exc.value.field) == ("INVALID_PRIZE_TABLE", "tiers.1.cap")
    table = prize_services.set_prize_table(campaign, capped)  # without it, a cap is fine
    assert not table.first_scan_guarantee


def test_a_coupon_prize_is_set_aside_drawn_into_an_order_and_returned_at_the_end(
    acme: Tenants, consumer: User
) -> None:
    merchant = acme.acme
    pool = coupon_pool(merchant, coupons=5, price=300)
    tiers = [
        TierTerms("代金券", 0, 1_000_000, 2, coupon=pool.pk),
        TierTerms("谢谢参与", 0, 1, None),
    ]
    batch, found = prize_campaign(merchant, size=4, tiers=tiers)
    table = batch.campaign.prize_table
    (tier, _thanks) = table.tiers.all()
    # Worth the coupon's price; min(2, 4) coupons and their price set aside.
    assert (tier.points, tier.coupon_product_id, tier.coupons_set_aside) == (300, pool.pk, 2)
    assert batch.prize_reserve == 600
    pool.refresh_from_db()
    assert pool.stock == 3
    results = [claim_code(consumer, c, f"cpn-{i}", nonce=nonce()) for i, c in enumerate(found)]
    tiers_won = [r.prize.tier for r in results if r.prize is not None]
    assert tiers_won.count(1) == 2  # the cap; the rest fall to "thank you"
    orders = Order.objects.filter(consumer=consumer, product=pool)
    assert orders.count() == 2 and {o.status for o in orders} == {"completed"}
    assert Coupon.objects.filter(order__in=orders).count() == 2
    assert results[-1].balance == 0  # each prize's price paid in and redeemed at once
    set_status(merchant, batch.campaign, CampaignStatus.ENDED)
    pool.refresh_from_db()
    assert pool.stock == 3  # both set-aside coupons were given: none comes back
    report = verify.verify(verify.published(table))
    assert report.ok and report.recomputed == 4, report.problems
    assert audit() == []


def test_unused_prize_coupons_go_back_to_the_pool(acme: Tenants, consumer: User) -> None:
    merchant = acme.acme
    pool = coupon_pool(merchant, coupons=3, price=100)
    tiers = [TierTerms("券", 0, 1, None, coupon=pool.pk), TierTerms("谢谢", 0, 1_000_000, None)]
    batch, found = prize_campaign(merchant, size=3, tiers=tiers)
    pool.refresh_from_db()
    assert pool.stock == 0
    with pytest.raises(DomainError) as exc:  # the pool is empty: no second batch
        create_batch(merchant, batch.campaign, size=1, points_per_code=None)
    assert (exc.value.code, exc.value.field) == ("PRIZE_COUPONS_SHORT", "size")
    claim_code(consumer, found[0], "cpn-back", nonce=nonce())
    given = Order.objects.filter(product=pool).count()
    set_status(merchant, batch.campaign, CampaignStatus.ENDED)
    pool.refresh_from_db()
    assert pool.stock == 3 - given
    assert Coupon.objects.filter(product=pool, order__isnull=True).count() == pool.stock
    set_status_again = batch.campaign.prize_table.tiers.get(position=1)
    assert set_status_again.coupons_returned == 3 - given
    assert audit() == []


def test_a_coupon_tier_needs_the_merchants_own_listed_coupon(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Foreign coupon")
    foreign = coupon_pool(acme.beta, coupons=1)
    for product in (foreign.pk, 10**12):
        with pytest.raises(DomainError) as exc:
            prize_services.set_prize_table(
                campaign, [TierTerms("券", 0, 1, 1, coupon=product), TierTerms("谢谢", 0, 1, None)]
            )
        assert (exc.value.code, exc.value.field) == ("INVALID_PRIZE_TABLE", "tiers.0.coupon")
