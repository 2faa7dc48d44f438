"""Sign-in for both APIs: consumers by phone + one-time code, staff by email + password."""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings

from accounts import otp, services, tokens, wechat_signin
from accounts.graphql.types import AuthTokens, Consumer
from api.mutations import DomainMutation
from api.permissions import client_ip, require_user, user_agent


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
        request = info.context
        user = otp.verify_code(phone, code, client_ip(request), user_agent(request))
        pair = tokens.issue(user, user_agent(info.context))
        return cls(tokens=AuthTokens.from_pair(pair), consumer=user)


class SignInWithWeChat(DomainMutation):
    """Trade the ticket of a sign-in inside WeChat (the page's `#wx=`) for tokens.

    A consumer seen before is signed in and the ticket is used up. A new one gets
    CONSENT_REQUIRED (the ticket still works) until the call says `acceptPolicies`;
    then the account is created with the consent recorded.
    """

    class Arguments:
        ticket = graphene.String(
            required=True, description="From the page address's #wx=. At most 1000 characters."
        )
        accept_policies = graphene.Boolean(
            default_value=False,
            description=(
                "The consumer tapped to agree to the user agreement and the privacy policy "
                "(needed once, to create the account)."
            ),
        )

    tokens = graphene.Field(AuthTokens)
    consumer = graphene.Field(Consumer)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, ticket: str, accept_policies: bool = False
    ) -> SignInWithWeChat:
        request = info.context
        user = wechat_signin.sign_in_with_wechat(
            ticket, accept_policies, client_ip(request), user_agent(request)
        )
        pair = tokens.issue(user, user_agent(request))
        return cls(tokens=AuthTokens.from_pair(pair), consumer=user)


class RefreshToken(DomainMutation):
    """Rotate a refresh token: returns a new access and refresh token."""

    class Arguments:
        refresh_token = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, refresh_token: str) -> RefreshToken:
        return cls(tokens=AuthTokens.from_pair(tokens.refresh(refresh_token)))


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
        email = graphene.String(required=True, description="At most 254 characters.")
        password = graphene.String(required=True)

    tokens = graphene.Field(AuthTokens)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, email: str, password: str
    ) -> StaffSignIn:
        user = services.staff_sign_in(email, password, client_ip(info.context))
        return cls(tokens=AuthTokens.from_pair(tokens.issue(user, user_agent(info.context))))


class ConsumerAuthMutations(graphene.ObjectType):
    request_sign_in_code = RequestSignInCode.Field()
    sign_in_with_code = SignInWithCode.Field()
    sign_in_with_we_chat = SignInWithWeChat.Field(name="signInWithWeChat")
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()


class StaffAuthMutations(graphene.ObjectType):
    sign_in = StaffSignIn.Field()
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()
