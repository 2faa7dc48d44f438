"""Sign-in for both APIs: consumers by phone + one-time code, staff by email + password."""

from __future__ import annotations

from typing import Any

import graphene
from django.conf import settings
from django.utils.translation import gettext as _

from accounts import merge as merging
from accounts import otp, services, tokens, wechat_signin
from accounts.error_codes import AccountErrorCode
from accounts.errors import AuthError
from accounts.graphql.types import AccountMerge, AuthTokens, Consumer
from api.errors import error_from
from api.mutations import DomainMutation
from api.permissions import client_ip, require_consumer, require_user, user_agent


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


class _Binding(DomainMutation):
    """What binding a phone or WeChat answers (one account, one wallet: accounts.merge)."""

    class Meta:
        abstract = True

    consumer = graphene.Field(Consumer, description="The account signed in afterwards.")
    tokens = graphene.Field(
        AuthTokens,
        description="Set when the signed-in account joined another (its sessions are "
        "signed out): use these from now on.",
    )
    merge = graphene.Field(
        AccountMerge,
        description="Set with the error ACCOUNT_MERGE_REQUIRED: the other account holds "
        "points or orders; show them and confirm with confirmAccountMerge.",
    )

    @classmethod
    def answer(cls, info: graphene.ResolveInfo, binding: merging.Binding) -> _Binding:
        if binding.merge is not None:
            required = AuthError(
                AccountErrorCode.ACCOUNT_MERGE_REQUIRED,
                _("This belongs to another account with points or orders. Merge them?"),
            )
            return cls(
                consumer=binding.user,
                merge=AccountMerge.from_pending(binding.merge),
                errors=[error_from(required)],
            )
        pair = tokens.issue(binding.user, user_agent(info.context)) if binding.switched else None
        return cls(consumer=binding.user, tokens=AuthTokens.from_pair(pair) if pair else None)


class BindPhone(_Binding):
    """Bind a phone to the signed-in consumer, proven by a code from requestSignInCode.

    A phone of another account is merged in: silently when one of the two holds nothing,
    else after confirmation (ACCOUNT_MERGE_REQUIRED with `merge`). Refusals: the code's
    (OTP_INVALID, OTP_EXPIRED, OTP_TOO_MANY_ATTEMPTS), PHONE_ALREADY_BOUND (another
    phone is bound), ACCOUNTS_CANNOT_MERGE.
    """

    class Arguments:
        phone = graphene.String(required=True)
        code = graphene.String(required=True)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, phone: str, code: str) -> _Binding:
        return cls.answer(info, merging.bind_phone(require_consumer(info), phone, code))


class BindWeChat(_Binding):
    """Bind the WeChat user of a `#wx=` ticket (from /wechat/signin) to the signed-in consumer.

    As bindPhone for another account's WeChat user. Refusals: WECHAT_TICKET_INVALID,
    WECHAT_TICKET_EXPIRED, WECHAT_TICKET_USED, WECHAT_ALREADY_BOUND, ACCOUNTS_CANNOT_MERGE.
    """

    class Arguments:
        ticket = graphene.String(required=True)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, ticket: str) -> _Binding:
        return cls.answer(info, merging.bind_wechat(require_consumer(info), ticket))


class ConfirmAccountMerge(_Binding):
    """Merge the two accounts a bind named: one wallet (one ledger transaction), the
    orders, addresses, phone and WeChat user in the account that stays; the other is
    closed and signed out. Refusals: MERGE_TOKEN_INVALID (forged, another account's, or
    used), MERGE_TOKEN_EXPIRED, ACCOUNTS_CANNOT_MERGE.
    """

    class Arguments:
        token = graphene.String(required=True)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, token: str) -> _Binding:
        return cls.answer(info, merging.confirm_merge(require_consumer(info), token))


class ConsumerAuthMutations(graphene.ObjectType):
    request_sign_in_code = RequestSignInCode.Field()
    bind_phone = BindPhone.Field()
    bind_we_chat = BindWeChat.Field(name="bindWeChat")
    confirm_account_merge = ConfirmAccountMerge.Field()
    sign_in_with_code = SignInWithCode.Field()
    sign_in_with_we_chat = SignInWithWeChat.Field(name="signInWithWeChat")
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()


class StaffAuthMutations(graphene.ObjectType):
    sign_in = StaffSignIn.Field()
    refresh_token = RefreshToken.Field()
    sign_out = SignOut.Field()
