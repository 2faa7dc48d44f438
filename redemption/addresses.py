"""The consumer's address book: at most 50 addresses, exactly one of them the default.

Orders copy the address they ship to (``Address.snapshot``), so editing or deleting
an address never moves a parcel.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.phones import normalize_phone
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from redemption.error_codes import MallErrorCode
from redemption.models import Address, Product, ProductKind

MAX_ADDRESSES = 50


def ensure_reachable(consumer: User, product_id: int) -> None:
    """Goods that ship need a phone bound to the account (the courier calls it, and the
    consumer is the person behind a phone): a consumer who signed in with WeChat only is
    refused ``PHONE_REQUIRED`` until a phone is bound (``bindPhone``).

    Checked before the redeem, and only for an account without a phone: phone accounts,
    nearly every redeem, pay nothing for it.
    """
    if consumer.phone:
        return
    if Product.objects.filter(pk=product_id, kind=ProductKind.PHYSICAL).exists():
        raise DomainError(
            MallErrorCode.PHONE_REQUIRED,
            _("Bind your phone number first: goods are delivered to a phone."),
            "productId",
        )


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
        address: Address | None
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
