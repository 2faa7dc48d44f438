"""The mall's part of a consumer's data copy and erasure (``privacy.parts``).

Orders are kept for the three years the E-commerce Law asks (art. 31), pseudonymised:
the delivery address copied onto each order loses the recipient, phone and street (the
region stays, for the mall's shipping figures); the address book is deleted.
"""

from __future__ import annotations

from typing import Any

from redemption.models import Address, Order

ERASED_RECIPIENT = "-"


def copy(consumer_id: int) -> dict[str, list[dict[str, Any]]]:
    orders = (
        Order.objects.filter(consumer_id=consumer_id)
        .select_related("product")
        .order_by("placed_at", "id")
    )
    addresses = Address.objects.filter(consumer_id=consumer_id).order_by("created_at", "id")
    return {
        "orders": [
            {
                "id": order.pk,
                "product": order.product.title,
                "quantity": order.quantity,
                "points": order.total_points,
                "status": order.status,
                "address": order.address or {},
                "carrier": order.carrier,
                "tracking_number": order.tracking_number,
                "placed_at": order.placed_at.isoformat(),
            }
            for order in orders
        ],
        "addresses": [
            {
                "recipient": address.recipient,
                "phone": address.phone,
                "region": address.region,
                "street": address.street,
                "postal_code": address.postal_code,
                "is_default": address.is_default,
            }
            for address in addresses
        ],
    }


def erase(consumer_id: int) -> None:
    Address.objects.filter(consumer_id=consumer_id).delete()
    for order in Order.objects.filter(consumer_id=consumer_id, address__isnull=False):
        address = dict(order.address or {})
        address.update(recipient=ERASED_RECIPIENT, phone="", street="", postal_code="")
        order.address = address
        order.save(update_fields=["address"])
