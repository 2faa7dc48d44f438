"""The mall's query root pieces: the catalog, the consumer's addresses and orders; the
supplying merchant's goods, their orders and the monthly settlement."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField
from graphql_relay import to_global_id

from api.permissions import require_membership
from api.types import choice_value, decode_id
from campaigns.error_codes import CampaignErrorCode
from core.errors import ErrorCodeEnum
from redemption import services as mall
from redemption.graphql.types import (
    AddressNode,
    CategoryNode,
    OrderNode,
    OrderStatusEnum,
    ProductNode,
    ProductStatusEnum,
    Settlement,
    SettlementRow,
    SuppliedProduct,
    SupplierOrder,
)
from redemption.models import Address, Category, Order, Product
from redemption.views import SETTLEMENT_LINK


class ConsumerQueries(graphene.ObjectType):
    categories = DjangoConnectionField(CategoryNode, description="In display order. Public.")
    products = DjangoConnectionField(
        ProductNode,
        category=graphene.ID(description="Only this category's products."),
        min_points=graphene.Int(description="Price at least this many points, 0 to 2,147,483,647."),
        max_points=graphene.Int(description="Price at most this many points, 0 to 2,147,483,647."),
        search=graphene.String(
            description=(
                "Words of the title, in any order. Chinese needs no spaces: 乌龙 finds "
                "安溪乌龙茶. Latin words also match as prefixes."
            )
        ),
        description=(
            "Listed products whose availability has not ended (upcoming and sold-out ones "
            "included: check availableFrom and stock), newest first. Public."
        ),
    )
    addresses = DjangoConnectionField(AddressNode, description="Your address book; default first.")
    orders = DjangoConnectionField(
        OrderNode, status=OrderStatusEnum(), description="Your orders, newest first."
    )

    @staticmethod
    def resolve_categories(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        return mall.categories(reader=info.context.user.pk)

    @staticmethod
    def resolve_products(
        root: Any,
        info: graphene.ResolveInfo,
        category: str | None = None,
        min_points: int | None = None,
        max_points: int | None = None,
        search: str | None = None,
        **kwargs: Any,
    ) -> QuerySet:
        return mall.catalog(
            category_id=None if category is None else decode_id(category, "Category", "category"),
            min_points=min_points,
            max_points=max_points,
            search=search,
            reader=info.context.user.pk,
        )

    @staticmethod
    def resolve_addresses(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        return Address.objects.order_by("-is_default", "-created_at", "-id")

    @staticmethod
    def resolve_orders(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        orders = Order.objects.order_by("-placed_at", "-id")
        if status is not None:
            orders = orders.filter(status=choice_value(status))
        return orders


class MerchantQueries(graphene.ObjectType):
    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "settlement": {
            "year": CampaignErrorCode.INVALID_PERIOD,
            "month": CampaignErrorCode.INVALID_PERIOD,
        },
    }

    mall_categories = DjangoConnectionField(
        CategoryNode, description="The mall's categories, for consignProduct."
    )
    supplied_products = DjangoConnectionField(
        SuppliedProduct,
        status=ProductStatusEnum(),
        description="Goods you supply to the mall, newest first.",
    )
    supplier_orders = DjangoConnectionField(
        SupplierOrder,
        status=OrderStatusEnum(),
        description="Orders for your goods, newest first.",
    )
    settlement = graphene.Field(
        Settlement,
        required=True,
        year=graphene.Int(required=True, description="2000 to 2100."),
        month=graphene.Int(required=True, description="1 to 12."),
    )

    @staticmethod
    def resolve_mall_categories(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        require_membership(info)
        return Category.objects.order_by("position", "name", "id")

    @staticmethod
    def resolve_supplied_products(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        require_membership(info)
        products = Product.objects.order_by("-created_at", "-id")
        if status is not None:
            products = products.filter(status=choice_value(status))
        return products

    @staticmethod
    def resolve_supplier_orders(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        require_membership(info)
        orders = Order.objects.order_by("-placed_at", "-id")
        if status is not None:
            orders = orders.filter(status=choice_value(status))
        return orders

    @staticmethod
    def resolve_settlement(
        root: Any, info: graphene.ResolveInfo, year: int, month: int
    ) -> Settlement:
        merchant = require_membership(info).merchant
        rows = [
            SettlementRow(
                product_id=to_global_id("SuppliedProduct", row["product_id"]),
                product_title=row["title"],
                units=row["units"],
                points=row["points"],
            )
            for row in mall.settlement(merchant, year, month)
        ]
        return Settlement(
            year=year,
            month=month,
            rows=rows,
            total_units=sum(row.units for row in rows),
            total_points=sum(row.points for row in rows),
            download_url=SETTLEMENT_LINK.url(info.context, merchant.pk, year, month),
        )
