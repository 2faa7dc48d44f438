"""Sign-in for both APIs: consumers by phone + one-time code, staff by email + password."""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings

from accounts import otp, services, tokens
from accounts.models import User
from api.mutations import DomainMutation
from api.permissions import client_ip, require_user


class Consumer(graphene.ObjectType):
    """The signed-in consumer."""

    id = graphene.ID(required=True)
    phone = graphene.String(required=True, description="E.164, e.g. +8613800138000.")
    name = graphene.String(required=True)
    date_joined = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(user: User, info: graphene.ResolveInfo) -> str:
        from graphql_relay import to_global_id

        return to_global_id("Consumer", user.pk)


class AuthTokens(graphene.ObjectType):
    access_token = graphene.String(required=True, description="Send as `Authorization: Bearer`.")
    refresh_token = graphene.String(
        required=True, description="Exchange with refreshToken before the access token expires."
    )
    expires_in = graphene.Int(required=True, description="Seconds the access token is valid.")


def _tokens(pair: tokens.TokenPair) -> AuthTokens:
    return AuthTokens(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


def _user_agent(info: graphene.ResolveInfo) -> str:
    return info.context.headers.get("User-Agent", "")


class RequestSignInCode(DomainMutation):
    """Text a 6-digit sign-in code to a phone."""

    class Arguments:
        phone = graphene.String(required=True)

    expires_in = graphene.Int(description="Seconds the code is valid.")
    resend_after = graphene.Int(description="Seconds before another code may be requested.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, phone: str) -> RequestSignInCode:
        otp.request_code(phone, client_ip(info.context))
        return cls(
            expires_in=settings.OTP_TTL_SECONDS,
            resend_after=settings.OTP_RESEND_INTERVAL_SECONDS,
        )


class SignInWithCode(DomainMutation):
    """Exchange a phone's sign-in code for tokens; the consumer is created on first sign-in."""

    class Arguments:
        phone = graphene.String(required=True)
        code = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)
    consumer = graphene.Field(Consumer)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, phone: str, code: str
    ) -> SignInWithCode:
        user = otp.verify_code(phone, code)
        return cls(tokens=_tokens(tokens.issue(user, _user_agent(info))), consumer=user)


class RefreshToken(DomainMutation):
    """Rotate a refresh token: returns a new access and refresh token."""

    class Arguments:
        refresh_token = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, refresh_token: str) -> RefreshToken:
        return cls(tokens=_tokens(tokens.refresh(refresh_token)))


class SignOut(DomainMutation):
    """Revoke the current session: its access and refresh tokens stop working."""

    ok = graphene.Boolean()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> SignOut:
        require_user(info)
        tokens.revoke(info.context.auth_session)
        return cls(ok=True)


class StaffSignIn(DomainMutation):
    """Staff sign-in with email and password."""

    class Arguments:
        email = graphene.String(required=True)
        password = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, email: str, password: str
    ) -> StaffSignIn:
        user = services.staff_sign_in(email, password, client_ip(info.context))
        return cls(tokens=_tokens(tokens.issue(user, _user_agent(info))))


class ConsumerAuthMutations(graphene.ObjectType):
    request_sign_in_code = RequestSignInCode.Field()
    sign_in_with_code = SignInWithCode.Field()
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()


class StaffAuthMutations(graphene.ObjectType):
    sign_in = StaffSignIn.Field()
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()


class ConsumerQueries(graphene.ObjectType):
    me = graphene.Field(Consumer, description="The signed-in consumer, or null.")

    @staticmethod
    def resolve_me(root: Any, info: graphene.ResolveInfo) -> User | None:
        user = info.context.user
        return user if user.is_authenticated and user.phone else None
