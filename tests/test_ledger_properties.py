"""Hypothesis drives the ledger through the real services in random order.

The state machine funds a merchant, creates code batches (reserving their points),
claims codes (also replaying a claim with its idempotency key), redeems in the mall,
cancels orders, expires lots and reverses arbitrary earlier transactions, for two
consumers. A simple model predicts every balance; after each step:

- ``points.audit.audit()`` finds nothing (every transaction sums to zero, every
  materialised balance equals its entries and is not negative, lots match);
- each balance equals the model's (budget, reserves, wallets, what the mall and
  expiry received, what issuance paid out);
- points are conserved: what issuance paid out equals budget + reserves +
  wallets + mall + expired, from the database, not the model.

A step the model says must succeed has to succeed; a refusal has to be a
``DomainError`` with a code and move nothing. Every example gets a merchant and
consumers of its own; everything rolls back with the test's transaction.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from accounts.models import User
from campaigns import services as campaigns
from campaigns.models import CampaignStatus, Code
from campaigns.scan import services as scan_services
from campaigns.scan.claims import claim_code
from campaigns.scan.generation import generate_batch
from core.errors import DomainError
from points import ledger
from points import services as points
from points.audit import audit
from points.models import Account, AccountKind, Entry, Lot, Transaction
from redemption import services as mall
from redemption.models import Address, Category, Order, OrderStatus, Product, ProductStatus
from tenants.onboarding import create_merchant

PRICE = 7  # points per item in the mall
FAR_FUTURE = timedelta(days=3650)


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class LedgerMachine(RuleBasedStateMachine):
    codes = Bundle("codes")
    orders = Bundle("orders")
    transactions = Bundle("transactions")

    @initialize(target=codes)
    def setup(self) -> Any:
        cache.clear()  # claim rate limits count per consumer; examples must not add up
        self.merchant = create_merchant(slug=_key("prop"), name="Property merchant")
        self.consumers = [
            User.objects.get_or_create_consumer(f"+86137{uuid.uuid4().int % 10**8:08d}")[0]
            for _ in range(2)
        ]
        for consumer in self.consumers:
            Address.objects.create(
                consumer=consumer,
                recipient="张三",
                phone="13800138000",
                region="上海",
                street="1号",
            )
        with tenant_context(self.merchant):
            self.campaign = scan_services.create_scan_campaign(name="Caps")
            campaigns.set_status(self.merchant, self.campaign, CampaignStatus.ACTIVE)
        self.product = mall.save_product(
            Product(
                title="Tea",
                category=Category.objects.create(slug=_key("cat"), name="Tea"),
                points_price=PRICE,
                stock=10_000,
                status=ProductStatus.LISTED,
            )
        )
        # The model: what each balance must be.
        self.funded = self.budget = self.reserve = self.spent = self.expired = 0
        self.wallets = [0, 0]
        self.claimed: dict[str, tuple[int, str]] = {}  # code -> (consumer index, key)
        self.code_points: dict[str, int] = {}
        # Points in both wallets from the start, so that redeem, cancel and expire are
        # reached within a few steps (through the same rules, model and checks).
        self.fund(2_000)
        found = self.create_batch(size=6, points_per_code=20)
        codes = list(found.values)
        for i, code in enumerate(codes[:4]):
            self.claim(code, i % 2)
        return multiple(*codes)

    # --- Rules ---------------------------------------------------------------------

    @rule(target=transactions, amount=st.integers(1, 5_000))
    def fund(self, amount: int) -> Transaction:
        funding = points.fund_with_money(
            self.merchant,
            amount_minor=amount,
            currency="CNY",
            rate="100",  # one point per fen
            payment_reference=_key("pay"),
        )
        self.funded += amount
        self.budget += amount
        return funding.transaction

    @rule(target=codes, size=st.integers(1, 4), points_per_code=st.integers(1, 400))
    def create_batch(self, size: int, points_per_code: int) -> Any:
        cost = size * points_per_code
        with tenant_context(self.merchant):
            try:
                batch = scan_services.create_batch(
                    self.merchant, self.campaign, size=size, points_per_code=points_per_code
                )
            except DomainError as exc:
                assert cost > self.budget, exc
                assert exc.code == "INSUFFICIENT_BUDGET"
                return multiple()
            assert cost <= self.budget
            generate_batch(batch.pk)  # the task runs on commit, which never comes here
            found = list(Code.objects.filter(batch_id=batch.pk).values_list("code", flat=True))
        assert len(found) == size
        self.budget -= cost
        self.reserve += cost
        for code in found:
            self.code_points[code] = points_per_code
        return multiple(*found)

    @rule(code=codes, who=st.integers(0, 1))
    def claim(self, code: str, who: int) -> None:
        key = _key("claim")
        cache.clear()  # the guessing cool-down is tested elsewhere; here it would refuse
        try:
            result = claim_code(self.consumers[who], code, key)
        except DomainError as exc:
            assert code in self.claimed, exc  # only a used code may be refused
            assert exc.code == "ALREADY_CLAIMED"
            return
        assert code not in self.claimed and not result.replayed
        self.claimed[code] = (who, key)
        self.wallets[who] += self.code_points[code]
        self.reserve -= self.code_points[code]
        assert result.balance == self.wallets[who]

    @rule(code=codes)
    def retry_claim(self, code: str) -> None:
        """The phone retries a claim with the same idempotency key: nothing moves."""
        if code not in self.claimed:
            return
        who, key = self.claimed[code]
        result = claim_code(self.consumers[who], code, key)
        assert result.replayed

    @rule(target=orders, who=st.integers(0, 1), quantity=st.integers(1, 3))
    def redeem(self, who: int, quantity: int) -> Any:
        consumer = self.consumers[who]
        address = Address.objects.filter(consumer=consumer).first()
        try:
            redemption = mall.redeem(
                consumer,
                self.product.pk,
                quantity,
                idempotency_key=_key("redeem"),
                address_id=address.pk if address else None,
            )
        except DomainError as exc:
            assert exc.code == "INSUFFICIENT_POINTS", exc
            assert quantity * PRICE > self.wallets[who]
            return multiple()
        total = quantity * PRICE
        assert total <= self.wallets[who]
        self.wallets[who] -= total
        self.spent += total
        return (who, redemption.order.pk)

    @rule(order=consumes(orders))
    def cancel(self, order: tuple[int, int]) -> None:
        who, order_id = order
        placed = Order.objects.get(pk=order_id)
        try:
            mall.cancel(placed, self.consumers[who])
        except DomainError as exc:
            # Its debit was already reversed by the ``reverse`` rule.
            assert exc.code == "ALREADY_REVERSED", exc
            return
        assert Order.objects.get(pk=order_id).status == OrderStatus.CANCELLED
        self.wallets[who] += placed.total_points
        self.spent -= placed.total_points

    @rule(who=st.integers(0, 1))
    def expire(self, who: int) -> None:
        """Time passes: every lot of the wallet is past its date and expires."""
        wallet = ledger.wallet(self.consumers[who].pk)
        now = timezone.now() + FAR_FUTURE
        for lot_id in Lot.objects.filter(account=wallet, remaining__gt=0).values_list(
            "pk", flat=True
        ):
            points.expire_lot(lot_id, now=now)
        self.expired += self.wallets[who]
        self.wallets[who] = 0

    @rule(original=transactions)
    def reverse(self, original: Transaction) -> None:
        deltas = self._deltas(original)
        try:
            points.reverse(original, idempotency_key=_key("reverse"))
        except DomainError as exc:
            # Reversed already, or the points have moved on (spent, reserved, expired).
            assert exc.code in {
                "ALREADY_REVERSED",
                "INSUFFICIENT_BUDGET",
                "INSUFFICIENT_POINTS",
                "NOT_REVERSIBLE",
            }, exc
            return
        self.budget -= deltas["budget"]
        self.reserve -= deltas["reserve"]
        self.spent -= deltas["mall"]
        self.funded += deltas["issuance"]
        for i in range(2):
            self.wallets[i] -= deltas[f"wallet{i}"]

    @rule(target=transactions, data=st.data())
    def remember_a_transaction(self, data: st.DataObject) -> Any:
        """Awards and spends become candidates for ``reverse`` too."""
        mine = Transaction.objects.filter(
            merchant_id=self.merchant.pk
        ) | Transaction.objects.filter(consumer_id__in=[c.pk for c in self.consumers])
        ids = sorted(mine.values_list("pk", flat=True))
        if not ids:
            return multiple()
        return Transaction.objects.get(pk=data.draw(st.sampled_from(ids)))

    # --- Checks --------------------------------------------------------------------

    def _category(self, account: Account) -> str:
        if account.kind == AccountKind.MERCHANT_BUDGET:
            return "budget"
        if account.kind == AccountKind.CAMPAIGN_RESERVE:
            return "reserve"
        if account.kind == AccountKind.MALL:
            return "mall"
        if account.kind == AccountKind.ISSUANCE:
            return "issuance"
        if account.kind == AccountKind.EXPIRED:
            return "expired"
        if account.kind == AccountKind.CONSUMER_WALLET:
            consumer_ids: list[int | None] = [c.pk for c in self.consumers]
            return f"wallet{consumer_ids.index(account.consumer_id)}"
        raise AssertionError(f"no category for {account}")

    def _deltas(self, txn: Transaction) -> dict[str, int]:
        deltas = dict.fromkeys(
            ["budget", "reserve", "mall", "issuance", "expired", "wallet0", "wallet1"], 0
        )
        for entry in txn.entries.select_related("account"):
            deltas[self._category(entry.account)] += entry.amount
        return deltas

    def _platform_total(self, kind: AccountKind) -> int:
        """What a platform account received from this example's transactions."""
        mine = Entry.objects.filter(account__kind=kind).filter(
            transaction__merchant_id=self.merchant.pk
        ) | Entry.objects.filter(account__kind=kind).filter(
            transaction__consumer_id__in=[c.pk for c in self.consumers]
        )
        return mine.aggregate(s=Sum("amount"))["s"] or 0

    @invariant()
    def ledger_is_sound(self) -> None:
        assert audit() == []

    @invariant()
    def balances_match_the_model(self) -> None:
        budget = ledger.balance_of(ledger.merchant_budget(self.merchant.pk))
        reserve = (
            Account.objects.filter(
                kind=AccountKind.CAMPAIGN_RESERVE, merchant_id=self.merchant.pk
            ).aggregate(s=Sum("balance"))["s"]
            or 0
        )
        wallets = [ledger.balance_of(ledger.wallet(c.pk)) for c in self.consumers]
        mall_in = self._platform_total(AccountKind.MALL)
        expired_in = self._platform_total(AccountKind.EXPIRED)
        issued = -self._platform_total(AccountKind.ISSUANCE)
        assert min(budget, reserve, *wallets) >= 0
        assert (budget, reserve, wallets, mall_in, expired_in, issued) == (
            self.budget,
            self.reserve,
            self.wallets,
            self.spent,
            self.expired,
            self.funded,
        )
        # Conservation, from the database alone.
        assert issued == budget + reserve + sum(wallets) + mall_in + expired_in


@pytest.mark.django_db
def test_ledger_state_machine(tenants: Any) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            # About 40 s on two cores; raise for a longer hunt.
            max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "20")),
            stateful_step_count=15,
            deadline=None,
            database=None,  # no .hypothesis/ directory in the worktree
            suppress_health_check=list(HealthCheck),
        ),
    )
