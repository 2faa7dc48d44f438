"""The signed-in consumer and the tokens a sign-in gives."""

from __future__ import annotations

import graphene
from graphql_relay import to_global_id

from accounts import tokens
from accounts.models import User


class Consumer(graphene.ObjectType):
    """The signed-in consumer."""

    id = graphene.ID(required=True)
    phone = graphene.String(
        description="E.164, e.g. +8613800138000; null for a consumer signed in only by WeChat."
    )
    name = graphene.String(required=True)
    date_joined = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(user: User, info: graphene.ResolveInfo) -> str:
        return to_global_id("Consumer", user.pk)


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
