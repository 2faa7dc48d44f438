"""Ending a campaign while a claim or a submit (a prize draw or not) is in flight: one lock
order, no deadlock.

The order (decision 0318): the campaign's row, then the draw log's head, then the tiers,
then the reserve, then the wallet. The end takes the campaign's row for update; a claim
(or a prize questionnaire's submit) takes it in key-share mode by its first read, so the
two take turns there before either holds anything the other needs.

Each test makes one interleaving happen, not hope for it: a third connection holds the
prize reserve's account row (which both sides need, after the head), the first side is
started and seen waiting in ``pg_stat_activity``, then the second, then the reserve is
let go. Before the fix, the claim started first deadlocked with the end for every kind
(PostgreSQL aborted one side with ``deadlock_detected``), and the claim started second
deadlocked (a prize code), drew after the seed's reveal and rolled back (a prize
questionnaire: BUDGET_EXHAUSTED) or read CODE_VOIDED (a fixed-points code). A fixed-points
code and a fixed-points questionnaire (its one statement, and its slow way in Python
when the consumer's own bucket is empty) are here too: the bucket that pays stands where
the head and the reserve are.
Committed data (``committed_db``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Claim,
    Code,
    PrizeTable,
    Questionnaire,
    Response,
)
from campaigns.models.prizes import TierTerms
from campaigns.prizes.services import set_prize_table
from campaigns.questionnaires import services as questionnaires
from campaigns.scan.claims import claim_code
from campaigns.services import set_status
from points import ledger
from points.audit import audit
from points.models import Account, AccountKind
from tenants.models import Merchant
from tests.fixtures.prizes import merchant_with_prize_codes, nonce
from tests.fixtures.tenants import merchant_with_codes
from tests.test_questionnaire_prizes import QUESTIONS, _merchant

# Every draw pays (so the reserve is touched after the head), and the reserve holds it.
TIERS = [TierTerms("一等奖", 100, 1_000_000, None), TierTerms("谢谢参与", 0, 1, None)]


class _Side(threading.Thread):
    """Work on a connection of its own; its backend's pid, then its result or error."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.work = work
        self.pid: int | None = None
        self.started_pid = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started_pid.set()
            self.result = self.work()
        except BaseException as exc:
            self.error = exc
        finally:
            self.started_pid.set()
            connection.close()


def _start_and_wait_blocked(side: _Side) -> None:
    """Start the side and return once its backend waits for a lock (10 s at most)."""
    side.start()
    assert side.started_pid.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert side.is_alive(), side.error
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [side.pid]
            )
            row = cursor.fetchone()
        if row is not None and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError("the side never waited for a lock")


def _holding(merchant: Merchant, ref: str, release: threading.Event) -> _Side:
    """A side that locks the reserve's account row and holds it until ``release``."""

    def hold() -> None:
        with transaction.atomic():
            Account.objects.select_for_update().get(
                merchant_id=merchant.pk, kind=AccountKind.CAMPAIGN_RESERVE, ref=ref
            )
            holding.set()
            assert release.wait(30)

    holding = threading.Event()
    side = _Side(hold)
    side.start()
    assert holding.wait(10)
    return side


def _scan_prize(
    unique: Callable[[str], str], new_phone: Callable[[], str], consumer: User
) -> tuple[Merchant, Campaign, str, Callable[[], Any]]:
    merchant, batch, found = merchant_with_prize_codes(unique, size=2, tiers=TIERS)
    with tenant_context(merchant):
        campaign = batch.campaign
    return (
        merchant,
        campaign,
        batch.reserve_ref(0),
        lambda: claim_code(consumer, found[0], "lock-order", nonce=nonce()),
    )


def _scan_points(
    unique: Callable[[str], str], new_phone: Callable[[], str], consumer: User
) -> tuple[Merchant, Campaign, str, Callable[[], Any]]:
    """A fixed-points code: the same order, the bucket in place of the head and reserve."""
    merchant, found = merchant_with_codes(unique, size=1, points=100)
    with tenant_context(merchant):
        batch = Code.objects.select_related("batch__campaign").get(code=found[0]).batch
    return (
        merchant,
        batch.campaign,
        batch.reserve_ref(0),
        lambda: claim_code(consumer, found[0], "lock-order"),
    )


def _survey_prize(
    unique: Callable[[str], str], new_phone: Callable[[], str], consumer: User
) -> tuple[Merchant, Campaign, str, Callable[[], Any]]:
    merchant = _merchant(unique)
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="有奖问卷", questions=QUESTIONS, points_per_response=7, max_rewarded_responses=3
        )
        set_prize_table(campaign, TIERS)
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        questionnaire = Questionnaire.objects.get(campaign=campaign)
    return (
        merchant,
        campaign,
        questionnaire.prize_reserve_ref(0),
        lambda: questionnaires.submit_to(
            merchant.pk, consumer, campaign.pk, {"q": 4}, "lock-order", True, nonce=nonce()
        ),
    )


def _end(merchant: Merchant, campaign: Campaign) -> Callable[[], Campaign]:
    def end() -> Campaign:
        with tenant_context(merchant):
            return set_status(merchant, campaign, CampaignStatus.ENDED)

    return end


def _survey(
    unique: Callable[[str], str], new_phone: Callable[[], str], consumer: User, slow: bool
) -> tuple[Merchant, Campaign, str, Callable[[], Any]]:
    """A fixed-points questionnaire: the consumer's own bucket pays (the one statement),
    or, ``slow``, it was emptied by another consumer first and the submit goes the slow
    way (Python, decision 0146), paid by the other bucket."""
    merchant = _merchant(unique)
    cap = 2 if slow else 3
    with tenant_context(merchant):
        campaign = questionnaires.create_questionnaire_campaign(
            name="问卷", questions=QUESTIONS, points_per_response=7, max_rewarded_responses=cap
        )
        set_status(merchant, campaign, CampaignStatus.ACTIVE)
        questionnaire = Questionnaire.objects.get(campaign=campaign)
    own = consumer.pk % cap
    paying = own
    if slow:
        other = User.objects.get_or_create_consumer(new_phone())[0]
        while other.pk % cap != own:  # a consumer whose own bucket is ours
            other = User.objects.get_or_create_consumer(new_phone())[0]
        questionnaires.submit_to(merchant.pk, other, campaign.pk, {"q": 4}, "drain", True)
        paying = 1 - own
    return (
        merchant,
        campaign,
        questionnaire.reserve_ref(paying),
        lambda: questionnaires.submit_to(
            merchant.pk, consumer, campaign.pk, {"q": 4}, "lock-order", True
        ),
    )


SETUPS: dict[str, Callable[..., tuple[Merchant, Campaign, str, Callable[[], Any]]]] = {
    "scan": _scan_prize,
    "questionnaire": _survey_prize,
    "points": _scan_points,
    "survey": partial(_survey, slow=False),
    "survey-slow": partial(_survey, slow=True),
}
PRIZES = {"scan", "questionnaire"}
PAID = {"scan": 100, "questionnaire": 100, "points": 100, "survey": 7, "survey-slow": 7}


@pytest.mark.parametrize("kind", list(SETUPS))
@pytest.mark.parametrize("first", ["draw", "end"])
def test_ending_a_campaign_while_a_claim_is_in_flight(
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    kind: str,
    first: str,
) -> None:
    """Whichever starts first, both finish: a draw that started first lands before the
    end; a draw that started after the end began is refused with CAMPAIGN_ENDED and
    writes nothing. Never deadlock_detected."""
    consumer = User.objects.get_or_create_consumer(new_phone())[0]
    merchant, campaign, ref, draw = SETUPS[kind](unique, new_phone, consumer)
    release = threading.Event()
    holder = _holding(merchant, ref, release)
    drawing, ending = _Side(draw), _Side(_end(merchant, campaign))
    try:
        for side in (drawing, ending) if first == "draw" else (ending, drawing):
            _start_and_wait_blocked(side)
    finally:
        release.set()
        for side in (holder, drawing, ending):
            if side.is_alive() or side.ident is not None:
                side.join(30)
    assert holder.error is None, holder.error
    assert ending.error is None, ending.error

    with tenant_context(merchant):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.ENDED
        table = PrizeTable.objects.filter(campaign=campaign).first()
        draws = table.draws if table is not None else None
        answers = kind.startswith("survey") or kind == "questionnaire"
        paid = (Response if answers else Claim).objects.filter(campaign=campaign, consumer=consumer)
        if first == "draw":
            assert drawing.error is None, drawing.error
            assert draws == (1 if kind in PRIZES else None) and paid.count() == 1
            assert ledger.balance_of(ledger.wallet(consumer.pk)) == PAID[kind]
        else:
            assert drawing.error is not None
            assert getattr(drawing.error, "code", None) == CampaignErrorCode.CAMPAIGN_ENDED, (
                drawing.error
            )
            assert draws == (0 if kind in PRIZES else None) and not paid.exists()
            assert ledger.balance_of(ledger.wallet(consumer.pk)) == 0
    assert audit() == []
