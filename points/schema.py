"""GraphQL for the ledger: the consumer's wallet and the merchant's budget and statement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import graphene
from django.db.models import QuerySet, Sum
from django.utils import timezone
from graphene_django import DjangoConnectionField, DjangoObjectType

from accounts.models import User
from api.permissions import require_consumer, require_membership
from points import ledger
from points.models import Account, AccountKind, Entry, Lot, TransactionKind

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

    amount = graphene.BigInt(required=True, description="Points; positive adds to the wallet.")
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

    balance = graphene.BigInt(required=True)
    expiring_soon = graphene.BigInt(
        required=True,
        days=graphene.Int(default_value=30),
        description="Points that expire within `days` (default 30) unless spent.",
    )
    next_expiry = graphene.DateTime(description="When the next points expire, if any.")
    history = DjangoConnectionField(WalletEntry, description="Newest first.")

    @staticmethod
    def resolve_balance(account: Account, info: graphene.ResolveInfo) -> int:
        return account.balance

    @staticmethod
    def resolve_expiring_soon(account: Account, info: graphene.ResolveInfo, days: int) -> int:
        horizon = timezone.now() + timedelta(days=max(0, min(days, 3650)))
        open_lots = Lot.objects.filter(account=account, remaining__gt=0, expires_at__lte=horizon)
        return open_lots.aggregate(s=Sum("remaining"))["s"] or 0

    @staticmethod
    def resolve_next_expiry(account: Account, info: graphene.ResolveInfo) -> datetime | None:
        return (
            Lot.objects.filter(account=account, remaining__gt=0)
            .order_by("expires_at")
            .values_list("expires_at", flat=True)
            .first()
        )

    @staticmethod
    def resolve_history(account: Account, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Entry.objects.filter(account=account).order_by("-id")


class LedgerEntry(EntryFields, DjangoObjectType):
    """One movement of the merchant's budget or of one of its campaign reserves."""

    amount = graphene.BigInt(required=True, description="Points; positive adds to the account.")
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


class Budget(graphene.ObjectType):
    available = graphene.BigInt(required=True, description="Points free to spend on campaigns.")
    reserved = graphene.BigInt(
        required=True, description="Points set aside in campaign reserves, not yet awarded."
    )


class ConsumerQueries(graphene.ObjectType):
    wallet = graphene.Field(Wallet, required=True)

    @staticmethod
    def resolve_wallet(root: Any, info: graphene.ResolveInfo) -> Account:
        consumer: User = require_consumer(info)
        return ledger.wallet(consumer.pk)


class MerchantQueries(graphene.ObjectType):
    budget = graphene.Field(Budget, required=True)
    ledger = DjangoConnectionField(LedgerEntry, description="Budget and reserves, newest first.")

    @staticmethod
    def resolve_budget(root: Any, info: graphene.ResolveInfo) -> Budget:
        merchant = require_membership(info).merchant
        totals = dict(
            Account.objects.filter(merchant=merchant)
            .values("kind")
            .annotate(total=Sum("balance"))
            .values_list("kind", "total")
        )
        return Budget(
            available=totals.get(AccountKind.MERCHANT_BUDGET, 0),
            reserved=totals.get(AccountKind.CAMPAIGN_RESERVE, 0),
        )

    @staticmethod
    def resolve_ledger(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Entry.objects.order_by("-id")
