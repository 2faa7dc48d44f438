"""Orders: redeem and cancel (consumer API); ship and refund (the supplying merchant)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from accounts.models import User
from accounts.tokens import Bearer
from api.mutations import DomainMutation
from api.permissions import as_consumer, gated_consumer, require_consumer, require_membership
from api.scalars import BigInt
from api.types import decode_id
from core.error_codes import CoreErrorCode
from core.errors import ErrorCodeEnum
from points import balances
from redemption import addresses
from redemption import services as mall
from redemption.error_codes import MallErrorCode
from redemption.graphql.types import OrderNode, SupplierOrder
from redemption.services import Redemption
from tenants.models import Role


class Redeem(DomainMutation):
    """Spend points on a product, in one transaction: no oversell, no negative balance.

    Physical goods need `addressId` (one of yours; its text is copied onto the order).
    Send a fresh random `idempotencyKey` per redeem and the same one when retrying: a
    retry answers the first order with `replayed: true` and spends nothing. Refusals:
    `NOT_AVAILABLE`, `OUT_OF_STOCK`, `INSUFFICIENT_POINTS`, `LIMIT_REACHED`,
    `ADDRESS_REQUIRED`, `INVALID_QUANTITY` (1 to 100), `NOT_FOUND` (an address that is not
    yours), `INVALID_IDEMPOTENCY_KEY`, `PHONE_REQUIRED` (goods that ship, for an account
    with no phone: bindPhone first).
    """

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "quantity": MallErrorCode.INVALID_QUANTITY,
        "idempotencyKey": CoreErrorCode.INVALID_IDEMPOTENCY_KEY,
    }
    checks_session = True

    class Arguments:
        product_id = graphene.ID(required=True)
        quantity = graphene.Int(required=True, description="1 to 100.")
        address_id = graphene.ID()
        idempotency_key = graphene.String(required=True)

    order = graphene.Field(OrderNode)
    balance = BigInt(description="The wallet balance afterwards.")
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
        with gated_consumer(info) as bearer:
            product_pk = decode_id(product_id, "Product", "productId")
            address_pk = (
                None if address_id is None else decode_id(address_id, "Address", "addressId")
            )

            def redeem(consumer: User, gate: Bearer | None) -> Redemption:
                if gate is None:
                    # The full way: goods that ship need a phone. The gate admits only a
                    # consumer with one (decision 0343).
                    addresses.ensure_reachable(consumer, product_pk)
                return mall.redeem(
                    consumer,
                    product_pk,
                    quantity,
                    idempotency_key=idempotency_key,
                    address_id=address_pk,
                    gate=gate,
                )

            # A session this process has not checked: the redeem's statement checks it,
            # and refuses what the full way would have to look at (decision 0343).
            result = as_consumer(info, bearer, redeem)
        return cls(order=result.order, balance=result.balance, replayed=result.replayed)


class CancelOrder(DomainMutation):
    """Cancel one of your orders before it ships: the points return with their original
    expiry, and the stock. `NOT_CANCELLABLE` once shipped (or for coupons)."""

    class Arguments:
        id = graphene.ID(required=True)

    order = graphene.Field(OrderNode)
    balance = BigInt(description="The wallet balance afterwards.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> CancelOrder:
        consumer = require_consumer(info)
        order = mall.consumer_order(consumer, decode_id(id, "Order", "id"))
        cancelled = mall.cancel(order, consumer)
        return cls(order=cancelled, balance=balances.wallet_balance(consumer.pk))


class ShipOrder(DomainMutation):
    """Mark a placed order of your goods shipped (operator). `TRACKING_REQUIRED`,
    `INVALID_ORDER_STATUS` (not placed: cancelled, already shipped, a coupon)."""

    class Arguments:
        id = graphene.ID(required=True)
        carrier = graphene.String(required=True, description="At most 60 characters.")
        tracking_number = graphene.String(required=True, description="At most 60 characters.")

    order = graphene.Field(SupplierOrder)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str, carrier: str, tracking_number: str
    ) -> ShipOrder:
        merchant = require_membership(info, Role.OPERATOR).merchant
        order = mall.supplier_order(merchant, decode_id(id, "SupplierOrder", "id"))
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
        merchant = require_membership(info, Role.ADMIN).merchant
        order = mall.supplier_order(merchant, decode_id(id, "SupplierOrder", "id"))
        return cls(order=mall.refund(order, merchant))
