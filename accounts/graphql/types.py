"""The signed-in consumer and the tokens a sign-in gives."""

from __future__ import annotations

import graphene
from django.conf import settings
from graphql_relay import to_global_id

from accounts import tokens
from accounts.merge import PendingMerge
from accounts.models import User
from api.scalars import BigInt


class Consumer(graphene.ObjectType):
    """The signed-in consumer."""

    id = graphene.ID(required=True)
    phone = graphene.String(
        description="E.164, e.g. +8613800138000; null for a consumer who signed in with "
        "WeChat and has not bound a phone (needed to redeem goods that ship)."
    )
    wechat = graphene.Boolean(
        required=True, description="Whether a WeChat user is bound (our service account's)."
    )
    name = graphene.String(required=True)
    date_joined = graphene.DateTime(required=True)
    birthday = graphene.Date(description="Given once with setBirthday; null: not given.")

    @staticmethod
    def resolve_id(user: User, info: graphene.ResolveInfo) -> str:
        return to_global_id("Consumer", user.pk)

    @staticmethod
    def resolve_wechat(user: User, info: graphene.ResolveInfo) -> bool:
        return user.wechat_identities.filter(app_id=settings.WECHAT_APP_ID).exists()


class AccountHoldings(graphene.ObjectType):
    """What an account holds, shown before it is merged."""

    points = BigInt(required=True)
    orders = graphene.Int(required=True)


class AccountMerge(graphene.ObjectType):
    """A merge waiting for the consumer's confirmation (`confirmAccountMerge(token)`)."""

    token = graphene.String(required=True, description="Signed; names both accounts.")
    expires_in = graphene.Int(required=True, description="Seconds the token is valid.")
    other_holds = graphene.Field(AccountHoldings, required=True)
    other_phone = graphene.String(description="The other account's phone, masked.")
    keeps_signed_in_account = graphene.Boolean(
        required=True,
        description="True: the other account joins this one. False: this one joins the "
        "other (the older account stays), and the confirmation answers its tokens.",
    )

    @classmethod
    def from_pending(cls, pending: PendingMerge) -> AccountMerge:
        return cls(
            token=pending.token,
            expires_in=pending.expires_in,
            other_holds=AccountHoldings(
                points=pending.other_holds.get("points", 0),
                orders=pending.other_holds.get("orders", 0),
            ),
            other_phone=pending.other.masked_phone or None,
            keeps_signed_in_account=pending.keeps_signed_in_account,
        )


class AuthTokens(graphene.ObjectType):
    access_token = graphene.String(required=True, description="Send as `Authorization: Bearer`.")
    refresh_token = graphene.String(
        required=True, description="Exchange with refreshToken before the access token expires."
    )
    expires_in = graphene.Int(required=True, description="Seconds the access token is valid.")

    @classmethod
    def from_pair(cls, pair: tokens.TokenPair) -> AuthTokens:
        """What every sign-in answers (consumers, staff, an accepted invitation)."""
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )


class WeChatJsConfig(graphene.ObjectType):
    """The arguments of the JS-SDK's `wx.config` for one page inside WeChat."""

    app_id = graphene.String(required=True)
    timestamp = graphene.Int(required=True)
    nonce_str = graphene.String(required=True)
    signature = graphene.String(required=True)
    js_api_list = graphene.List(graphene.NonNull(graphene.String), required=True)
