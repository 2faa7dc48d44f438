"""The mall's operations: catalog upkeep, consignment, coupons, redeem, order lifecycle.

Redeem is one transaction: availability and limit checks, the wallet debit (oldest
lots first, through the ledger), the coupons, then the stock taken with a
conditional ``UPDATE … WHERE stock >= quantity`` — last, so the product row (the
one row every buyer of a flash sale needs) is held only from that update to the
commit. Any refusal rolls everything back: no oversell, no negative wallet.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from core import idempotency
from core.db import rows
from core.db.locks import advisory_xact_lock
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from notifications.tasks import order_shipped
from points import balances, ledger
from points import services as points_services
from points.error_codes import LedgerErrorCode
from points.errors import LedgerError
from points.models import Account, AccountKind, Transaction
from redemption.error_codes import MallErrorCode
from redemption.models import (
    Address,
    Category,
    Consignment,
    Coupon,
    Order,
    OrderStatus,
    Product,
    ProductKind,
    ProductStatus,
)
from redemption.search import search_products, search_vector
from tenants.models import Merchant
from webhooks import events, payloads
from webhooks.models import EventType

MAX_QUANTITY = 100
MAX_COUPONS_PER_UPLOAD = 100_000
MAX_TITLE_LENGTH = 200  # Product.title
MAX_DESCRIPTION_LENGTH = 5000  # what a merchant's offer keeps of its description
MAX_PER_CONSUMER_LIMIT = 1_000_000


class MallError(DomainError):
    pass


# --- Catalog ----------------------------------------------------------------------


def save_product(product: Product) -> Product:
    """Save a product and refresh its search tokens."""
    if not (product.title or "").strip():
        raise MallError(MallErrorCode.INVALID_TITLE, _("A product needs a title."), "title")
    if not isinstance(product.points_price, int) or product.points_price <= 0:
        raise MallError(
            LedgerErrorCode.INVALID_AMOUNT,
            _("The price must be a positive number of points."),
            "pointsPrice",
        )
    if len(product.title) > MAX_TITLE_LENGTH:
        raise MallError(
            MallErrorCode.INVALID_TITLE, _("A title has at most 200 characters."), "title"
        )
    if product.pk is None:
        product.save()
    else:
        # Never write stock from a copy read earlier: redeems move it concurrently.
        fields = [
            f.name
            for f in Product._meta.concrete_fields
            if not f.primary_key and f.name not in {"stock", "search"}
        ]
        product.save(update_fields=fields)
    Product.objects.filter(pk=product.pk).update(search=search_vector(product.title))
    return product


def catalog(
    *,
    category_id: int | None = None,
    min_points: int | None = None,
    max_points: int | None = None,
    search: str | None = None,
) -> QuerySet[Product]:
    """Products whose availability has not ended, newest first.

    Upcoming and sold-out products are included (the consumer sees when they start,
    and that they are gone). Only listed ones are shown: the consumer API's product
    type filters every way of reaching a product by that, not only this list.
    """
    now = timezone.now()
    products = Product.objects.filter(
        Q(available_until__isnull=True) | Q(available_until__gt=now)
    ).order_by("-created_at", "-id")
    if category_id is not None:
        products = products.filter(category_id=category_id)
    if min_points is not None:
        products = products.filter(points_price__gte=min_points)
    if max_points is not None:
        products = products.filter(points_price__lte=max_points)
    if search is not None and search.strip():
        products = search_products(products, search)
    return products


def check_offer(title: str, per_consumer_limit: int | None) -> None:
    """What a merchant's offer of goods must meet, checked before its category is looked up."""
    if len(title.strip()) > MAX_TITLE_LENGTH:
        raise MallError(
            MallErrorCode.INVALID_TITLE, _("A title is at most 200 characters."), "title"
        )
    if per_consumer_limit is not None and not 0 < per_consumer_limit <= MAX_PER_CONSUMER_LIMIT:
        raise MallError(
            CampaignErrorCode.INVALID_LIMIT,
            _("The limit is 1 to 1,000,000 units."),
            "perConsumerLimit",
        )


def find_category(category_id: int) -> Category:
    """A category of the mall by its key (every merchant may offer goods in any)."""
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise MallError(CoreErrorCode.NOT_FOUND, _("No such category."), "categoryId")
    return category


def consign(
    merchant: Merchant,
    *,
    title: str,
    category: Category,
    points_price: int,
    kind: str = ProductKind.PHYSICAL,
    description: str = "",
    per_consumer_limit: int | None = None,
) -> Product:
    """A merchant offers goods to the mall: the product waits for the platform's review.

    The merchant API checks the offer first (``check_offer``), then finds its category
    (``find_category``).
    """
    return save_product(
        Product(
            title=title.strip(),
            description=description[:MAX_DESCRIPTION_LENGTH],
            category=category,
            kind=kind,
            points_price=points_price,
            per_consumer_limit=per_consumer_limit,
            status=ProductStatus.IN_REVIEW,
            supplier=merchant,
        )
    )


def approve_consignment(
    product: Product,
    *,
    receipt_reference: str,
    quantity: int,
    unit_value_minor: int,
    currency: str,
    rate: Decimal | str,
    approved_by: User | None = None,
) -> Consignment:
    """Record goods received, credit the supplier's budget through the ledger, list them.

    Keyed by the receipt reference: approving the same receipt again returns the first
    consignment and credits nothing more.
    """
    if product.supplier_id is None:
        raise MallError(MallErrorCode.NOT_CONSIGNED, _("Platform products are not consigned."))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= 10**6:
        raise MallError(
            MallErrorCode.INVALID_QUANTITY, _("Quantity must be 1 to 1,000,000."), "quantity"
        )
    existing = Consignment.objects.filter(receipt_reference=receipt_reference).first()
    if existing is not None:
        if existing.product_id != product.pk or existing.quantity != quantity:
            raise idempotency.conflict(
                MallError,
                _("This receipt was already recorded for other goods."),
                "receiptReference",
            )
        return existing
    with transaction.atomic():
        supplier = product.supplier
        assert supplier is not None  # refused above when supplier_id is None
        funding = points_services.fund_with_goods(
            supplier,
            value_minor=quantity * unit_value_minor,
            currency=currency,
            rate=rate,
            receipt_reference=receipt_reference,
            description=f"{quantity} x {product.title}"[:200],
            recorded_by=approved_by,
        )
        try:
            with transaction.atomic():
                consignment = Consignment.objects.create(
                    product=product,
                    receipt_reference=receipt_reference,
                    quantity=quantity,
                    unit_value_minor=unit_value_minor,
                    currency=currency,
                    rate=Decimal(str(rate)),
                    funding=funding,
                    approved_by=approved_by,
                )
        except IntegrityError:
            # A concurrent approval of the same receipt won; the funding is the same row.
            return Consignment.objects.get(receipt_reference=receipt_reference)
        Product.objects.filter(pk=product.pk).update(
            stock=F("stock") + quantity, status=ProductStatus.LISTED
        )
    return consignment


def upload_coupons(product: Product, csv_text: str) -> int:
    """Add a CSV of coupon codes (first column) to a coupon product's pool; stock grows.

    Duplicates, within the upload or against codes already in the pool, refuse the
    whole upload and name their line numbers.
    """
    if product.kind != ProductKind.COUPON:
        raise MallError(
            MallErrorCode.NOT_A_COUPON_PRODUCT, _("Only coupon products take coupon codes.")
        )
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    codes: list[str] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(csv_text)), start=1):
        code = (row[0] if row else "").strip()
        if not code or (line_number == 1 and code.lower() in {"code", "coupon"}):
            continue
        if len(code) > 100:
            raise MallError(
                MallErrorCode.INVALID_COUPON,
                _("Line %(n)d: a code is at most 100 characters.") % {"n": line_number},
                "csv",
            )
        if code in seen:
            duplicates.append(
                _("line %(n)d repeats line %(m)d") % {"n": line_number, "m": seen[code]}
            )
        else:
            seen[code] = line_number
            codes.append(code)
    if len(codes) > MAX_COUPONS_PER_UPLOAD:
        raise MallError(MallErrorCode.INVALID_COUPON, _("At most 100,000 codes per upload."), "csv")
    existing = set(
        Coupon.objects.filter(product=product, code__in=codes).values_list("code", flat=True)
    )
    duplicates += [
        _("line %(n)d is already in the pool") % {"n": seen[c]} for c in codes if c in existing
    ]
    if duplicates:
        raise MallError(
            MallErrorCode.DUPLICATE_COUPON,
            _("Duplicate codes: %(lines)s.") % {"lines": "; ".join(duplicates[:50])},
            "csv",
        )
    if not codes:
        raise MallError(MallErrorCode.INVALID_COUPON, _("The file holds no codes."), "csv")
    with transaction.atomic():
        Coupon.objects.bulk_create(Coupon(product=product, code=c) for c in codes)
        Product.objects.filter(pk=product.pk).update(stock=F("stock") + len(codes))
    return len(codes)


# --- Redeem -----------------------------------------------------------------------


@dataclass(frozen=True)
class Redemption:
    order: Order
    replayed: bool
    balance: int  # the wallet's, afterwards


# The redeem's statements, written once (core.db.rows) as the scan claim's are: building
# them with the ORM cost more CPU than PostgreSQL spent running them. One read before the
# transaction brings the earlier order under the key (its id: a replay is rare and reads
# it whole), the product, the address, the consumer's wallet and the mall's account (an
# account's id and owner never change, so reading them outside the transaction is safe;
# the balances are moved by the ledger's conditional updates, not from these rows).
_PRODUCT = rows.columns(
    Product, only={f.attname for f in Product._meta.concrete_fields} - {"search"}
)
_ADDRESS = rows.columns(Address)
_ACCOUNT = rows.columns(Account)
_READ_FOR_REDEEM = (
    f"SELECT o.id, {_PRODUCT.select('p')}, {_ADDRESS.select('a')}, {_ACCOUNT.select('m')},"
    f" {_ACCOUNT.select('w')} FROM (VALUES (1)) AS one (n)"
    f" LEFT JOIN {rows.table(Order)} o ON o.consumer_id = %s AND o.idempotency_key = %s"
    f" LEFT JOIN {rows.table(Product)} p ON p.id = %s"
    f" LEFT JOIN {rows.table(Address)} a ON a.id = %s AND a.consumer_id = %s"
    f" LEFT JOIN {rows.table(Account)} m ON m.kind = %s AND m.merchant_id IS NULL"
    " AND m.consumer_id IS NULL AND m.ref = ''"
    f" LEFT JOIN {rows.table(Account)} w ON w.kind = %s AND w.merchant_id IS NULL"
    " AND w.consumer_id = %s AND w.ref = ''"
)
_BOUGHT = (
    f"SELECT COALESCE(SUM(quantity), 0) FROM {rows.table(Order)}"
    " WHERE consumer_id = %s AND product_id = %s AND status <> ALL(%s::text[])"
)
_TAKE_STOCK = f"UPDATE {rows.table(Product)} SET stock = stock - %s WHERE id = %s AND stock >= %s"
_INSERT_ORDER = rows.Insert(Order)
# Orders that no longer hold their units (their points came back).
_RETURNED = [OrderStatus.CANCELLED, OrderStatus.REFUNDED]


@dataclass(frozen=True)
class _Read:
    previous: int | None
    product: Product | None
    address: Address | None
    wallet: Account | None
    mall: Account | None


def _read_for_redeem(
    consumer: User, idempotency_key: str, product_id: int, address_id: int | None
) -> _Read:
    row = rows.fetch_one(
        _READ_FOR_REDEEM,
        [
            consumer.pk,
            idempotency_key,
            product_id,
            address_id,
            consumer.pk,
            AccountKind.MALL,
            AccountKind.CONSUMER_WALLET,
            consumer.pk,
        ],
    )
    assert row is not None  # a LEFT JOIN from one row
    at = 1
    found: list[tuple[object, ...]] = []
    for span in (len(_PRODUCT), len(_ADDRESS), len(_ACCOUNT), len(_ACCOUNT)):
        found.append(row[at : at + span])
        at += span
    product, address, mall, wallet = found
    return _Read(
        previous=row[0],
        product=_PRODUCT.build(product) if product[0] is not None else None,
        address=_ADDRESS.build(address) if address[0] is not None else None,
        wallet=_ACCOUNT.build(wallet) if wallet[0] is not None else None,
        mall=_ACCOUNT.build(mall) if mall[0] is not None else None,
    )


def redeem(
    consumer: User,
    product_id: int,
    quantity: int,
    *,
    idempotency_key: str,
    address_id: int | None = None,
    now: datetime | None = None,
) -> Redemption:
    idempotency.check_key(idempotency_key, MallError)
    read = _read_for_redeem(consumer, idempotency_key, product_id, address_id)
    if read.previous is not None:
        return _replay(Order.objects.get(pk=read.previous), product_id, quantity)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= MAX_QUANTITY
    ):
        raise MallError(MallErrorCode.INVALID_QUANTITY, _("Quantity must be 1 to 100."), "quantity")
    now = now or timezone.now()
    product = read.product
    if (
        product is None
        or product.status != ProductStatus.LISTED
        or (product.available_from and now < product.available_from)
        or (product.available_until and now >= product.available_until)
    ):
        raise MallError(
            MallErrorCode.NOT_AVAILABLE, _("This product is not available."), "productId"
        )
    if product.stock < quantity:
        raise MallError(
            MallErrorCode.OUT_OF_STOCK, _("Sorry, this product is sold out."), "productId"
        )
    address = None
    if product.kind == ProductKind.PHYSICAL:
        address = read.address
        if address is None and address_id is not None:
            # An address ID that is not one of the consumer's is simply not found.
            raise MallError(CoreErrorCode.NOT_FOUND, _("No such address."), "addressId")
        if address is None:
            raise MallError(
                MallErrorCode.ADDRESS_REQUIRED, _("Choose a delivery address."), "addressId"
            )
    total = quantity * product.points_price
    wallet = read.wallet or ledger.wallet(consumer.pk)
    mall = read.mall or ledger.platform_account(AccountKind.MALL)
    try:
        with transaction.atomic(), rows.one_cursor():
            if product.per_consumer_limit is not None:
                # One consumer's redeems of one product take turns; nobody else waits.
                advisory_xact_lock(f"redeem-limit:{consumer.pk}:{product.pk}")
                found = rows.fetch_one(_BOUGHT, [consumer.pk, product.pk, _RETURNED])
                bought = found[0] if found else 0
                if bought + quantity > product.per_consumer_limit:
                    raise MallError(
                        MallErrorCode.LIMIT_REACHED,
                        _("You can redeem at most %(n)d of this product.")
                        % {"n": product.per_consumer_limit},
                        "quantity",
                    )
            try:
                txn = points_services.spend(
                    consumer,
                    total,
                    idempotency_key=f"redeem:{consumer.pk}:{idempotency_key}",
                    memo=product.title[:200],
                    metadata={"product": product.pk, "quantity": quantity},
                    wallet=wallet,
                    mall=mall,
                    # Every refusal ends this transaction: no savepoint needed.
                    savepoint=False,
                )
            except LedgerError as exc:
                if exc.code == LedgerErrorCode.INSUFFICIENT_POINTS:
                    raise MallError(
                        LedgerErrorCode.INSUFFICIENT_POINTS,
                        _("You do not have enough points."),
                        "quantity",
                    ) from exc
                raise
            if txn.replayed:
                # The same key's first request committed its debit while this one ran:
                # its order stands (the unique key sends this one to the replay below).
                raise IntegrityError("redeem replayed")
            order = Order(
                consumer=consumer,
                product=product,
                supplier_id=product.supplier_id,
                quantity=quantity,
                unit_points=product.points_price,
                total_points=total,
                status=OrderStatus.COMPLETED
                if product.kind == ProductKind.COUPON
                else OrderStatus.PLACED,
                completed_at=now if product.kind == ProductKind.COUPON else None,
                address=address.snapshot() if address else None,
                transaction=txn,
                idempotency_key=idempotency_key,
                placed_at=now,
            )
            _INSERT_ORDER.one(order)
            if product.kind == ProductKind.COUPON:
                coupons = list(
                    Coupon.objects.select_for_update(skip_locked=True)
                    .filter(product=product, order__isnull=True)
                    .order_by("id")[:quantity]
                    .values_list("pk", flat=True)
                )
                if len(coupons) < quantity:
                    raise MallError(
                        MallErrorCode.OUT_OF_STOCK,
                        _("Sorry, this product is sold out."),
                        "productId",
                    )
                Coupon.objects.filter(pk__in=coupons).update(order=order)
            # Last, so the product row is locked for as short a time as possible.
            if not rows.execute(_TAKE_STOCK, [quantity, product.pk, quantity]):
                raise MallError(
                    MallErrorCode.OUT_OF_STOCK, _("Sorry, this product is sold out."), "productId"
                )
            if order.supplier_id is not None:
                events.record(
                    order.supplier_id, EventType.ORDER_PLACED, lambda: payloads.order(order)
                )
    except IntegrityError:
        # The same idempotency key raced itself: the other request's order stands.
        previous = Order.objects.filter(consumer=consumer, idempotency_key=idempotency_key).first()
        if previous is None:
            raise
        return _replay(previous, product_id, quantity)
    return Redemption(order, replayed=False, balance=txn.balances[wallet.pk])


def _replay(previous: Order, product_id: int, quantity: int) -> Redemption:
    """A retry returns the first order; the same key for a different request is refused."""
    if previous.product_id != product_id or previous.quantity != quantity:
        raise idempotency.conflict(MallError)
    return Redemption(
        previous, replayed=True, balance=balances.wallet_balance(previous.consumer_id)
    )


# --- Orders -----------------------------------------------------------------------


def consumer_order(consumer: User, order_id: int) -> Order:
    """One of the consumer's orders; anyone else's is not found."""
    order = Order.objects.filter(pk=order_id, consumer=consumer).first()
    if order is None:
        raise MallError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")
    return order


def supplier_order(supplier: Merchant, order_id: int) -> Order:
    """An order for the supplier's goods; any other order is not found."""
    order = Order.objects.filter(pk=order_id, supplier=supplier).first()
    if order is None:
        raise MallError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")
    return order


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().select_related("product").get(pk=order.pk)


def _refund_points(order: Order, reason: str) -> Transaction:
    """Reverse the order's debit: the points go back to the very lots they came from."""
    return points_services.reverse(
        order.transaction, idempotency_key=f"order-{reason}:{order.pk}", memo=reason
    )


def cancel(order: Order, consumer: User) -> Order:
    """The consumer cancels before shipping: points (with their expiry) and stock return."""
    with transaction.atomic():
        order = _locked(order)
        if order.consumer_id != consumer.pk:
            raise MallError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")
        if order.status != OrderStatus.PLACED:
            raise MallError(
                MallErrorCode.NOT_CANCELLABLE, _("Only orders not yet shipped can be cancelled.")
            )
        _refund_points(order, "cancel")
        Product.objects.filter(pk=order.product_id).update(stock=F("stock") + order.quantity)
        order.status, order.cancelled_at = OrderStatus.CANCELLED, timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
    return order


def _ensure_supplier(order: Order, supplier: Merchant | None) -> None:
    if order.supplier_id != (supplier.pk if supplier else None):
        raise MallError(CoreErrorCode.NOT_FOUND, _("No such order."), "id")


def ship(order: Order, supplier: Merchant | None, *, carrier: str, tracking_number: str) -> Order:
    if not carrier.strip() or not tracking_number.strip():
        raise MallError(
            MallErrorCode.TRACKING_REQUIRED,
            _("Give the carrier and the tracking number."),
            "trackingNumber",
        )
    with transaction.atomic():
        order = _locked(order)
        _ensure_supplier(order, supplier)
        if order.status != OrderStatus.PLACED:
            raise MallError(
                MallErrorCode.INVALID_ORDER_STATUS, _("Only placed orders can be shipped.")
            )
        order.status, order.shipped_at = OrderStatus.SHIPPED, timezone.now()
        order.carrier, order.tracking_number = carrier.strip()[:60], tracking_number.strip()[:60]
        order.save(update_fields=["status", "shipped_at", "carrier", "tracking_number"])
        if order.supplier_id is not None:
            events.record(order.supplier_id, EventType.ORDER_SHIPPED, lambda: payloads.order(order))
        _text_buyer_on_commit(order.pk)
    return order


def _text_buyer_on_commit(order_id: int) -> None:
    """The buyer's "shipped" SMS, through Celery once the shipment is committed (the
    gateway's latency stays out of the request; the task sends it at most once)."""
    transaction.on_commit(lambda: order_shipped.delay(order_id))


def advance(order: Order, status: str) -> Order:
    """shipped → delivered → completed (carrier callbacks, the consumer, or the operator)."""
    allowed: dict[str, str] = {
        OrderStatus.DELIVERED: OrderStatus.SHIPPED,
        OrderStatus.COMPLETED: OrderStatus.DELIVERED,
    }
    with transaction.atomic():
        order = _locked(order)
        if allowed.get(status) != order.status:
            raise MallError(
                MallErrorCode.INVALID_ORDER_STATUS, _("The order cannot move to that status.")
            )
        order.status = status
        field = "delivered_at" if status == OrderStatus.DELIVERED else "completed_at"
        setattr(order, field, timezone.now())
        order.save(update_fields=["status", field])
    return order


def refund(order: Order, supplier: Merchant | None) -> Order:
    """The supplier refunds: the consumer's points return; the goods do not go back on sale."""
    with transaction.atomic():
        order = _locked(order)
        _ensure_supplier(order, supplier)
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            raise MallError(
                MallErrorCode.INVALID_ORDER_STATUS, _("This order was already refunded.")
            )
        _refund_points(order, "refund")
        order.status = OrderStatus.REFUNDED
        order.save(update_fields=["status"])
    return order


def check_period(year: int, month: int) -> None:
    """A settlement covers one calendar month of the years 2000 to 2100."""
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise MallError(
            CampaignErrorCode.INVALID_PERIOD,
            _("Choose a month of the years 2000 to 2100."),
            "month",
        )


class SettlementLine(TypedDict):
    """One product's line of a supplier's monthly settlement."""

    product_id: int
    title: str
    units: int
    points: int


def settlement(supplier: Merchant, year: int, month: int) -> list[SettlementLine]:
    """Units and points redeemed on the supplier's goods in one month (not refunded)."""
    check_period(year, month)
    start = datetime(year, month, 1, tzinfo=timezone.get_current_timezone())
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=start.tzinfo)
    rows = (
        Order.objects.filter(supplier=supplier, placed_at__gte=start, placed_at__lt=end)
        .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED])
        .values("product_id", "product__title")
        .annotate(units=Sum("quantity"), points=Sum("total_points"))
        .order_by("product__title")
    )
    return [
        {
            "product_id": r["product_id"],
            "title": r["product__title"],
            "units": r["units"],
            "points": r["points"],
        }
        for r in rows
    ]


def settlement_csv(supplier: Merchant, year: int, month: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["product_id", "title", "units", "points"])
    for row in settlement(supplier, year, month):
        writer.writerow([row["product_id"], row["title"], row["units"], row["points"]])
    return out.getvalue()
