"""The brand on the labels: set or remove the merchant's logo (admins and owners)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import graphene
from django.utils.translation import gettext as _

from api.mutations import DomainMutation
from api.permissions import require_membership
from core.errors import DomainError
from tenants import branding
from tenants.error_codes import MerchantErrorCode
from tenants.graphql.types import MerchantType
from tenants.models import Role


class MerchantLogoSet(DomainMutation):
    """Upload the logo printed beside the brand's name on labels (admin): a PNG or JPEG
    of at most 512 KB, 64 to 2048 pixels a side, as base64 (a ``data:`` URL is fine)."""

    class Arguments:
        image = graphene.String(required=True, description="The file, base64 (or a data: URL).")

    merchant = graphene.Field(MerchantType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, image: str) -> MerchantLogoSet:
        actor = require_membership(info, Role.ADMIN)
        return cls(merchant=branding.set_logo(actor.merchant, _decode(image)))


class MerchantLogoRemove(DomainMutation):
    """Print labels without a logo from now on (admin)."""

    merchant = graphene.Field(MerchantType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> MerchantLogoRemove:
        actor = require_membership(info, Role.ADMIN)
        return cls(merchant=branding.remove_logo(actor.merchant))


def _decode(image: str) -> bytes:
    """The bytes of base64 ``image``; a ``data:`` URL's header is dropped first. Checked
    against the size limit before decoding, so a huge string is refused cheaply."""
    payload = image.split(",", 1)[1] if image.startswith("data:") else image
    if len(payload) > (branding.MAX_LOGO_BYTES + 2) // 3 * 4 + 4:
        raise DomainError(
            MerchantErrorCode.LOGO_TOO_LARGE, _("The logo must be 512 KB or smaller."), "image"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(
            MerchantErrorCode.LOGO_NOT_AN_IMAGE, _("The logo must be a PNG or JPEG image."), "image"
        ) from None
