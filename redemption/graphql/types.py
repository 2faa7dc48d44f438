"""The mall's object types and enums: what a consumer sees (catalog, addresses, orders)
and what a supplying merchant sees (its goods, their orders, the monthly settlement)."""

from __future__ import annotations

import graphene
from django.db.models import Prefetch, QuerySet
from graphene_django import DjangoObjectType

from accounts.models import mask_phone
from api.permissions import require_consumer, require_membership
from api.scalars import BigInt
from api.types import PublicNode, choice_value
from redemption.models import (
    Address,
    Category,
    Coupon,
    Order,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
)
from tenants.models import Role

ProductKindEnum = graphene.Enum(
    "ProductKind",
    [(value.upper(), value) for value in ProductKind.values],
    description="PHYSICAL goods are shipped to an address; a COUPON order gets codes at once.",
)
ProductStatusEnum = graphene.Enum(
    "ProductStatus",
    [(value.upper(), value) for value in ProductStatus.values],
    description="draft → in review → listed ⇄ delisted. Consumers see listed products only.",
)
OrderStatusEnum = graphene.Enum(
    "OrderStatus",
    [(value.upper(), value) for value in OrderStatus.values],
    description=(
        "placed → shipped → delivered → completed; cancelled (by the consumer, before "
        "shipping) and refunded (by the supplier) give the points back. Coupon orders are "
        "completed at once."
    ),
)


# --- Catalog (both APIs) ------------------------------------------------------------


class CategoryNode(PublicNode, DjangoObjectType):
    class Meta:
        name = "Category"
        model = Category
        interfaces = (graphene.relay.Node,)
        fields = ("id", "slug", "name", "position")


class ProductFields:
    """Fields a consumer and the supplier both see."""

    kind = graphene.Field(ProductKindEnum, required=True)
    category = graphene.Field(CategoryNode, required=True)
    points_price = graphene.Int(required=True, description="Points per unit.")
    stock = graphene.Int(required=True, description="Units left (for coupons: unused codes).")
    per_consumer_limit = graphene.Int(description="Most units one consumer may redeem; null: any.")

    @staticmethod
    def resolve_kind(product: Product, info: graphene.ResolveInfo) -> str:
        return choice_value(product.kind)

    @staticmethod
    def resolve_category(product: Product, info: graphene.ResolveInfo) -> Category:
        return product.category


PRODUCT_FIELDS = (
    "id",
    "title",
    "description",
    "image_url",
    "available_from",
    "available_until",
    "created_at",
)


class ProductNode(ProductFields, PublicNode, DjangoObjectType):
    """A listed product of the mall."""

    supplier_name = graphene.String(description="The merchant supplying it; null: the platform.")

    class Meta:
        name = "Product"
        model = Product
        interfaces = (graphene.relay.Node,)
        fields = PRODUCT_FIELDS

    @staticmethod
    def resolve_supplier_name(product: Product, info: graphene.ResolveInfo) -> str | None:
        # A null foreign key makes no query: Django's descriptor answers None from it.
        supplier = product.supplier
        return supplier.name if supplier is not None else None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Product], info: graphene.ResolveInfo) -> QuerySet:
        return queryset.filter(status=ProductStatus.LISTED).select_related("category", "supplier")


# --- Consumer: addresses and orders ---------------------------------------------------


class AddressNode(PublicNode, DjangoObjectType):
    """An entry of the signed-in consumer's address book."""

    class Meta:
        name = "Address"
        model = Address
        interfaces = (graphene.relay.Node,)
        fields = (
            "id",
            "recipient",
            "phone",
            "region",
            "street",
            "postal_code",
            "is_default",
            "created_at",
        )

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Address], info: graphene.ResolveInfo) -> QuerySet:
        return queryset.filter(consumer=require_consumer(info))


class ShippingAddress(graphene.ObjectType):
    """The address copied onto an order when it was placed (later edits do not move it)."""

    recipient = graphene.String(required=True)
    phone = graphene.String(required=True)
    region = graphene.String(required=True)
    street = graphene.String(required=True)
    postal_code = graphene.String(required=True)


class OrderFields:
    """Fields a consumer and the supplier both see."""

    status = graphene.Field(OrderStatusEnum, required=True)
    quantity = graphene.Int(required=True)
    unit_points = graphene.Int(required=True)
    total_points = BigInt(required=True)
    carrier = graphene.String(required=True, description="Empty until shipped.")
    tracking_number = graphene.String(required=True, description="Empty until shipped.")

    @staticmethod
    def resolve_status(order: Order, info: graphene.ResolveInfo) -> str:
        return choice_value(order.status)


ORDER_FIELDS = (
    "id",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "completed_at",
    "cancelled_at",
)


def _coupons_prefetch() -> Prefetch:
    return Prefetch("coupons", queryset=Coupon.objects.order_by("id"))


class OrderNode(OrderFields, PublicNode, DjangoObjectType):
    """One of the signed-in consumer's orders."""

    product = graphene.Field(ProductNode, required=True)
    address = graphene.Field(ShippingAddress, description="Physical goods only.")
    coupon_codes = graphene.List(
        graphene.NonNull(graphene.String),
        description="Coupon orders: the codes issued to you (only you see them). Else null.",
    )

    class Meta:
        name = "Order"
        model = Order
        interfaces = (graphene.relay.Node,)
        fields = ORDER_FIELDS

    @staticmethod
    def resolve_product(order: Order, info: graphene.ResolveInfo) -> Product:
        # The product as it is now, even if no longer listed: it is the buyer's order.
        return order.product

    @staticmethod
    def resolve_address(order: Order, info: graphene.ResolveInfo) -> dict[str, str] | None:
        return order.address or None

    @staticmethod
    def resolve_coupon_codes(order: Order, info: graphene.ResolveInfo) -> list[str] | None:
        if order.product.kind != ProductKind.COUPON:
            return None
        return [coupon.code for coupon in order.coupons.all()]

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Order], info: graphene.ResolveInfo) -> QuerySet:
        return (
            queryset.filter(consumer=require_consumer(info))
            .select_related("product__category", "product__supplier")
            .prefetch_related(_coupons_prefetch())
        )


# --- Merchant: supplied goods, their orders, settlement ----------------------------------


class SuppliedProduct(ProductFields, PublicNode, DjangoObjectType):
    """A product this merchant supplies to the mall, in any status."""

    status = graphene.Field(ProductStatusEnum, required=True)

    class Meta:
        model = Product
        interfaces = (graphene.relay.Node,)
        fields = PRODUCT_FIELDS
        skip_registry = True

    @staticmethod
    def resolve_status(product: Product, info: graphene.ResolveInfo) -> str:
        return choice_value(product.status)

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Product], info: graphene.ResolveInfo) -> QuerySet:
        return queryset.filter(supplier=require_membership(info).merchant).select_related(
            "category"
        )


class SupplierOrder(OrderFields, PublicNode, DjangoObjectType):
    """An order for this merchant's goods. The consumer's phone is masked; the shipping
    address is shown in full to operators and above (they ship), masked to viewers."""

    product = graphene.Field(SuppliedProduct, required=True)
    consumer_phone = graphene.String(required=True, description="Masked: +86138****5678.")
    address = graphene.Field(ShippingAddress, description="Physical goods only.")

    class Meta:
        model = Order
        interfaces = (graphene.relay.Node,)
        fields = ORDER_FIELDS
        skip_registry = True

    @staticmethod
    def resolve_product(order: Order, info: graphene.ResolveInfo) -> Product:
        return order.product

    @staticmethod
    def resolve_consumer_phone(order: Order, info: graphene.ResolveInfo) -> str:
        return mask_phone(order.consumer.phone or "")

    @staticmethod
    def resolve_address(order: Order, info: graphene.ResolveInfo) -> dict[str, str] | None:
        if not order.address:
            return None
        if require_membership(info).has_role(Role.OPERATOR):
            return order.address
        return {**order.address, "phone": mask_phone(order.address.get("phone", ""))}

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Order], info: graphene.ResolveInfo) -> QuerySet:
        return queryset.filter(supplier=require_membership(info).merchant).select_related(
            "product__category", "consumer"
        )


class SettlementRow(graphene.ObjectType):
    product_id = graphene.ID(required=True, description="A SuppliedProduct ID.")
    product_title = graphene.String(required=True)
    units = graphene.Int(required=True)
    points = BigInt(required=True)


class Settlement(graphene.ObjectType):
    """Units and points redeemed on your goods in one calendar month (UTC), not counting
    cancelled or refunded orders; one row per product, by title."""

    year = graphene.Int(required=True)
    month = graphene.Int(required=True)
    rows = graphene.List(graphene.NonNull(SettlementRow), required=True)
    total_units = graphene.Int(required=True)
    total_points = BigInt(required=True)
    download_url = graphene.String(
        required=True,
        description="The statement as CSV; the link works for 15 minutes without sign-in.",
    )
