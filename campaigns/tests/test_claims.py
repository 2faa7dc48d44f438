"""Scan codes end to end at the service level: format, batch funding, generation, claim."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from accounts.models import User
from campaigns.models import BatchStatus, CampaignStatus, Code, CodeBatch
from campaigns.scan import codes
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign, void_batch
from campaigns.services import set_status
from core.db import connection
from core.errors import DomainError
from points import ledger
from points.audit import audit
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(tenants: Tenants, unique) -> Iterator[Tenants]:
    fund(tenants.acme, 100_000, unique)
    with tenant_context(tenants.acme):
        yield tenants


def _ready_batch(merchant, size: int = 40, points: int = 5, **campaign_kwargs) -> CodeBatch:
    campaign = create_scan_campaign(name="Tea caps", **campaign_kwargs)
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=size, points_per_code=points)
    return generate_batch(batch.pk, chunk_size=7)


def _code(consumer_claim, batch: CodeBatch, serial: int = 0) -> str:
    return Code.objects.get(batch=batch, serial=serial).code


def test_code_format_round_trip_and_typos() -> None:
    code = codes.new_code(codes.encode_merchant(4321))
    assert len(code) == 18 and codes.parse(code).merchant_id == 4321
    assert codes.parse(codes.pretty(code).lower()).code == code
    for position in range(18):
        wrong = code[:position] + ("1" if code[position] != "1" else "2") + code[position + 1 :]
        with pytest.raises(DomainError) as exc:
            codes.parse(wrong)
        assert exc.value.code in {"INVALID_CHECK_CHARACTER"}, (position, wrong)
    with pytest.raises(DomainError) as exc:
        codes.parse("ABC")
    assert exc.value.code == "MALFORMED_CODE"


def test_batch_reserves_generates_and_claims_once(acme: Tenants, consumer: User) -> None:
    merchant = acme.acme
    budget = ledger.merchant_budget(merchant.pk)
    before = ledger.balance_of(budget)
    batch = _ready_batch(merchant)
    assert batch.status == BatchStatus.READY and batch.generated == 40
    assert Code.objects.filter(batch=batch).count() == 40
    assert ledger.balance_of(budget) == before - 200
    code = _code(None, batch)
    result = claim_code(consumer, code, "key-1")
    assert (result.claim.points, result.balance, result.replayed) == (5, 5, False)
    again = claim_code(consumer, code, "key-1")
    assert again.replayed and again.balance == 5
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, code, "key-2")
    assert exc.value.code == "ALREADY_CLAIMED"
    voided = void_batch(merchant, batch)
    assert voided.released_points == 195
    assert ledger.balance_of(budget) == before - 5
    with pytest.raises(DomainError) as exc:
        claim_code(consumer, _code(None, batch, 1), "key-3")
    assert exc.value.code == "CODE_VOIDED"
    assert audit() == []
    connection.set_schema_to_public()


def test_insufficient_budget_creates_nothing(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Too big")
    count = CodeBatch.objects.count()
    with pytest.raises(DomainError) as exc:
        create_batch(acme.acme, campaign, size=5_000_000, points_per_code=1_000)
    assert exc.value.code == "INSUFFICIENT_BUDGET"
    assert CodeBatch.objects.count() == count


def test_batch_beyond_the_ledger_cap_is_refused_on_points_per_code(acme: Tenants) -> None:
    campaign = create_scan_campaign(name="Huge")
    with pytest.raises(DomainError) as exc:
        create_batch(acme.acme, campaign, size=5_000_000, points_per_code=1_000_000)
    assert (exc.value.code, exc.value.field) == ("INVALID_AMOUNT", "pointsPerCode")


def test_progress_moves_in_about_twenty_steps_for_small_batches() -> None:
    from campaigns.scan.generation import CHUNK_SIZE, MIN_CHUNK_SIZE, chunk_size_for

    assert chunk_size_for(1) == MIN_CHUNK_SIZE
    assert chunk_size_for(2_000) == MIN_CHUNK_SIZE  # four commits, four progress steps
    assert chunk_size_for(100_000) == 5_000
    assert chunk_size_for(5_000_000) == CHUNK_SIZE  # big batches keep big COPY chunks
