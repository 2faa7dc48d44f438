"""The submit's and the redeem's SQL functions against the rules the models state.

``campaigns_submit_response`` (campaigns/questionnaires/sql/) and ``redemption_redeem``
(redemption/sql/) decide in SQL what Python decided before them (decisions 0150,
0151): whether a campaign takes responses (``Campaign.ensure_claimable``), whether a
merchant may award (``Merchant.ensure_can_award``), which reserve bucket pays a
consumer's reward (``reserves.bucket_sizes``, ``Questionnaire.reserve_ref``), whether a
product can be redeemed (``Product.is_available``) and what an order keeps of its
address (``Address.snapshot``). These sweeps put both sides to every case and require
the same verdict, so that a rule changed on one side fails here, as
tests/test_claim_function.py does for the claim. Committed, as in production: the
functions run as their own statements (autocommit), not in a test's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns import reserves
from campaigns.models import Campaign, CampaignStatus, PrizeDraw, Questionnaire, Response
from campaigns.models.prizes import TierTerms
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires import services as questionnaires
from campaigns.services import set_status
from core.errors import DomainError
from points import services as points_services
from points.models import Account, Entry, Transaction
from privacy import consent as merchant_consent
from privacy.models import MerchantConsent
from redemption import services as mall
from redemption.models import Address, Category, Order, Product, ProductKind, ProductStatus
from tenants.models import Merchant, MerchantStatus
from tests.fixtures.prizes import nonce
from tests.fixtures.tenants import merchant_with_codes
from tests.test_claim_function import (
    CONSENT_STATES,
    MOMENTS,
    assert_refused_for_consent,
    put_consent,
)

QUESTIONS = [{"id": "q", "type": "rating", "text": "How was it?", "required": True}]
POINTS = 3


def _verdict(action: Callable[[], object]) -> str:
    try:
        action()
    except DomainError as exc:
        return str(exc.code)
    return "ok"


@pytest.fixture
def shop(committed_db: None, unique: Callable[[str], str]) -> Iterator[Merchant]:
    merchant, _codes = merchant_with_codes(unique, size=1, points=1)
    points_services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    yield merchant


def _survey(merchant: Merchant, cap: int = 500) -> Campaign:
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="Sweep",
            questions=QUESTIONS,
            points_per_response=POINTS,
            max_rewarded_responses=cap,
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return campaign


def _consumer(new_phone: Callable[[], str]) -> User:
    user, _created = User.objects.get_or_create_consumer(new_phone())
    return user


def _submit(merchant: Merchant, consumer: User, campaign: Campaign, answers: Any) -> object:
    return questionnaires.submit_to(merchant.pk, consumer, campaign.pk, answers, f"k{consumer.pk}")


def test_the_submit_refuses_exactly_the_campaigns_the_model_refuses(
    shop: Merchant, new_phone: Callable[[], str]
) -> None:
    campaign = _survey(shop)
    for status in CampaignStatus.values:
        for label, start, end in MOMENTS:
            now: datetime = timezone.now()
            with tenant_context(shop):
                Campaign.objects.filter(pk=campaign.pk).update(
                    status=status,
                    starts_at=now + start if start is not None else None,
                    ends_at=now + end if end is not None else None,
                )
                campaign.refresh_from_db()
            expected = _verdict(partial(campaign.ensure_claimable, timezone.now()))
            got = _verdict(partial(_submit, shop, _consumer(new_phone), campaign, {"q": 4}))
            assert got == expected, (status, label)


def test_the_submit_refuses_exactly_the_merchants_the_model_refuses(
    shop: Merchant, new_phone: Callable[[], str]
) -> None:
    campaign = _survey(shop)
    for status in MerchantStatus.values:
        Merchant.objects.filter(pk=shop.pk).update(status=status)
        shop.refresh_from_db()
        expected = _verdict(shop.ensure_can_award)
        got = _verdict(partial(_submit, shop, _consumer(new_phone), campaign, {"q": 4}))
        assert got == expected, status


@pytest.mark.parametrize("cap", [5, 16, 40])
def test_each_reward_is_paid_by_the_bucket_the_consumer_owns(
    shop: Merchant, new_phone: Callable[[], str], cap: int
) -> None:
    campaign = _survey(shop, cap=cap)
    with tenant_context(shop):
        questionnaire = Questionnaire.objects.get(campaign=campaign)
    buckets = sorted(reserves.bucket_sizes(cap))
    for _n in range(min(cap, reserves.RESERVE_BUCKETS)):
        consumer = _consumer(new_phone)
        with tenant_context(shop):
            result = questionnaires.submit(shop, consumer, campaign.pk, {"q": 3}, f"k{consumer.pk}")
        assert result.response.transaction_id is not None  # fixed points: always an award
        debited = Entry.objects.get(transaction_id=result.response.transaction_id, amount__lt=0)
        account = Account.objects.get(pk=debited.account_id)
        assert account.ref == questionnaire.reserve_ref(buckets[consumer.pk % len(buckets)])
        assert account.merchant_id == shop.pk


def test_answers_are_checked_against_the_live_version_after_an_edit(
    shop: Merchant, new_phone: Callable[[], str]
) -> None:
    # The process has seen version 1 answered (and keeps its questions); an edit after
    # that makes version 2, which the function names, and the answers are checked again.
    campaign = _survey(shop)
    first = questionnaires.submit_to(shop.pk, _consumer(new_phone), campaign.pk, {"q": 4}, "k1")
    assert first.response.version.number == 1
    with tenant_context(shop):
        questionnaires.edit_questions(
            campaign,
            [*QUESTIONS, {"id": "why", "type": "short_text", "text": "Why?", "required": True}],
        )
    refused = _verdict(partial(_submit, shop, _consumer(new_phone), campaign, {"q": 4}))
    assert refused != "ok"
    second = questionnaires.submit_to(
        shop.pk, _consumer(new_phone), campaign.pk, {"q": 4, "why": "Tea"}, "k2"
    )
    assert second.response.version.number == 2
    with tenant_context(shop):
        stored = Response.objects.get(pk=second.response.pk)
    assert stored.version_id == second.response.version_id
    assert stored.answers == second.response.answers


# --- The redeem ---------------------------------------------------------------------


@pytest.fixture
def category(committed_db: None, unique: Callable[[str], str]) -> Category:
    return Category.objects.create(slug=unique("sweep")[:60], name="Sweep")


def _rich(shop: Merchant, new_phone: Callable[[], str], unique: Callable[[str], str]) -> User:
    consumer = _consumer(new_phone)
    ref = unique("campaign")
    points_services.reserve(shop, ref, 1_000, idempotency_key=unique("reserve"))
    points_services.award(shop, ref, consumer, 1_000, idempotency_key=unique("award"))
    return consumer


def test_the_redeem_refuses_exactly_the_products_the_model_refuses(
    shop: Merchant,
    category: Category,
    new_phone: Callable[[], str],
    unique: Callable[[str], str],
) -> None:
    consumer = _rich(shop, new_phone, unique)
    address = Address.objects.create(
        consumer=consumer, recipient="王小明", phone="13800138000", region="上海", street="1 号"
    )
    product = mall.save_product(
        Product(
            title="Sweep tea",
            category=category,
            kind=ProductKind.PHYSICAL,
            points_price=1,
            stock=100,
            status=ProductStatus.LISTED,
        )
    )
    for status in ProductStatus.values:
        for label, start, end in MOMENTS:
            now = timezone.now()
            Product.objects.filter(pk=product.pk).update(
                status=status,
                available_from=now + start if start is not None else None,
                available_until=now + end if end is not None else None,
            )
            product.refresh_from_db()
            expected = "ok" if product.is_available(timezone.now()) else "NOT_AVAILABLE"
            got = _verdict(
                partial(
                    mall.redeem,
                    consumer,
                    product.pk,
                    1,
                    idempotency_key=unique("r"),
                    address_id=address.pk,
                )
            )
            assert got == expected, (status, label)


def test_an_order_keeps_the_address_as_the_model_copies_it(
    shop: Merchant,
    category: Category,
    new_phone: Callable[[], str],
    unique: Callable[[str], str],
) -> None:
    consumer = _rich(shop, new_phone, unique)
    address = Address.objects.create(
        consumer=consumer,
        recipient="王小明",
        phone="13800138000",
        region="上海市 浦东新区",
        street="世纪大道 100 号",
        postal_code="200120",
    )
    product = mall.save_product(
        Product(
            title="Address tea",
            category=category,
            kind=ProductKind.PHYSICAL,
            points_price=5,
            stock=3,
            status=ProductStatus.LISTED,
        )
    )
    result = mall.redeem(
        consumer, product.pk, 2, idempotency_key=unique("r"), address_id=address.pk
    )
    stored = Order.objects.get(pk=result.order.pk)
    assert stored.address == address.snapshot() == result.order.address
    assert result.balance == 1_000 - 10
    assert (stored.total_points, stored.status) == (10, result.order.status)
    assert result.order.placed_at == stored.placed_at


# --- The consent to share with the merchant, checked by the submit's functions ----------
#
# campaigns_submit_response and campaigns_submit_prize read the consumer's live consent of
# the version asked before anything else and answer 'consent' having written nothing, as
# the claim's do (tests/test_claim_function.py; decision 0333). Shown to fail with the
# check planted as FALSE in either function (the "bad answers" case keeps passing there:
# answers refused against a version seen answered never reach the function, and are
# checked by privacy.consent.ensure, whose removal fails it).


def _prize_survey(merchant: Merchant) -> Campaign:
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="Prize sweep", questions=QUESTIONS, points_per_response=POINTS,
            max_rewarded_responses=50,
        )  # fmt: skip
        set_prize_table(campaign, [TierTerms("一等奖", 5, 1, None), TierTerms("谢谢", 0, 1, None)])
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return campaign


def _nothing_submitted(merchant: Merchant, consumer: User, campaign: Campaign) -> None:
    with tenant_context(merchant):
        assert not Response.objects.filter(consumer=consumer).exists()
        assert not PrizeDraw.objects.filter(code=f"q:{campaign.pk}:{consumer.pk}").exists()
    assert not Transaction.objects.filter(consumer=consumer).exists()
    assert not Entry.objects.filter(consumer=consumer).exists()


@pytest.mark.parametrize("path", ["points", "prize"])
def test_a_submit_without_a_live_consent_writes_nothing_and_its_own_tap_consents_once(
    settings: Any, shop: Merchant, new_phone: Callable[[], str], path: str
) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True
    campaign = _survey(shop) if path == "points" else _prize_survey(shop)
    # A consumer who consented answers first: the process has then seen the version
    # answered, and the next submits' answers are checked before the call.
    for state in ["seen", *CONSENT_STATES, "bad answers"]:
        consumer = _consumer(new_phone)
        put_consent(consumer, shop, "none" if state in ("seen", "bad answers") else state)
        answers = {"q": 9} if state == "bad answers" else {"q": 4}

        def submit(share: bool, consumer: User = consumer, answers: Any = answers) -> Any:
            return questionnaires.submit_to(
                shop.pk, consumer, campaign.pk, answers, f"k{consumer.pk}",
                share_with_merchant=share, nonce=None if path == "points" else nonce(),
            )  # fmt: skip

        if state != "seen":
            for _twice in range(2):
                assert_refused_for_consent(shop, partial(submit, False))
                _nothing_submitted(shop, consumer, campaign)
        if state == "bad answers":
            # Consented by the tap, as before the answers were read; the answers refused.
            assert _verdict(partial(submit, True)) == "OUT_OF_RANGE"
            _nothing_submitted(shop, consumer, campaign)
            assert MerchantConsent.objects.filter(user=consumer).count() == 1
            continue
        result = submit(True)
        assert not result.replayed and (result.prize is not None) == (path == "prize"), state
        [live] = MerchantConsent.objects.filter(
            user=consumer, merchant=shop, withdrawn_at__isnull=True
        )
        assert live.version == merchant_consent.MERCHANT_CONSENT_VERSION, state
        assert live.channel == MerchantConsent.Channel.QUESTIONNAIRE or state == "seen"
        again = submit(True)
        assert again.replayed and again.response.pk == result.response.pk, state
        with tenant_context(shop):
            assert Response.objects.filter(consumer=consumer).count() == 1
        assert MerchantConsent.objects.filter(user=consumer, withdrawn_at__isnull=True).count() == 1


@pytest.mark.parametrize("path", ["points", "prize"])
def test_a_withdrawal_refuses_the_very_next_submit_whatever_the_cache_says(
    settings: Any, shop: Merchant, new_phone: Callable[[], str], path: str
) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True
    survey = _survey if path == "points" else _prize_survey
    first, second = survey(shop), survey(shop)
    consumer = _consumer(new_phone)
    draw = None if path == "points" else nonce()
    questionnaires.submit_to(
        shop.pk, consumer, first.pk, {"q": 4}, "k1", share_with_merchant=True, nonce=draw
    )
    assert merchant_consent.has_consented(consumer.pk, shop.pk)  # cached: yes
    # Withdrawn in the rows alone: the cache's entry still says yes, and is not asked.
    MerchantConsent.objects.filter(user=consumer).update(withdrawn_at=timezone.now())
    assert merchant_consent.has_consented(consumer.pk, shop.pk)

    draw = None if path == "points" else nonce()
    assert_refused_for_consent(
        shop,
        partial(questionnaires.submit_to, shop.pk, consumer, second.pk, {"q": 4}, "k2", nonce=draw),
    )
    with tenant_context(shop):
        assert not Response.objects.filter(campaign_id=second.pk).exists()
