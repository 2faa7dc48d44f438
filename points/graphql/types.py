"""The wallet, ledger entries, the budget and the points liability, as the APIs show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql_relay import to_global_id

from api.permissions import require_consumer, require_membership
from api.scalars import BigInt
from points import balances, liability, statement, topups
from points.models import Account, AccountKind, Entry, Transaction, TransactionKind

TransactionKindEnum = graphene.Enum(
    "TransactionKind", [(value.upper(), value) for value in TransactionKind.values]
)
AccountKindEnum = graphene.Enum(
    "LedgerAccountKind", [(value.upper(), value) for value in AccountKind.values]
)


class EntryFields:
    """Fields both statements show for one entry (kind and memo come from its transaction)."""

    kind = graphene.Field(TransactionKindEnum, required=True)
    memo = graphene.String(required=True)

    @staticmethod
    def resolve_kind(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.transaction.kind

    @staticmethod
    def resolve_memo(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.transaction.memo


class WalletEntry(EntryFields, DjangoObjectType):
    """One movement of the consumer's wallet: earned (+), redeemed (-), expired (-), …"""

    amount = BigInt(required=True, description="Points; positive adds to the wallet.")
    merchant_name = graphene.String(description="The merchant whose campaign paid, if any.")

    class Meta:
        model = Entry
        interfaces = (graphene.relay.Node,)
        fields = ("id", "amount", "created_at")
        skip_registry = True

    @staticmethod
    def resolve_merchant_name(entry: Entry, info: graphene.ResolveInfo) -> str | None:
        merchant = entry.transaction.merchant
        return merchant.name if merchant else None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Entry], info: graphene.ResolveInfo) -> QuerySet[Entry]:
        consumer = require_consumer(info)
        return queryset.filter(
            account__kind=AccountKind.CONSUMER_WALLET, account__consumer=consumer
        ).select_related("transaction__merchant")


class Wallet(graphene.ObjectType):
    """The consumer's points from every merchant, in one balance."""

    balance = BigInt(required=True)
    expiring_soon = BigInt(
        required=True,
        days=graphene.Int(default_value=30, description="0 to 3,650."),
        description="Points that expire within `days` (default 30) unless spent.",
    )
    next_expiry = graphene.DateTime(description="When the next points expire, if any.")
    history = DjangoConnectionField(WalletEntry, description="Newest first.")

    @staticmethod
    def resolve_balance(account: Account, info: graphene.ResolveInfo) -> int:
        return account.balance

    @staticmethod
    def resolve_expiring_soon(account: Account, info: graphene.ResolveInfo, days: int) -> int:
        return balances.expiring_within(account, days)

    @staticmethod
    def resolve_next_expiry(account: Account, info: graphene.ResolveInfo) -> datetime | None:
        return balances.next_expiry(account)

    @staticmethod
    def resolve_history(account: Account, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Entry.objects.filter(account=account).order_by("-id")


class LedgerEntry(EntryFields, DjangoObjectType):
    """One movement of the merchant's budget or of one of its campaign reserves."""

    amount = BigInt(required=True, description="Points; positive adds to the account.")
    account = graphene.Field(AccountKindEnum, required=True)
    reference = graphene.String(
        required=True, description="The campaign reserve's key; empty for the budget."
    )

    class Meta:
        model = Entry
        interfaces = (graphene.relay.Node,)
        fields = ("id", "amount", "created_at")
        skip_registry = True

    @staticmethod
    def resolve_account(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.account.kind

    @staticmethod
    def resolve_reference(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.account.ref

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Entry], info: graphene.ResolveInfo) -> QuerySet[Entry]:
        merchant = require_membership(info).merchant
        return queryset.filter(account__merchant=merchant).select_related("transaction", "account")


class LedgerPosting(graphene.ObjectType):
    """One posting of a movement on one of the merchant's own accounts."""

    account = graphene.Field(AccountKindEnum, required=True)
    reference = graphene.String(
        required=True, description="The campaign reserve's key; empty for the budget."
    )
    amount = BigInt(required=True, description="Points; positive adds to the account.")

    @staticmethod
    def resolve_account(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.account.kind

    @staticmethod
    def resolve_reference(entry: Entry, info: graphene.ResolveInfo) -> str:
        return entry.account.ref


class LedgerMovement(DjangoObjectType):
    """One business movement of the merchant's points (one ledger transaction): a top-up,
    a batch paid for, a claim, a release. Its postings on the merchant's accounts are
    summed into the budget's and the reserves' change (points/statement.py)."""

    kind = graphene.Field(TransactionKindEnum, required=True)
    budget_change = BigInt(
        required=True, description="Net change of the budget; 0 if it did not move."
    )
    reserve_change = BigInt(
        required=True, description="Net change of the campaign reserves; 0 if they did not move."
    )
    campaign = graphene.ID(description="The Campaign (global ID) the movement was for, if any.")
    postings = graphene.List(
        graphene.NonNull(LedgerPosting),
        required=True,
        description="Its postings on the merchant's budget and reserves, in order.",
    )

    class Meta:
        model = Transaction
        interfaces = (graphene.relay.Node,)
        fields = ("id", "memo", "created_at")
        skip_registry = True

    @staticmethod
    def resolve_budget_change(txn: Transaction, info: graphene.ResolveInfo) -> int:
        return getattr(txn, "budget_change", None) or 0

    @staticmethod
    def resolve_reserve_change(txn: Transaction, info: graphene.ResolveInfo) -> int:
        return getattr(txn, "reserve_change", None) or 0

    @staticmethod
    def resolve_campaign(txn: Transaction, info: graphene.ResolveInfo) -> str | None:
        campaign = statement.campaign_of(txn)
        if campaign is None:
            return None
        # The Campaign node's own ID form (campaigns.graphql.nodes.MerchantNode).
        return to_global_id("Campaign", f"{txn.merchant_id}:{campaign}")

    @staticmethod
    def resolve_postings(txn: Transaction, info: graphene.ResolveInfo) -> list[Entry]:
        prefetched = getattr(txn, "postings", None)
        if prefetched is not None:
            return list(prefetched)
        return list(statement.postings_of(txn))

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Transaction], info: graphene.ResolveInfo
    ) -> QuerySet[Transaction]:
        merchant = require_membership(info).merchant
        return queryset.filter(merchant=merchant).prefetch_related(
            statement.postings_prefetch(merchant.pk)
        )

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Transaction | None:
        merchant = require_membership(info).merchant
        if not str(id).isdigit() or len(str(id)) > 18:
            return None
        return (
            statement.movements(merchant.pk)
            .filter(pk=int(id))
            .prefetch_related(statement.postings_prefetch(merchant.pk))
            .first()
        )


class BudgetMoney(graphene.ObjectType):
    """What points cost the merchant, at the rate of its latest money top-up."""

    rate = graphene.String(required=True, description="Points per major unit (e.g. per yuan).")
    currency = graphene.String(required=True, description="ISO 4217, e.g. CNY.")
    available_minor = BigInt(required=True, description="`available` in minor units (fen).")
    reserved_minor = BigInt(required=True, description="`reserved` in minor units (fen).")


class Budget(graphene.ObjectType):
    available = BigInt(required=True, description="Points free to spend on campaigns.")
    reserved = BigInt(
        required=True, description="Points set aside in campaign reserves, not yet awarded."
    )
    money = graphene.Field(
        BudgetMoney, description="The money equivalent; null before the first money top-up."
    )

    @staticmethod
    def resolve_money(budget: balances.Budget, info: graphene.ResolveInfo) -> BudgetMoney | None:
        price = topups.price_of(require_membership(info).merchant_id)
        if price is None:
            return None
        return BudgetMoney(
            rate=format(price.rate.normalize(), "f"),
            currency=price.currency,
            available_minor=price.money_minor(budget.available),
            reserved_minor=price.money_minor(budget.reserved),
        )


class LiabilityExpiring(graphene.ObjectType):
    days = graphene.Int(required=True)
    points = BigInt(
        required=True, description="Open points expiring before now + `days` (overdue included)."
    )


class LiabilityMonth(graphene.ObjectType):
    month = graphene.Date(required=True, description="First day of the month (server time zone).")
    opening = BigInt(required=True)
    issued = BigInt(required=True, description="Awarded to consumers.")
    redeemed = BigInt(required=True, description="Spent in the mall.")
    expired = BigInt(required=True)
    award_reversals = BigInt(required=True, description="Awards taken back.")
    redeem_reversals = BigInt(
        required=True, description="Spends given back (e.g. cancelled orders)."
    )
    closing = BigInt(required=True)

    resolve_issued = staticmethod(lambda m, info: m.flows.issued)
    resolve_redeemed = staticmethod(lambda m, info: m.flows.redeemed)
    resolve_expired = staticmethod(lambda m, info: m.flows.expired)
    resolve_award_reversals = staticmethod(lambda m, info: m.flows.award_reversals)
    resolve_redeem_reversals = staticmethod(lambda m, info: m.flows.redeem_reversals)


class PointsLiability(graphene.ObjectType):
    """Points the merchant's campaigns paid that consumers still hold (definitions in
    points/liability.py)."""

    outstanding = BigInt(required=True, description="Σ remaining of its open lots.")
    overdue = BigInt(
        required=True, description="Past their expiry date, not yet expired by the hourly task."
    )
    expiring = graphene.List(
        graphene.NonNull(LiabilityExpiring), required=True, description="Within 30, 60, 90 days."
    )
    months = graphene.List(
        graphene.NonNull(LiabilityMonth),
        required=True,
        last=graphene.Int(default_value=12, description=f"1 to {liability.MAX_MONTHS}."),
        description="Months with movements, oldest first: the last `last` of them.",
    )

    @staticmethod
    def resolve_expiring(root: liability.MerchantLiability, info: Any) -> list[LiabilityExpiring]:
        return [LiabilityExpiring(days=d, points=p) for d, p in root.expiring.items()]

    @staticmethod
    def resolve_months(
        root: liability.MerchantLiability, info: Any, last: int
    ) -> list[liability.Month]:
        return root.last_months(last)
