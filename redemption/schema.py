"""GraphQL for the shared mall.

Consumer API: browse the catalog (no sign-in), redeem, the address book, the order
history and cancelling. Merchant API: the goods a merchant supplies, consigning new
goods, the orders for its goods (ship, refund) and the monthly settlement.

The mall lives in the public schema, so its global IDs are plain primary keys
(``Product:<pk>``). ``require_membership`` switches the connection to the merchant's
schema; ``public`` stays on the search path, so the mall's tables are still found.
Every list is loaded with its related rows (``select_related`` / ``prefetch_related``
in the list's queryset), so a page costs the same few queries whatever its size.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql_relay import to_global_id

from accounts.models import User, mask_phone
from accounts.phones import normalize_phone
from api.mutations import DomainMutation
from api.permissions import require_consumer, require_membership
from api.types import PublicNode, choice_value, decode_id
from campaigns.error_codes import CampaignErrorCode
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from core.signed_links import SignedLink
from points import ledger
from redemption import services as mall
from redemption.error_codes import MallErrorCode
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
from redemption.search import search_products
from tenants.models import Merchant, Role

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

MAX_ADDRESSES = 50
SETTLEMENT_SALT = "redemption.settlement.download"
# Names one merchant's statement for one month (merchant id, year, month), 15 minutes.
SETTLEMENT_LINK = SignedLink(
    salt=SETTLEMENT_SALT, url_name="mall-settlement-download", fields={"m": int, "y": int, "n": int}
)


def _enum_value(argument: Any) -> str | None:
    return None if argument is None else getattr(argument, "value", argument)


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
        return product.supplier.name if product.supplier_id else None

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
    total_points = graphene.BigInt(required=True)
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


# --- Consumer: address book -------------------------------------------------------------


def _address_text(value: str | None, field: str, limit: int, *, required: bool = True) -> str:
    text = " ".join((value or "").split())
    if (required and not text) or len(text) > limit:
        raise DomainError(
            MallErrorCode.INVALID_ADDRESS,
            _("Give %(field)s (at most %(n)d characters).") % {"field": field, "n": limit},
            field,
        )
    return text


def save_address(consumer: User, address_id: int | None, **fields: Any) -> Address:
    """Create or edit an address. The first address, and one saved with ``is_default``,
    become the default (the previous default stops being one)."""
    values = {
        "recipient": _address_text(fields["recipient"], "recipient", 100),
        "region": _address_text(fields["region"], "region", 200),
        "street": _address_text(fields["street"], "street", 300),
        "postal_code": _address_text(fields.get("postal_code"), "postalCode", 12, required=False),
        "phone": normalize_phone(fields["phone"] or ""),
    }
    with transaction.atomic():
        # The consumer's addresses take turns: two saves cannot both become the default.
        book = list(Address.objects.select_for_update().filter(consumer=consumer).order_by("id"))
        if address_id is None:
            if len(book) >= MAX_ADDRESSES:
                raise DomainError(
                    MallErrorCode.TOO_MANY_ADDRESSES,
                    _("At most %(n)d addresses; delete one first.") % {"n": MAX_ADDRESSES},
                )
            address = Address(consumer=consumer)
        else:
            address = next((a for a in book if a.pk == address_id), None)
            if address is None:
                raise DomainError(CoreErrorCode.NOT_FOUND, _("No such address."), "id")
        for name, value in values.items():
            setattr(address, name, value)
        others_default = any(a.is_default for a in book if a.pk != address.pk)
        address.is_default = bool(fields.get("is_default")) or not others_default
        address.save()
        if address.is_default and others_default:
            Address.objects.filter(consumer=consumer, is_default=True).exclude(
                pk=address.pk
            ).update(is_default=False)
    return address


def delete_address(consumer: User, address_id: int) -> None:
    """Orders keep their own copy of the address, so deleting never affects a parcel."""
    with transaction.atomic():
        address = (
            Address.objects.select_for_update().filter(pk=address_id, consumer=consumer).first()
        )
        if address is None:
            raise DomainError(CoreErrorCode.NOT_FOUND, _("No such address."), "id")
        address.delete()
        if address.is_default:
            newest = Address.objects.filter(consumer=consumer).order_by("-created_at", "-id")
            Address.objects.filter(pk__in=newest.values("pk")[:1]).update(is_default=True)


class SaveAddress(DomainMutation):
    """Add an address (no `id`) or replace one of yours. `INVALID_ADDRESS` and
    `INVALID_PHONE` name the field at fault; at most 50 addresses (`TOO_MANY_ADDRESSES`)."""

    class Arguments:
        id = graphene.ID(description="The address to edit; omit to add one.")
        recipient = graphene.String(required=True)
        phone = graphene.String(required=True, description="The recipient's mobile number.")
        region = graphene.String(required=True, description="Province, city, district.")
        street = graphene.String(required=True)
        postal_code = graphene.String(default_value="")
        is_default = graphene.Boolean(default_value=False)

    address = graphene.Field(AddressNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str | None = None, **fields: Any
    ) -> SaveAddress:
        consumer = require_consumer(info)
        address_id = None if id is None else decode_id(id, "Address", "id")
        return cls(address=save_address(consumer, address_id, **fields))


class DeleteAddress(DomainMutation):
    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> DeleteAddress:
        consumer = require_consumer(info)
        delete_address(consumer, decode_id(id, "Address", "id"))
        return cls(deleted_id=id)


# --- Consumer: redeem and cancel ----------------------------------------------------------


def _balance(consumer: User) -> int:
    return ledger.balance_of(ledger.wallet(consumer.pk))


class Redeem(DomainMutation):
    """Spend points on a product, in one transaction: no oversell, no negative balance.

    Physical goods need `addressId` (one of yours; its text is copied onto the order).
    Send a fresh random `idempotencyKey` per redeem and the same one when retrying: a
    retry answers the first order with `replayed: true` and spends nothing. Refusals:
    `NOT_AVAILABLE`, `OUT_OF_STOCK`, `INSUFFICIENT_POINTS`, `LIMIT_REACHED`,
    `ADDRESS_REQUIRED`, `INVALID_QUANTITY` (1 to 100), `NOT_FOUND` (an address that is not
    yours), `INVALID_IDEMPOTENCY_KEY`.
    """

    class Arguments:
        product_id = graphene.ID(required=True)
        quantity = graphene.Int(required=True)
        address_id = graphene.ID()
        idempotency_key = graphene.String(required=True)

    order = graphene.Field(OrderNode)
    balance = graphene.BigInt(description="The wallet balance afterwards.")
    replayed = graphene.Boolean(description="True when this answers a retry.")

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        product_id: str,
        quantity: int,
        idempotency_key: str,
        address_id: str | None = None,
    ) -> Redeem:
        consumer = require_consumer(info)
        product_pk = decode_id(product_id, "Product", "productId")
        address_pk = None if address_id is None else decode_id(address_id, "Address", "addressId")
        try:
            result = mall.redeem(
                consumer,
                product_pk,
                quantity,
                idempotency_key=idempotency_key,
                address_id=address_pk,
            )
        except DomainError as exc:
            if exc.code == MallErrorCode.ADDRESS_REQUIRED and address_pk is not None:
                # An address ID that is not one of the caller's is simply not found.
                raise DomainError(
                    CoreErrorCode.NOT_FOUND, _("No such address."), "addressId"
                ) from exc
            raise
        return cls(order=result.order, balance=_balance(consumer), replayed=result.replayed)


class CancelOrder(DomainMutation):
    """Cancel one of your orders before it ships: the points return with their original
    expiry, and the stock. `NOT_CANCELLABLE` once shipped (or for coupons)."""

    class Arguments:
        id = graphene.ID(required=True)

    order = graphene.Field(OrderNode)
    balance = graphene.BigInt(description="The wallet balance afterwards.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> CancelOrder:
        consumer = require_consumer(info)
        order = Order.objects.filter(pk=decode_id(id, "Order", "id"), consumer=consumer).first()
        if order is None:
            raise DomainError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")
        return cls(order=mall.cancel(order, consumer), balance=_balance(consumer))


class ConsumerQueries(graphene.ObjectType):
    categories = DjangoConnectionField(CategoryNode, description="In display order. Public.")
    products = DjangoConnectionField(
        ProductNode,
        category=graphene.ID(description="Only this category's products."),
        min_points=graphene.Int(description="Price at least this many points."),
        max_points=graphene.Int(description="Price at most this many points."),
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
        return Category.objects.order_by("position", "name", "id")

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
        now = timezone.now()
        products = Product.objects.filter(
            Q(available_until__isnull=True) | Q(available_until__gt=now)
        ).order_by("-created_at", "-id")
        if category is not None:
            products = products.filter(category_id=decode_id(category, "Category", "category"))
        if min_points is not None:
            products = products.filter(points_price__gte=min_points)
        if max_points is not None:
            products = products.filter(points_price__lte=max_points)
        if search is not None and search.strip():
            products = search_products(products, search)
        return products

    @staticmethod
    def resolve_addresses(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        return Address.objects.order_by("-is_default", "-created_at", "-id")

    @staticmethod
    def resolve_orders(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        orders = Order.objects.order_by("-placed_at", "-id")
        if status is not None:
            orders = orders.filter(status=_enum_value(status))
        return orders


class ConsumerMutations(graphene.ObjectType):
    redeem = Redeem.Field()
    save_address = SaveAddress.Field()
    delete_address = DeleteAddress.Field()
    cancel_order = CancelOrder.Field()


# --- Merchant: supplied goods, their orders, settlement ----------------------------------


def _merchant(info: graphene.ResolveInfo, role: str = Role.VIEWER) -> Merchant:
    return require_membership(info, role).merchant


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
        return queryset.filter(supplier=_merchant(info)).select_related("category")


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
        return queryset.filter(supplier=_merchant(info)).select_related(
            "product__category", "consumer"
        )


def _supplier_order(info: graphene.ResolveInfo, global_id: str) -> Order:
    order = Order.objects.filter(
        pk=decode_id(global_id, "SupplierOrder", "id"), supplier=_merchant(info)
    ).first()
    if order is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")
    return order


class ConsignProduct(DomainMutation):
    """Offer goods to the mall (operator). The product waits `IN_REVIEW` until the
    platform receives the goods; then it is listed and your budget is credited with
    their agreed value."""

    class Arguments:
        title = graphene.String(required=True)
        description = graphene.String(default_value="")
        category_id = graphene.ID(required=True)
        points_price = graphene.Int(required=True, description="Points per unit; above 0.")
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
        merchant = _merchant(info, Role.OPERATOR)
        if len(title.strip()) > 200:
            raise DomainError(
                MallErrorCode.INVALID_TITLE, _("A title is at most 200 characters."), "title"
            )
        if per_consumer_limit is not None and not 0 < per_consumer_limit <= 1_000_000:
            raise DomainError(
                CampaignErrorCode.INVALID_LIMIT,
                _("The limit is 1 to 1,000,000 units."),
                "perConsumerLimit",
            )
        category = Category.objects.filter(
            pk=decode_id(category_id, "Category", "categoryId")
        ).first()
        if category is None:
            raise DomainError(CoreErrorCode.NOT_FOUND, _("No such category."), "categoryId")
        product = mall.consign(
            merchant,
            title=title,
            category=category,
            points_price=points_price,
            kind=_enum_value(kind) or ProductKind.PHYSICAL,
            description=description[:5000],
            per_consumer_limit=per_consumer_limit,
        )
        return cls(product=product)


class ShipOrder(DomainMutation):
    """Mark a placed order of your goods shipped (operator). `TRACKING_REQUIRED`,
    `INVALID_ORDER_STATUS` (not placed: cancelled, already shipped, a coupon)."""

    class Arguments:
        id = graphene.ID(required=True)
        carrier = graphene.String(required=True)
        tracking_number = graphene.String(required=True)

    order = graphene.Field(SupplierOrder)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, carrier: str, tracking_number: str
    ) -> ShipOrder:
        merchant = _merchant(info, Role.OPERATOR)
        order = _supplier_order(info, id)
        return cls(
            order=mall.ship(order, merchant, carrier=carrier, tracking_number=tracking_number)
        )


class RefundOrder(DomainMutation):
    """Refund an order of your goods (admin): the consumer's points return; the goods do
    not go back on sale. `INVALID_ORDER_STATUS` if cancelled or refunded already."""

    class Arguments:
        id = graphene.ID(required=True)

    order = graphene.Field(SupplierOrder)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> RefundOrder:
        merchant = _merchant(info, Role.ADMIN)
        return cls(order=mall.refund(_supplier_order(info, id), merchant))


class SettlementRow(graphene.ObjectType):
    product_id = graphene.ID(required=True, description="A SuppliedProduct ID.")
    product_title = graphene.String(required=True)
    units = graphene.Int(required=True)
    points = graphene.BigInt(required=True)


class Settlement(graphene.ObjectType):
    """Units and points redeemed on your goods in one calendar month (UTC), not counting
    cancelled or refunded orders; one row per product, by title."""

    year = graphene.Int(required=True)
    month = graphene.Int(required=True)
    rows = graphene.List(graphene.NonNull(SettlementRow), required=True)
    total_units = graphene.Int(required=True)
    total_points = graphene.BigInt(required=True)
    download_url = graphene.String(
        required=True,
        description="The statement as CSV; the link works for 15 minutes without sign-in.",
    )


def check_period(year: int, month: int) -> None:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise DomainError(
            CampaignErrorCode.INVALID_PERIOD,
            _("Choose a month of the years 2000 to 2100."),
            "month",
        )


class MerchantQueries(graphene.ObjectType):
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
        year=graphene.Int(required=True),
        month=graphene.Int(required=True, description="1 to 12."),
    )

    @staticmethod
    def resolve_mall_categories(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        _merchant(info)
        return Category.objects.order_by("position", "name", "id")

    @staticmethod
    def resolve_supplied_products(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        _merchant(info)
        products = Product.objects.order_by("-created_at", "-id")
        if status is not None:
            products = products.filter(status=_enum_value(status))
        return products

    @staticmethod
    def resolve_supplier_orders(
        root: Any, info: graphene.ResolveInfo, status: Any = None, **kwargs: Any
    ) -> QuerySet:
        _merchant(info)
        orders = Order.objects.order_by("-placed_at", "-id")
        if status is not None:
            orders = orders.filter(status=_enum_value(status))
        return orders

    @staticmethod
    def resolve_settlement(
        root: Any, info: graphene.ResolveInfo, year: int, month: int
    ) -> Settlement:
        merchant = _merchant(info)
        check_period(year, month)
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


class MerchantMutations(graphene.ObjectType):
    consign_product = ConsignProduct.Field()
    ship_order = ShipOrder.Field()
    refund_order = RefundOrder.Field()
