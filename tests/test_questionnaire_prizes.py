"""A questionnaire that pays a prize table (decision 0283): real concurrency, the verifier
over a finished questionnaire, and the coded refusals.

Committed data (``committed_db``): each test onboards a merchant of its own; threads
submit with their own connections. The ledger is audited at the end of each.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.error_codes import PrizeErrorCode, QuestionnaireErrorCode
from campaigns.models import (
    Campaign,
    CampaignStatus,
    PrizeDraw,
    PrizeTable,
    Questionnaire,
    Response,
)
from campaigns.models.prizes import TierTerms, reserve_for
from campaigns.prizes import verify
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires import services as questionnaires
from campaigns.services import set_status
from core.errors import DomainError
from points import ledger
from points import services as points_services
from points.audit import audit
from points.models import Account, Transaction, TransactionKind
from tenants.models import Merchant
from tenants.onboarding import create_merchant
from tests.fixtures.concurrency import run_jobs
from tests.fixtures.prizes import nonce

QUESTIONS = [{"id": "q", "type": "rating", "text": "How was it?", "required": True}]
# Most draws land on the capped prizes, so that caps run out under the parallel submits.
TIERS = [
    TierTerms("一等奖", 100, 50, 2),
    TierTerms("二等奖", 10, 30, 5),
    TierTerms("三等奖", 1, 10, None),
    TierTerms("谢谢参与", 0, 10, None),
]


def _merchant(unique: Callable[[str], str]) -> Merchant:
    merchant = create_merchant(slug=unique("qprizes"), name="Survey Prize Co")
    points_services.fund_with_money(
        merchant, amount_minor=100_000, currency="CNY", rate="100", payment_reference=unique("p")
    )
    return merchant


def _survey(merchant: Merchant, cap: int, tiers: list[TierTerms] | None = TIERS) -> Campaign:
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="有奖问卷", questions=QUESTIONS, points_per_response=7, max_rewarded_responses=cap
        )
        if tiers is not None:
            set_prize_table(campaign, tiers)
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
    return campaign


def _submit(
    merchant: Merchant, consumer: User, campaign: Campaign, key: str, draw: str | None
) -> questionnaires.Submission:
    return questionnaires.submit_to(
        merchant.pk, consumer, campaign.pk, {"q": 4}, key, share_with_merchant=True, nonce=draw
    )


def _consumers(new_phone: Callable[[], str], n: int) -> list[User]:
    return [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(n)]


def test_parallel_submits_never_spend_beyond_the_reserve_and_the_verifier_replays_them(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """30 consumers at once on 20 rewarded responses: 20 draws, the caps held, the awards
    within Σ min(cap, 20) x points, the rest returned when the last draw ended it, and
    the verifier recomputes every draw (then catches one altered entry)."""
    merchant = _merchant(unique)
    budget = ledger.balance_of(ledger.merchant_budget(merchant.pk))
    campaign = _survey(merchant, cap=20)
    reserve = reserve_for(TIERS, 20)
    assert reserve == 2 * 100 + 5 * 10 + 20 * 1
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == budget - reserve
    consumers = _consumers(new_phone, 30)
    jobs: list[Callable[[], object]] = [
        partial(_submit, merchant, c, campaign, "k", nonce()) for c in consumers
    ]
    assert Counter(run_jobs(jobs)) == {"ok": 20, QuestionnaireErrorCode.BUDGET_EXHAUSTED: 10}

    with tenant_context(merchant):
        table = PrizeTable.objects.get(campaign=campaign)
        draws = list(PrizeDraw.objects.filter(table=table).order_by("seq"))
        assert [d.seq for d in draws] == list(range(1, 21))
        won = Counter(d.awarded for d in draws)
        assert won[1] <= 2 and won[2] <= 5
        responses = list(Response.objects.filter(campaign=campaign))
        assert len(responses) == 20
        assert sorted(r.points for r in responses) == sorted(d.points for d in draws)
        # "Thank you" moves no point; every other response is one award.
        assert all((r.transaction_id is None) == (r.points == 0) for r in responses)
        paid = sum(r.points for r in responses)
        assert paid <= reserve
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.ENDED  # the last draw ended it
        assert Questionnaire.objects.get(campaign=campaign).released_points == reserve - paid
        document = verify.published(table)
    assert sum(ledger.balance_of(ledger.wallet(c.pk)) for c in consumers) == paid
    assert ledger.balance_of(ledger.merchant_budget(merchant.pk)) == budget - paid
    assert audit() == []

    report = verify.verify(document)
    assert report.ok and report.recomputed == 20, report.problems
    forged = copy.deepcopy(document)
    forged["log"][7][4] = 1 if forged["log"][7][4] != 1 else 2
    assert any("draw 8: its hash" in p for p in verify.verify(forged).problems)
    call_command("verify_prize_draws", merchant.slug, str(campaign.pk))
    with tenant_context(merchant):
        PrizeDraw.objects.filter(table=table, seq=3).update(nonce="altered-nonce-0000")
    with pytest.raises(CommandError, match="draw 3"):
        call_command("verify_prize_draws", merchant.slug, str(campaign.pk))


def test_one_consumer_submitting_twice_at_once_draws_once(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant = _merchant(unique)
    campaign = _survey(merchant, cap=5)
    consumer = _consumers(new_phone, 1)[0]
    jobs: list[Callable[[], object]] = [
        partial(_submit, merchant, consumer, campaign, key, nonce())
        for key in ("tap-1", "tap-2", "tap-1", "tap-2")
    ]
    outcomes = Counter(run_jobs(jobs))
    assert outcomes["ok"] >= 1
    assert set(outcomes) <= {"ok", QuestionnaireErrorCode.ALREADY_RESPONDED}
    with tenant_context(merchant):
        assert PrizeDraw.objects.filter(table__campaign=campaign).count() == 1
        response = Response.objects.get(campaign=campaign, consumer=consumer)
        # A replay answers the same draw.
        again = _submit(merchant, consumer, campaign, response.idempotency_key, nonce())
    assert again.replayed and again.prize is not None
    assert again.prize.points == response.points
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == response.points
    assert audit() == []


def test_refusals_are_coded_and_write_nothing(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    merchant = _merchant(unique)
    campaign = _survey(merchant, cap=3)
    fixed = _survey(merchant, cap=3, tiers=None)
    consumer = _consumers(new_phone, 1)[0]
    awards = Transaction.objects.filter(kind=TransactionKind.AWARD, consumer_id=consumer.pk)

    # Without the page's nonce, or with a malformed one: no draw, no response.
    for draw in (None, "short"):
        with pytest.raises(DomainError) as refused:
            _submit(merchant, consumer, campaign, "k1", draw)
        assert refused.value.code == PrizeErrorCode.INVALID_DRAW_NONCE
    with tenant_context(merchant):
        assert not PrizeDraw.objects.filter(table__campaign=campaign).exists()
        assert not Response.objects.filter(campaign=campaign).exists()
    assert not awards.exists()

    # The terms are locked at activation.
    with tenant_context(merchant), pytest.raises(DomainError) as locked:
        set_prize_table(campaign, TIERS)
    assert locked.value.code == PrizeErrorCode.PRIZE_TERMS_LOCKED

    # A nonce sent to a fixed-points questionnaire: it pays its fixed points.
    done = _submit(merchant, consumer, fixed, "k2", nonce())
    assert done.prize is None and done.response.points == 7
    # (Another merchant's questionnaire may have the same id: committed tests share rows.)
    assert not Account.objects.filter(
        merchant=merchant, ref=f"survey-prize:{fixed.questionnaire.pk}"
    ).exists()

    drawn = _submit(merchant, consumer, campaign, "k3", nonce())
    assert drawn.prize is not None and drawn.prize.seq == 1
    assert drawn.response.points == drawn.prize.points
    assert audit() == []


def test_a_draw_on_an_emptied_reserve_is_refused_and_rolled_back(
    committed_db: None, unique: Callable[[str], str], new_phone: Callable[[], str]
) -> None:
    """The reserve released while a submit waited for the draw log's head (the campaign's
    end does it under the head's lock): the draw finds it empty, the whole statement rolls
    back, and the consumer reads BUDGET_EXHAUSTED, not ALREADY_RESPONDED."""
    merchant = _merchant(unique)
    sure = [TierTerms("一等奖", 100, 1_000_000, None), TierTerms("谢谢参与", 0, 1, None)]
    campaign = _survey(merchant, cap=3, tiers=sure)
    with tenant_context(merchant), transaction.atomic():
        assert questionnaires.release(merchant, campaign) == 300
    consumer = _consumers(new_phone, 1)[0]
    with pytest.raises(DomainError) as refused:
        _submit(merchant, consumer, campaign, "k1", nonce())
    assert refused.value.code == QuestionnaireErrorCode.BUDGET_EXHAUSTED
    with tenant_context(merchant):
        assert PrizeTable.objects.get(campaign=campaign).draws == 0
        assert not Response.objects.filter(campaign=campaign).exists()
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert audit() == []
