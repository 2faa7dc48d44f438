"""Merchants' WeChat official accounts: authorise one (merchant API); a consumer's OpenID
under a merchant's account (consumer API). Thin: the flow is ``tenants.wechat``'s."""

from __future__ import annotations

from typing import Any

import graphene
from django.utils.translation import gettext as _

from api.mutations import DomainMutation
from api.permissions import require_consumer, require_membership
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import wechat
from tenants.graphql.types import OfficialAccountType
from tenants.models import Merchant, Role


class OfficialAccountAuthorizeStart(DomainMutation):
    """WeChat's authorisation page for the merchant's official account (admin).

    Open ``url``: the account's administrator scans it with WeChat and confirms; WeChat
    sends the browser back to the console's WeChat screen with ``state`` and
    ``auth_code``, for ``officialAccountAuthorizeComplete``. The merchant's AppSecret is
    never asked for.
    """

    url = graphene.String()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> OfficialAccountAuthorizeStart:
        return cls(url=wechat.authorisation_url(require_membership(info, Role.ADMIN)))


class OfficialAccountAuthorizeComplete(DomainMutation):
    """Finish the authorisation with what WeChat sent the browser back with (admin)."""

    class Arguments:
        state = graphene.String(required=True, description="At most 1000 characters.")
        auth_code = graphene.String(required=True, description="At most 1000 characters.")

    official_account = graphene.Field(OfficialAccountType)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, state: str, auth_code: str
    ) -> OfficialAccountAuthorizeComplete:
        membership = require_membership(info, Role.ADMIN)
        return cls(official_account=wechat.complete_authorisation(membership, state, auth_code))


class MerchantOpenidLinkStart(DomainMutation):
    """Learn the signed-in consumer's OpenID under a merchant's official account.

    Open ``url`` inside WeChat: WeChat's silent authorisation (``snsapi_base``) under
    the merchant's app, then back to our page, which finishes with
    ``merchantOpenidLinkComplete`` and goes on to ``next``.
    """

    class Arguments:
        merchant = graphene.String(required=True, description="The merchant's slug.")
        next = graphene.String(
            default_value="/", description="Where to go afterwards: a path on this site."
        )

    url = graphene.String()

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, merchant: str, next: str = "/"
    ) -> MerchantOpenidLinkStart:
        user = require_consumer(info)
        found = Merchant.objects.filter(slug=merchant).first()
        if found is None:
            raise DomainError(CoreErrorCode.NOT_FOUND, _("No such merchant."), "merchant")
        return cls(url=wechat.merchant_openid_url(user, found, next))


class MerchantOpenidLinkComplete(DomainMutation):
    """Finish with what WeChat sent the browser back with; single use, this consumer's."""

    class Arguments:
        state = graphene.String(required=True, description="At most 1000 characters.")
        code = graphene.String(required=True, description="At most 1000 characters.")

    next = graphene.String(description="Where to go now.")

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, state: str, code: str
    ) -> MerchantOpenidLinkComplete:
        _identity, next_path = wechat.link_merchant_openid(require_consumer(info), state, code)
        return cls(next=next_path)
