"""Merchant API: ``requestTopUp`` (points/topups.py)."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.scalars import BigInt
from points import topups
from tenants.models import Role


class RequestTopUp(DomainMutation):
    """Ask the platform to top up the budget (admins and owners): the operators are told
    and record the payment; the points arrive with it. Moves no points itself."""

    class Arguments:
        amount_minor = BigInt(
            required=True, description="The sum in fen (CNY minor units), 1 to 1,000,000,000."
        )
        note = graphene.String(description="For the operators, at most 200 characters.")

    requested = graphene.Boolean(description="True once recorded; null with errors.")

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, amount_minor: int, note: str | None = None
    ) -> RequestTopUp:
        membership = require_membership(info, Role.ADMIN)
        topups.request_top_up(membership.merchant, membership.user, amount_minor, note or "")
        return cls(requested=True)


class MerchantMutations(graphene.ObjectType):
    request_top_up = RequestTopUp.Field()
