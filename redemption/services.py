"""The mall's operations: catalog upkeep, consignment, coupons, redeem, order lifecycle.

Redeem is one statement, the SQL function ``redemption_redeem`` (sql/, decision 0151):
availability and limit checks, the wallet debit (oldest lots first, through the
ledger's ``points_post``), the order, the coupons, then the stock taken with a
conditional ``UPDATE … WHERE stock >= quantity`` — last, so the product row (the
one row every buyer of a flash sale needs) is held only from that update to the
commit. Any refusal rolls everything back: no oversell, no negative wallet.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import tokens
from accounts.models import User
from accounts.tokens import Bearer
from campaigns.error_codes import CampaignErrorCode
from core import idempotency
from core.db import connection, replica, rows, violated_constraint
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from notifications.tasks import order_shipped
from points import balances, ledger
from points import services as points_services
from points.error_codes import LedgerErrorCode
from points.models import Transaction
from redemption.error_codes import MallErrorCode
from redemption.models import (
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
    reader: object | None = None,
) -> QuerySet[Product]:
    """Products whose availability has not ended, newest first, from the replica when
    it has caught up with ``reader``'s own writes (core.db.replica; None: anonymous).

    Upcoming and sold-out products are included (the consumer sees when they start,
    and that they are gone). Only listed ones are shown: the consumer API's product
    type filters every way of reaching a product by that, not only this list.
    """
    now = timezone.now()
    products = (
        Product.objects.using(replica.read_alias(reader))
        .filter(Q(available_until__isnull=True) | Q(available_until__gt=now))
        .order_by("-created_at", "-id")
    )
    if category_id is not None:
        products = products.filter(category_id=category_id)
    if min_points is not None:
        products = products.filter(points_price__gte=min_points)
    if max_points is not None:
        products = products.filter(points_price__lte=max_points)
    if search is not None and search.strip():
        products = search_products(products, search)
    return products


def categories(reader: object | None = None) -> QuerySet[Category]:
    """The mall's categories in display order (from the replica, as ``catalog``)."""
    return Category.objects.using(replica.read_alias(reader)).order_by("position", "name", "id")


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


_PRODUCT = rows.columns(
    Product, only={f.attname for f in Product._meta.concrete_fields} - {"search"}
)


class Outcome(StrEnum):
    """What redemption_redeem answers (its first column)."""

    REDEEMED = "redeemed"
    REPLAY = "replay"
    NOT_AVAILABLE = "not_available"
    OUT_OF_STOCK = "out_of_stock"
    NO_ADDRESS = "no_address"
    ADDRESS_REQUIRED = "address_required"
    LIMIT = "limit"
    REPLAYED = "replayed"


# A redeem's database work is one statement: sql/redemption_redeem.sql (installed by
# migrate, core/db/functions.py) says what it does and in which order.
REDEEM_SQL = "SELECT * FROM public.redemption_redeem(%s, %s, %s, %s, %s, %s)"
# Raised by the function when the coupons or the stock ran out under it.
STOCK_CONSTRAINT = "product_stock_not_neg"
_ORDER = rows.columns(Order)
# The product's supplier by product (it is set when the goods are consigned and never
# changes): whether someone listens to its orders is known before the call, so a redeem
# of goods nobody listens to needs no transaction of its own (autocommit).
_SUPPLIERS: dict[int, int | None] = {}
_MAX_SUPPLIERS = 4096


def redeem(
    consumer: User,
    product_id: int,
    quantity: int,
    *,
    idempotency_key: str,
    address_id: int | None = None,
    now: datetime | None = None,
    gate: Bearer | None = None,
) -> Redemption:
    """Spend the consumer's points on ``quantity`` of the product (one statement).

    ``gate``: the bearer of a request whose session nothing has checked yet, ``consumer``
    its lazy user, never read here. The statement then checks the session itself
    (``tokens.gated``); ``tokens.GateRefused`` means it did nothing and the caller takes
    the full way (decision 0343).
    """
    consumer_id = tokens.user_id(consumer, gate)
    idempotency.check_key(idempotency_key, MallError)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 < quantity <= MAX_QUANTITY
    ):
        if gate is not None:
            raise tokens.GateRefused  # an earlier order is answered only to a checked session
        # An earlier order under the key answers first (a replay, or a conflict).
        previous = _order_under_key(consumer_id, idempotency_key)
        if previous is not None:
            return _replay(previous, product_id, quantity)
        raise MallError(MallErrorCode.INVALID_QUANTITY, _("Quantity must be 1 to 100."), "quantity")
    now = now or timezone.now()
    params = [consumer_id, product_id, quantity, address_id, idempotency_key, now]
    supplier = _SUPPLIERS.get(product_id, 0)  # 0: not known yet
    listening = supplier != 0 and supplier is not None and _listens(supplier)
    try:
        if supplier == 0 or listening or connection.in_atomic_block:
            # A transaction of its own (a savepoint inside the caller's): a refusal
            # leaves the caller's transaction usable, and the supplier's event commits
            # exactly when the order does.
            with transaction.atomic():
                row = tokens.fetch_one(REDEEM_SQL, params, gate, now, phone=True)
                result = _answer(consumer_id, product_id, quantity, idempotency_key, now, row)
                order = result.order
                supplier = order.supplier_id
                if not result.replayed and supplier is not None and _listens(supplier):
                    events.record(supplier, EventType.ORDER_PLACED, lambda: payloads.order(order))
                replica.pin(consumer_id)  # the stock it took, when it next reads the mall
                return result
        # Most redeems: the one statement is its own transaction (autocommit).
        row = tokens.fetch_one(REDEEM_SQL, params, gate, now, phone=True)
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint in (ledger.BALANCE_CONSTRAINT, ledger.LOTS_CONSTRAINT):
            raise MallError(
                LedgerErrorCode.INSUFFICIENT_POINTS, _("You do not have enough points."), "quantity"
            ) from exc
        if constraint == STOCK_CONSTRAINT:
            raise _sold_out() from exc
        # The same idempotency key raced itself: the other request's order stands.
        previous = _order_under_key(consumer_id, idempotency_key)
        if previous is None:
            raise
        return _replay(previous, product_id, quantity)
    result = _answer(consumer_id, product_id, quantity, idempotency_key, now, row)
    replica.pin(consumer_id)
    return result


def _order_under_key(consumer_id: int, idempotency_key: str) -> Order | None:
    """The consumer's earlier order under the idempotency key, if any."""
    return Order.objects.filter(consumer_id=consumer_id, idempotency_key=idempotency_key).first()


def _listens(supplier_id: int) -> bool:
    return events.listens(supplier_id, EventType.ORDER_PLACED)


def _answer(
    consumer_id: int,
    product_id: int,
    quantity: int,
    idempotency_key: str,
    now: datetime,
    row: tuple[Any, ...] | None,
) -> Redemption:
    """The function's row as a result, or its refusal as the domain's error."""
    assert row is not None  # the function always answers one row
    outcome, order_id, txn_id, balance, address = row[:5]
    if outcome == Outcome.REPLAY:
        return _replay(Order.objects.get(pk=order_id), product_id, quantity)
    if outcome == Outcome.REPLAYED:
        # The same key's first request committed its debit while this one ran: its
        # order stands.
        previous = _order_under_key(consumer_id, idempotency_key)
        if previous is None:
            raise idempotency.conflict(
                MallError, _("This request is already in progress. Retry it.")
            )
        return _replay(previous, product_id, quantity)
    if row[5] is not None:
        if len(_SUPPLIERS) >= _MAX_SUPPLIERS:
            _SUPPLIERS.clear()
        _SUPPLIERS[product_id] = row[5 + _PRODUCT.attnames.index("supplier_id")]
    if outcome == Outcome.NOT_AVAILABLE:
        if row[5] is not None:
            product = _PRODUCT.build(row[5:])
            if product.is_available(now):
                raise AssertionError(
                    f"the redeem function refused product {product_id} (rule drift)"
                )
        raise MallError(
            MallErrorCode.NOT_AVAILABLE, _("This product is not available."), "productId"
        )
    if outcome == Outcome.OUT_OF_STOCK:
        raise _sold_out()
    if outcome == Outcome.NO_ADDRESS:
        # An address ID that is not one of the consumer's is simply not found.
        raise MallError(CoreErrorCode.NOT_FOUND, _("No such address."), "addressId")
    if outcome == Outcome.ADDRESS_REQUIRED:
        raise MallError(
            MallErrorCode.ADDRESS_REQUIRED, _("Choose a delivery address."), "addressId"
        )
    product = _PRODUCT.build(row[5:])
    if outcome == Outcome.LIMIT:
        raise MallError(
            MallErrorCode.LIMIT_REACHED,
            _("You can redeem at most %(n)d of this product.") % {"n": product.per_consumer_limit},
            "quantity",
        )
    assert outcome == Outcome.REDEEMED, outcome
    coupon = product.kind == ProductKind.COUPON
    values = {
        "id": order_id,
        "consumer_id": consumer_id,
        "product_id": product.pk,
        "supplier_id": product.supplier_id,
        "quantity": quantity,
        "unit_points": product.points_price,
        "total_points": quantity * product.points_price,
        "status": OrderStatus.COMPLETED if coupon else OrderStatus.PLACED,
        "address": None if address is None else json.loads(address),
        "transaction_id": txn_id,
        "idempotency_key": idempotency_key,
        "carrier": "",
        "tracking_number": "",
        "placed_at": now,
        "shipped_at": None,
        "delivered_at": None,
        "completed_at": now if coupon else None,
        "cancelled_at": None,
    }
    order = _ORDER.build([values[name] for name in _ORDER.attnames])
    order.product = product
    return Redemption(order, replayed=False, balance=balance)


def _sold_out() -> MallError:
    return MallError(MallErrorCode.OUT_OF_STOCK, _("Sorry, this product is sold out."), "productId")


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
        replica.pin(consumer.pk)  # the stock returned, when they next read the mall
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
