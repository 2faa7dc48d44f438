"""The tenants mutations of the merchant API, one module per family.

Two root pieces, because the merchant schema places them apart (api/schema.py).
"""

from __future__ import annotations

import graphene

from tenants.graphql.mutations.api_keys import ApiKeyCreate, ApiKeyRevoke
from tenants.graphql.mutations.branding import MerchantLogoRemove, MerchantLogoUpload
from tenants.graphql.mutations.official_accounts import (
    MerchantOpenidLinkComplete,
    MerchantOpenidLinkStart,
    OfficialAccountAuthorizeComplete,
    OfficialAccountAuthorizeStart,
)
from tenants.graphql.mutations.signup import MerchantSignUp
from tenants.graphql.mutations.staff import (
    AcceptInvitation,
    StaffChangeRole,
    StaffInvite,
    StaffRemove,
)


class MerchantMutations(graphene.ObjectType):
    staff_invite = StaffInvite.Field()
    staff_change_role = StaffChangeRole.Field()
    staff_remove = StaffRemove.Field()
    accept_invitation = AcceptInvitation.Field()
    merchant_sign_up = MerchantSignUp.Field()
    merchant_logo_upload = MerchantLogoUpload.Field()
    merchant_logo_remove = MerchantLogoRemove.Field()


class SecurityMutations(graphene.ObjectType):
    api_key_create = ApiKeyCreate.Field()
    api_key_revoke = ApiKeyRevoke.Field()


class OfficialAccountMutations(graphene.ObjectType):
    official_account_authorize_start = OfficialAccountAuthorizeStart.Field()
    official_account_authorize_complete = OfficialAccountAuthorizeComplete.Field()


class ConsumerMutations(graphene.ObjectType):
    merchant_openid_link_start = MerchantOpenidLinkStart.Field()
    merchant_openid_link_complete = MerchantOpenidLinkComplete.Field()
