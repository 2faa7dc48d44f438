"""The ledger's query root pieces: the consumer's wallet; the merchant's budget and
statement, and its points liability (``LiabilityQueries``, placed apart in the merchant
schema: api/schema.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField
from graphql_relay import from_global_id

from accounts.models import User
from api.permissions import require_consumer, require_membership
from api.types import DownloadLink
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from points import balances, ledger, liability, statement
from points.downloads import LEDGER_CSV
from points.graphql.types import (
    Budget,
    LedgerEntry,
    LedgerMovement,
    PointsLiability,
    TransactionKindEnum,
    Wallet,
)
from points.models import Account, Entry, Transaction
from tenants.models import Role


def _statement_filter(
    merchant_id: int,
    since: datetime | None,
    until: datetime | None,
    kind: str | None,
    campaign: str | None,
) -> statement.StatementFilter:
    campaign_id = None
    if campaign is not None:
        # A Campaign's global ID is "<merchant id>:<pk>" (campaigns.graphql.nodes).
        try:
            type_name, value = from_global_id(campaign)
        except Exception:
            type_name, value = "", ""
        owner, _sep, pk = value.partition(":")
        if type_name != "Campaign" or owner != str(merchant_id) or not pk.isdigit() or len(pk) > 18:
            raise DomainError(CoreErrorCode.NOT_FOUND, _("No such campaign."), "campaign")
        campaign_id = int(pk)
    return statement.StatementFilter(
        since=since, until=until, kind=getattr(kind, "value", kind), campaign_id=campaign_id
    )


def _filter_arguments() -> dict[str, Any]:
    return {
        "since": graphene.DateTime(description="From this time on (inclusive)."),
        "until": graphene.DateTime(description="Before this time (exclusive)."),
        "kind": graphene.Argument(TransactionKindEnum, description="Only this kind."),
        "campaign": graphene.ID(description="Only the movements of this Campaign."),
    }


class ConsumerQueries(graphene.ObjectType):
    wallet = graphene.Field(Wallet, required=True)

    @staticmethod
    def resolve_wallet(root: Any, info: graphene.ResolveInfo) -> Account:
        consumer: User = require_consumer(info)
        return ledger.wallet(consumer.pk)


class MerchantQueries(graphene.ObjectType):
    budget = graphene.Field(Budget, required=True)
    ledger = DjangoConnectionField(LedgerEntry, description="Budget and reserves, newest first.")
    ledger_movements = DjangoConnectionField(
        LedgerMovement,
        description=(
            "The statement: one line per business movement of the budget and the campaign "
            "reserves (a ledger transaction, its postings folded), newest first."
        ),
        **_filter_arguments(),
    )
    ledger_csv = graphene.Field(
        DownloadLink,
        required=True,
        description=(
            "The movements of `ledgerMovements` with the same filters as a CSV file: a "
            "signed link that works without sign-in for 15 minutes."
        ),
        **_filter_arguments(),
    )

    @staticmethod
    def resolve_budget(root: Any, info: graphene.ResolveInfo) -> balances.Budget:
        return balances.budget_of(require_membership(info).merchant.pk)

    @staticmethod
    def resolve_ledger(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Entry.objects.order_by("-id")

    @staticmethod
    def resolve_ledger_movements(
        root: Any,
        info: graphene.ResolveInfo,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: Any = None,
        campaign: str | None = None,
        **kwargs: Any,
    ) -> QuerySet[Transaction]:
        merchant = require_membership(info).merchant
        which = _statement_filter(merchant.pk, since, until, kind, campaign)
        return statement.movements(merchant.pk, which)

    @staticmethod
    def resolve_ledger_csv(
        root: Any,
        info: graphene.ResolveInfo,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: Any = None,
        campaign: str | None = None,
    ) -> DownloadLink:
        # Whoever may read the statement may take it away as a file: the same check.
        merchant = require_membership(info).merchant
        which = _statement_filter(merchant.pk, since, until, kind, campaign)
        return DownloadLink(
            url=LEDGER_CSV.url(info.context, merchant.pk, *statement.link_values(which)),
            expires_at=LEDGER_CSV.expires_at(),
        )


class LiabilityQueries(graphene.ObjectType):
    points_liability = graphene.Field(PointsLiability, required=True)

    @staticmethod
    def resolve_points_liability(
        root: Any, info: graphene.ResolveInfo
    ) -> liability.MerchantLiability:
        merchant = require_membership(info, Role.ADMIN).merchant
        return liability.merchant_liability(merchant.pk)
