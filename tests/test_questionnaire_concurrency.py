"""Capped questionnaire rewards under real concurrency (threads, committed data)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial

from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign, CampaignStatus, Response
from campaigns.questionnaires import services as questionnaires
from campaigns.services import set_status
from points import ledger, services
from points.audit import audit
from points.models import Account
from tests.fixtures.concurrency import run_jobs
from tests.fixtures.tenants import Tenants

QUESTIONS = [{"id": "q", "type": "rating", "text": "How was it?", "required": True}]


def _submit(tenants: Tenants, consumer: User, campaign: Campaign, answers: dict, key: str):
    with tenant_context(tenants.acme):
        return questionnaires.submit(tenants.acme, consumer, campaign.pk, answers, key)


def _survey(tenants: Tenants, unique, cap: int) -> Campaign:
    services.fund_with_money(
        tenants.acme,
        amount_minor=10_000,
        currency="CNY",
        rate="100",
        payment_reference=unique("pay"),
    )
    with tenant_context(tenants.acme):
        campaign = questionnaires.create_questionnaire_campaign(
            name=unique("survey"),
            questions=QUESTIONS,
            points_per_response=7,
            max_rewarded_responses=cap,
        )
        set_status(tenants.acme, campaign, CampaignStatus.ACTIVE)
    return campaign


def test_cap_of_ten_with_thirty_submitters(
    committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    campaign = _survey(tenants, unique, cap=10)
    consumers = [User.objects.get_or_create_consumer(new_phone())[0] for _ in range(30)]
    jobs: list[Callable[[], object]] = [
        partial(_submit, tenants, c, campaign, {"q": 4}, "k") for c in consumers
    ]
    assert Counter(run_jobs(jobs)) == {"ok": 10, "BUDGET_EXHAUSTED": 20}
    with tenant_context(tenants.acme):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.ENDED
        assert Response.objects.filter(campaign=campaign).count() == 10
        reserve = Account.objects.filter(
            merchant=tenants.acme, ref__startswith=f"survey:{campaign.questionnaire.pk}:"
        )
        assert sum(reserve.values_list("balance", flat=True)) == 0  # fully used
    assert sum(ledger.balance_of(ledger.wallet(c.pk)) for c in consumers) == 70
    assert audit() == []


def test_same_consumer_twice_at_once_gets_one_reward(
    committed_db: None, tenants: Tenants, new_phone, unique
) -> None:
    campaign = _survey(tenants, unique, cap=5)
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    jobs: list[Callable[[], object]] = [
        partial(_submit, tenants, consumer, campaign, {"q": 5}, k)
        for k in ("tap-1", "tap-2", "tap-1", "tap-2")
    ]
    outcomes = Counter(run_jobs(jobs))
    assert outcomes["ok"] >= 1 and set(outcomes) <= {"ok", "ALREADY_RESPONDED"}
    with tenant_context(tenants.acme):
        assert Response.objects.filter(campaign=campaign, consumer=consumer).count() == 1
    assert ledger.balance_of(ledger.wallet(consumer.pk)) == 7
    assert audit() == []
