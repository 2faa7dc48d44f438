"""The brand on the labels: upload or remove the merchant's logo (admins and owners)."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from tenants import branding
from tenants.graphql.types import MerchantType
from tenants.models import Role


class MerchantLogoUpload(DomainMutation):
    """Start uploading the logo printed beside the brand's name on labels (admin).

    Gives `uploadUrl`: POST the file there (multipart/form-data, field `file`) within
    15 minutes. A PNG or JPEG (judged by its content) of at most 512 KB, 64 to 2048
    pixels a side; the answer is 200, or JSON `errors` with `LOGO_NOT_AN_IMAGE`,
    `LOGO_TOO_LARGE` (413) or `LOGO_BAD_DIMENSIONS`. It replaces any previous logo.
    """

    upload_url = graphene.String(description="Where to POST the file, for 15 minutes.")
    expires_at = graphene.DateTime()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> MerchantLogoUpload:
        actor = require_membership(info, Role.ADMIN)
        return cls(
            upload_url=branding.upload_path(actor.merchant),
            expires_at=branding.UPLOAD_LINK.expires_at(),
        )


class MerchantLogoRemove(DomainMutation):
    """Print labels without a logo from now on (admin)."""

    merchant = graphene.Field(MerchantType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> MerchantLogoRemove:
        actor = require_membership(info, Role.ADMIN)
        return cls(merchant=branding.remove_logo(actor.merchant))
