"""Merchant API: consign goods to the mall."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.types import choice_value, decode_id
from campaigns.error_codes import CampaignErrorCode
from core.errors import ErrorCodeEnum
from points.error_codes import LedgerErrorCode
from redemption import services as mall
from redemption.error_codes import MallErrorCode
from redemption.graphql.types import ProductKindEnum, SuppliedProduct
from redemption.models import ProductKind
from tenants.models import Role


class ConsignProduct(DomainMutation):
    """Offer goods to the mall (operator). The product waits `IN_REVIEW` until the
    platform receives the goods; then it is listed and your budget is credited with
    their agreed value."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "title": MallErrorCode.INVALID_TITLE,
        "pointsPrice": LedgerErrorCode.INVALID_AMOUNT,
        "perConsumerLimit": CampaignErrorCode.INVALID_LIMIT,
    }

    class Arguments:
        title = graphene.String(required=True)
        description = graphene.String(
            default_value="", description="Several lines, at most 5,000 characters."
        )
        category_id = graphene.ID(required=True)
        points_price = graphene.Int(
            required=True, description="Points per unit, 1 to 2,147,483,647."
        )
        kind = ProductKindEnum(default_value=ProductKind.PHYSICAL.value)
        per_consumer_limit = graphene.Int(description="1 to 1,000,000; null: no limit.")

    product = graphene.Field(SuppliedProduct)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        title: str,
        category_id: str,
        points_price: int,
        description: str = "",
        kind: Any = ProductKind.PHYSICAL.value,
        per_consumer_limit: int | None = None,
    ) -> ConsignProduct:
        merchant = require_membership(info, Role.OPERATOR).merchant
        mall.check_offer(title, per_consumer_limit)
        category = mall.find_category(decode_id(category_id, "Category", "categoryId"))
        product = mall.consign(
            merchant,
            title=title,
            category=category,
            points_price=points_price,
            kind=choice_value(kind) or ProductKind.PHYSICAL,
            description=description,
            per_consumer_limit=per_consumer_limit,
        )
        return cls(product=product)
