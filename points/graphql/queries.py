"""The ledger's query root pieces: the consumer's wallet; the merchant's budget and
statement, and its points liability (``LiabilityQueries``, placed apart in the merchant
schema: api/schema.py)."""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoConnectionField

from accounts.models import User
from api.permissions import require_consumer, require_membership
from points import balances, ledger, liability
from points.graphql.types import Budget, LedgerEntry, PointsLiability, Wallet
from points.models import Account, Entry
from tenants.models import Role


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
    def resolve_budget(root: Any, info: graphene.ResolveInfo) -> balances.Budget:
        return balances.budget_of(require_membership(info).merchant.pk)

    @staticmethod
    def resolve_ledger(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Entry.objects.order_by("-id")


class LiabilityQueries(graphene.ObjectType):
    points_liability = graphene.Field(PointsLiability, required=True)

    @staticmethod
    def resolve_points_liability(
        root: Any, info: graphene.ResolveInfo
    ) -> liability.MerchantLiability:
        merchant = require_membership(info, Role.ADMIN).merchant
        return liability.merchant_liability(merchant.pk)
