"""Merchant sign-up: an application, made without signing in."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import client_ip
from tenants import signup
from tenants.graphql.types import MerchantType


class MerchantSignUp(DomainMutation):
    """Apply for a merchant account; no sign-in needed (rate limited per address).

    Creates the owner's staff account (the contact email and the password) and a
    pending merchant. The owner can sign in at once; until the platform's operators
    approve the application, every field but ``merchant``, ``myRole`` and ``me``
    answers ``MERCHANT_NOT_ACTIVE``. Every field at fault is reported.
    """

    # The service reports every field at fault at once, with its own codes.
    limits_checked_by_service = (
        "name",
        "slug",
        "contactEmail",
        "contactPhone",
        "ownerName",
        "about",
    )

    class Arguments:
        name = graphene.String(required=True, description="The business's name.")
        slug = graphene.String(
            required=True, description="3-40 lowercase letters, digits and hyphens; unique."
        )
        contact_email = graphene.String(
            required=True,
            description=(
                "Where decisions are sent; also the owner's sign-in. At most 254 characters."
            ),
        )
        owner_name = graphene.String(required=True, description="The owner's own name.")
        password = graphene.String(required=True, description="The owner's password.")
        contact_phone = graphene.String(default_value="")
        about = graphene.String(
            default_value="",
            description="What the business does; several lines, at most 1,000 characters.",
        )
        language = graphene.String(
            default_value="", description="Language of the emails (zh-hans or en)."
        )

    merchant = graphene.Field(MerchantType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **fields: Any) -> MerchantSignUp:
        return cls(merchant=signup.sign_up(**fields, ip=client_ip(info.context)))
