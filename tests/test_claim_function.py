"""The claim's SQL function against the rules the models state, and the installed
functions against their files.

``campaigns_claim_code`` (campaigns/scan/sql/) decides in SQL what the models decide in
Python: whether a campaign is claimable (``Campaign.ensure_claimable``), whether a
merchant may award (``Merchant.ensure_can_award``), which reserve bucket a code draws
from (``CodeBatch.reserve_ref``). These sweeps put both sides to every case and
require the same verdict, so that a rule changed on one side fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import Campaign, CampaignStatus, Claim, Code, CodeBatch, PrizeDraw
from campaigns.reserves import RESERVE_BUCKETS
from campaigns.scan.claims import claim_code
from core.db import connection
from core.db.functions import install
from core.errors import DomainError
from points.models import Account, Entry, Transaction
from privacy import consent as merchant_consent
from privacy.error_codes import PrivacyErrorCode
from privacy.errors import PrivacyError
from privacy.models import MerchantConsent
from tenants.models import Merchant, MerchantStatus
from tests.fixtures.prizes import merchant_with_prize_codes, nonce
from tests.fixtures.tenants import merchant_with_codes

SQL_FUNCTIONS = {
    "campaigns_claim_code": ("campaigns", "scan/sql/campaigns_claim_code.sql"),
    "campaigns_claim_prize": ("campaigns", "prizes/sql/campaigns_claim_prize.sql"),
    "points_post": ("points", "sql/points_post.sql"),
    "campaigns_submit_response": (
        "campaigns",
        "questionnaires/sql/campaigns_submit_response.sql",
    ),
    "campaigns_submit_prize": ("campaigns", "questionnaires/sql/campaigns_submit_prize.sql"),
    "redemption_redeem": ("redemption", "sql/redemption_redeem.sql"),
    "privacy_consented": ("privacy", "sql/privacy_consented.sql"),
}


@pytest.fixture
def shop(committed_db: None, unique: Callable[[str], str]) -> Iterator[tuple[Merchant, list[str]]]:
    # Committed, as in production: the claim runs as its own statement (autocommit),
    # not in a test's transaction.
    yield merchant_with_codes(unique, size=60, points=3)


@pytest.fixture
def shopper(shop: tuple[Merchant, list[str]], new_phone: Callable[[], str]) -> User:
    user, _created = User.objects.get_or_create_consumer(new_phone())
    return user


def _verdict(action: Callable[[], object]) -> str:
    try:
        action()
    except DomainError as exc:
        return str(exc.code)
    return "ok"


MOMENTS: list[tuple[str, timedelta | None, timedelta | None]] = [
    ("open", None, None),
    ("not yet", timedelta(hours=1), None),
    ("started", -timedelta(hours=1), None),
    ("ending", None, timedelta(hours=1)),
    ("ended", None, -timedelta(seconds=1)),
    ("window", -timedelta(hours=1), timedelta(hours=1)),
    ("future window", timedelta(hours=1), timedelta(hours=2)),
    ("past window", -timedelta(hours=2), -timedelta(hours=1)),
]


def test_the_function_refuses_exactly_the_campaigns_the_model_refuses(
    shop: tuple[Merchant, list[str]], new_phone: Callable[[], str]
) -> None:
    merchant, codes = shop
    cases = [(status, moment) for status in CampaignStatus.values for moment in MOMENTS]
    assert len(codes) >= len(cases)
    for n, (status, (label, start, end)) in enumerate(cases):
        now: datetime = timezone.now()
        with tenant_context(merchant):
            campaign = Campaign.objects.get(batches__codes__code=codes[n])
            Campaign.objects.filter(pk=campaign.pk).update(
                status=status,
                starts_at=now + start if start is not None else None,
                ends_at=now + end if end is not None else None,
            )
            campaign.refresh_from_db()
        expected = _verdict(partial(campaign.ensure_claimable, timezone.now()))
        consumer, _created = User.objects.get_or_create_consumer(new_phone())
        got = _verdict(partial(claim_code, consumer, codes[n], f"k{codes[n]}"))
        assert got == expected, (status, label)


def test_the_function_refuses_exactly_the_merchants_the_model_refuses(
    shop: tuple[Merchant, list[str]], shopper: User
) -> None:
    merchant, codes = shop
    for n, status in enumerate(MerchantStatus.values):
        Merchant.objects.filter(pk=merchant.pk).update(status=status)
        merchant.refresh_from_db()
        expected = _verdict(merchant.ensure_can_award)
        got = _verdict(partial(claim_code, shopper, codes[n], f"k{codes[n]}"))
        assert got == expected, status


def test_each_code_draws_on_the_bucket_its_batch_names(
    shop: tuple[Merchant, list[str]], shopper: User
) -> None:
    merchant, codes = shop
    for code in codes[: RESERVE_BUCKETS + 3]:
        result = claim_code(shopper, code, f"k{code}")
        with tenant_context(merchant):
            found = Code.objects.select_related("batch").get(code=code)
            batch: CodeBatch = found.batch
            assert Claim.objects.get(code_id=code).transaction_id == result.claim.transaction_id
        assert result.claim.transaction_id is not None  # fixed points always post
        debited = Entry.objects.get(transaction_id=result.claim.transaction_id, amount__lt=0)
        account = Account.objects.get(pk=debited.account_id)
        assert account.ref == batch.reserve_ref(found.serial % RESERVE_BUCKETS)
        assert account.merchant_id == merchant.pk


def _body(sql: str) -> str:
    found = re.search(r"\$\$(.*)\$\$", sql, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(SQL_FUNCTIONS))
def test_the_database_runs_the_function_its_file_holds(name: str) -> None:
    app, path = SQL_FUNCTIONS[name]
    text = (Path(apps.get_app_config(app).path) / path).read_text()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname = %s",
            [name],
        )
        installed = [row[0] for row in cursor.fetchall()]
    assert installed == [_body(text)], f"{name}: one function, as {path} has it"


@pytest.mark.django_db
def test_migrate_reinstalls_a_function_changed_in_the_database() -> None:
    # A planted violation: the installed body drifts from the file (a hand edit, an old
    # deploy); the installer puts the file's back, as every migrate does.
    app, path = SQL_FUNCTIONS["points_post"]
    file = Path(apps.get_app_config(app).path) / path
    with connection.cursor() as cursor:
        cursor.execute(file.read_text().replace("balances := '{}';", "balances := '{0}';"))
    with pytest.raises(AssertionError):
        test_the_database_runs_the_function_its_file_holds("points_post")
    install([file])
    test_the_database_runs_the_function_its_file_holds("points_post")


# --- The consent to share with the merchant, checked by the claim's functions -----------
#
# campaigns_claim_code and campaigns_claim_prize read the consumer's live consent of the
# version asked (privacy.consent.required) before anything else and answer 'consent'
# having written nothing; Python records the consent when the same tap gave it and calls
# again, or refuses as privacy.consent.ensure does (decision 0333). Shown to fail (every
# state claimed, code taken, points posted) with the check planted as FALSE in either
# function; with campaigns_claim_prize's alone, the prize path fails.

CONSENT_STATES = ["none", "withdrawn", "old version"]


def put_consent(consumer: User, merchant: Merchant, state: str) -> None:
    """The consumer's consent rows with the merchant, as ``state`` names them."""
    if state == "none":
        return
    MerchantConsent.objects.create(
        user=consumer,
        merchant=merchant,
        version=merchant_consent.MERCHANT_CONSENT_VERSION if state == "withdrawn" else "2000-01-01",
        channel=MerchantConsent.Channel.CLAIM,
        withdrawn_at=timezone.now() if state == "withdrawn" else None,
    )


def assert_refused_for_consent(merchant: Merchant, action: Callable[[], object]) -> None:
    with pytest.raises(PrivacyError) as refused:
        action()
    assert refused.value.code == PrivacyErrorCode.MERCHANT_CONSENT_REQUIRED
    assert refused.value.field == "shareWithMerchant"
    assert merchant.name in str(refused.value.message)


def assert_nothing_claimed(merchant: Merchant, consumer: User, code: str) -> None:
    with tenant_context(merchant):
        found = Code.objects.get(code=code)
        assert (found.claimed_by_id, found.claimed_at) == (None, None)
        assert not Claim.objects.filter(consumer=consumer).exists()
        assert not PrizeDraw.objects.filter(code=code).exists()
    assert not Transaction.objects.filter(consumer=consumer).exists()
    assert not Entry.objects.filter(consumer=consumer).exists()


@pytest.fixture
def asked(settings: Any) -> None:
    settings.MERCHANT_CONSENT_REQUIRED = True


def shop_for(
    path: str, unique: Callable[[str], str], size: int
) -> tuple[Merchant, list[str], Callable[[], str | None]]:
    """A merchant with ``size`` codes of a fixed-points ("points") or a prize campaign, and
    what each claim sends as its draw nonce (none for fixed points)."""
    if path == "points":
        merchant, codes = merchant_with_codes(unique, size=size, points=3)
        return merchant, codes, lambda: None
    merchant, _batch, codes = merchant_with_prize_codes(unique, size=size)
    return merchant, codes, nonce


@pytest.mark.parametrize("path", ["points", "prize"])
def test_a_claim_without_a_live_consent_writes_nothing_and_its_own_tap_consents_once(
    asked: None,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    path: str,
) -> None:
    merchant, codes, draw = shop_for(path, unique, len(CONSENT_STATES))
    for state, code in zip(CONSENT_STATES, codes, strict=True):
        consumer, _created = User.objects.get_or_create_consumer(new_phone())
        put_consent(consumer, merchant, state)
        key = f"k{code}"

        for share in (False, False):  # refused, and refused again: nothing half-written
            assert_refused_for_consent(
                merchant,
                partial(claim_code, consumer, code, key, share_with_merchant=share, nonce=draw()),
            )
            assert_nothing_claimed(merchant, consumer, code)

        result = claim_code(consumer, code, key, share_with_merchant=True, nonce=draw())
        assert not result.replayed and (result.prize is not None) == (path == "prize"), state
        [live] = MerchantConsent.objects.filter(
            user=consumer, merchant=merchant, withdrawn_at__isnull=True
        )
        assert live.version == merchant_consent.MERCHANT_CONSENT_VERSION, state
        assert live.channel == MerchantConsent.Channel.CLAIM
        # Once: the replay of the same tap answers the claim, consenting nothing more.
        again = claim_code(consumer, code, key, share_with_merchant=True, nonce=draw())
        assert again.replayed and again.claim.pk == result.claim.pk, state
        with tenant_context(merchant):
            assert Claim.objects.filter(consumer=consumer).count() == 1
        assert Transaction.objects.filter(consumer=consumer).count() <= 1  # "thank you": none
        assert MerchantConsent.objects.filter(user=consumer, withdrawn_at__isnull=True).count() == 1


@pytest.mark.parametrize("path", ["points", "prize"])
def test_a_withdrawal_refuses_the_very_next_claim_whatever_the_cache_says(
    asked: None,
    committed_db: None,
    unique: Callable[[str], str],
    new_phone: Callable[[], str],
    path: str,
) -> None:
    merchant, codes, draw = shop_for(path, unique, 2)
    consumer, _created = User.objects.get_or_create_consumer(new_phone())
    claim_code(consumer, codes[0], "k1", share_with_merchant=True, nonce=draw())
    assert merchant_consent.has_consented(consumer.pk, merchant.pk)  # cached: yes
    # Withdrawn in the rows alone: the cache's entry still says yes, and is not asked.
    MerchantConsent.objects.filter(user=consumer).update(withdrawn_at=timezone.now())
    assert merchant_consent.has_consented(consumer.pk, merchant.pk)

    assert_refused_for_consent(
        merchant, partial(claim_code, consumer, codes[1], "k2", nonce=draw())
    )
    with tenant_context(merchant):
        assert (Code.objects.get(code=codes[1]).claimed_at, Claim.objects.count()) == (None, 1)
