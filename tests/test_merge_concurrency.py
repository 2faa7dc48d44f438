"""Account merges under real concurrency: threads with their own connections, real commits.

A merge locks both users, then both wallets in id order; a claim or a redeem locks the
wallet it moves. Whatever interleaves, no point is lost or made twice: every point is
either in the survivor's wallet or spent in the mall, a claim that reaches the merged
wallet after the merge is refused (ACCOUNT_MERGED) and its code stays free, and the
ledger's audit is clean. ``committed_db``: each test works on rows of its own.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from accounts import merge as merging
from accounts.models import User
from campaigns.models import Claim, Code
from campaigns.scan.claims import claim_code
from core.db import connection
from core.errors import DomainError
from points import ledger
from points.audit import audit
from redemption import services as mall
from redemption.models import Category, Product, ProductKind, ProductStatus
from tests.fixtures.concurrency import run_in_threads
from tests.fixtures.tenants import merchant_with_codes


@pytest.fixture(autouse=True)
def _test_database_only(django_db_setup: None) -> None:
    name = connection.settings_dict["NAME"]
    assert name.startswith("test_"), f"refusing to commit into {name!r}"


def test_the_shared_ledger_is_consistent(db: None) -> None:
    """Makes pytest-django create the test database when only this module runs."""
    assert audit() == []


def _consumers(new_phone, count: int) -> list[User]:
    found = []
    for _ in range(count):
        user, _created = User.objects.get_or_create_consumer(new_phone())
        found.append(user)
    return found


def _outcome(result: tuple[str, object]) -> str:
    status, value = result
    if status == "ok":
        return "ok"
    assert isinstance(value, DomainError), value
    return str(value.code)


def _balance(user: User) -> int:
    return ledger.balance_of(ledger.wallet(user.pk))


def test_one_of_many_identical_merges_happens_once(committed_db: None, new_phone, unique) -> None:
    _merchant, found = merchant_with_codes(unique, 2, 25)
    survivor = User.objects.create()
    merged = User.objects.create(phone=new_phone())
    claim_code(survivor, found[0], unique("c"))
    claim_code(merged, found[1], unique("c"))

    results = run_in_threads(8, lambda i: merging.merge(survivor.pk, merged.pk))

    assert Counter(_outcome(r) for r in results) == {"ok": 1, "MERGE_TOKEN_INVALID": 7}
    assert (_balance(survivor), _balance(merged)) == (50, 0)
    assert User.objects.get(pk=merged.pk).merged_into_id == survivor.pk
    assert audit() == []


def test_merges_in_opposite_directions_leave_one_account(
    committed_db: None, new_phone, unique
) -> None:
    _merchant, found = merchant_with_codes(unique, 2, 10)
    a = User.objects.create()
    b = User.objects.create(phone=new_phone())
    claim_code(a, found[0], unique("c"))
    claim_code(b, found[1], unique("c"))

    results = run_in_threads(
        8, lambda i: merging.merge(a.pk, b.pk) if i % 2 else merging.merge(b.pk, a.pk)
    )

    assert Counter(_outcome(r) for r in results) == {"ok": 1, "MERGE_TOKEN_INVALID": 7}
    live = [u for u in User.objects.filter(pk__in=[a.pk, b.pk]) if u.is_active]
    assert len(live) == 1 and _balance(live[0]) == 20
    assert audit() == []


def test_claims_racing_a_merge_land_in_the_survivor_or_are_refused_and_stay_free(
    committed_db: None, new_phone, unique
) -> None:
    claims = 30
    merchant, found = merchant_with_codes(unique, claims, 7)
    survivor = User.objects.create(phone=new_phone())
    merged = User.objects.create()

    def work(i: int) -> object:
        if i == claims:
            return merging.merge(survivor.pk, merged.pk)
        return claim_code(merged, found[i], unique(f"c{i}"))

    results = run_in_threads(claims + 1, work)

    outcomes = Counter(_outcome(r) for r in results)
    assert _outcome(results[claims]) == "ok"
    refused = outcomes.get("ACCOUNT_MERGED", 0)
    assert outcomes["ok"] + refused == claims + 1, outcomes
    with tenant_context(merchant):
        taken = Claim.objects.filter(code_id__in=found).count()
        free = Code.objects.filter(code__in=found, claimed_at__isnull=True).count()
        # Every claim that counted is the survivor's, whenever it ran.
        assert set(
            Claim.objects.filter(code_id__in=found).values_list("consumer_id", flat=True)
        ) <= {survivor.pk}
    assert taken == claims - refused and free == refused
    assert (_balance(survivor), _balance(merged)) == (7 * taken, 0)
    assert audit() == []


def test_redeems_racing_a_merge_spend_each_point_once(
    committed_db: None, new_phone, unique
) -> None:
    redeems = 20
    _merchant, found = merchant_with_codes(unique, redeems, 10)
    survivor = User.objects.create(phone=new_phone())
    merged = User.objects.create(phone=None)
    for code in found:
        claim_code(merged, code, unique("c"))
    category, _ = Category.objects.get_or_create(slug="merge-race", defaults={"name": "Race"})
    coupon = mall.save_product(
        Product(
            title=unique("Coupon"),
            category=category,
            kind=ProductKind.COUPON,
            points_price=10,
            stock=0,
            status=ProductStatus.LISTED,
        )
    )
    mall.upload_coupons(coupon, "\n".join(unique("coupon") for _ in range(redeems)))

    def work(i: int) -> object:
        if i == redeems:
            return merging.merge(survivor.pk, merged.pk)
        return mall.redeem(merged, coupon.pk, 1, idempotency_key=unique(f"r{i}"))

    results = run_in_threads(redeems + 1, work)

    assert _outcome(results[redeems]) == "ok"
    outcomes = Counter(_outcome(r) for r in results[:redeems])
    assert set(outcomes) <= {"ok", "INSUFFICIENT_POINTS"}, outcomes
    sold = redeems - Product.objects.get(pk=coupon.pk).stock
    assert sold == outcomes["ok"]
    # Every point earned is either spent once or in the survivor's wallet.
    assert _balance(survivor) + 10 * sold == 10 * redeems and _balance(merged) == 0
    assert audit() == []
