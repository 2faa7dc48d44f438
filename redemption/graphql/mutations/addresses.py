"""Consumer API: the address book (add, edit, delete)."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_consumer
from api.types import decode_id
from core.errors import ErrorCodeEnum
from redemption import addresses
from redemption.error_codes import MallErrorCode
from redemption.graphql.types import AddressNode


class SaveAddress(DomainMutation):
    """Add an address (no `id`) or replace one of yours. `INVALID_ADDRESS` and
    `INVALID_PHONE` name the field at fault; at most 50 addresses (`TOO_MANY_ADDRESSES`)."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = dict.fromkeys(
        ("recipient", "phone", "region", "street", "postalCode"), MallErrorCode.INVALID_ADDRESS
    )

    class Arguments:
        id = graphene.ID(description="The address to edit; omit to add one.")
        recipient = graphene.String(required=True, description="At most 100 characters.")
        phone = graphene.String(required=True, description="The recipient's mobile number.")
        region = graphene.String(required=True, description="Province, city, district.")
        street = graphene.String(required=True, description="At most 300 characters.")
        postal_code = graphene.String(default_value="")
        is_default = graphene.Boolean(default_value=False)

    address = graphene.Field(AddressNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, id: str | None = None, **fields: Any
    ) -> SaveAddress:
        consumer = require_consumer(info)
        address_id = None if id is None else decode_id(id, "Address", "id")
        return cls(address=addresses.save_address(consumer, address_id, **fields))


class DeleteAddress(DomainMutation):
    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> DeleteAddress:
        consumer = require_consumer(info)
        addresses.delete_address(consumer, decode_id(id, "Address", "id"))
        return cls(deleted_id=id)
