"""Merchant API: the merchant and its staff; its API keys and audit log (``SecurityQueries``).

Two root pieces, because the merchant schema places them apart (api/schema.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField

from accounts.models import User
from api.permissions import require_membership
from api.types import assume_utc
from core.wechat import component_enabled
from tenants import audit, wechat
from tenants.graphql.types import (
    ApiKeyNode,
    AuditEventNode,
    MerchantType,
    OfficialAccountType,
    RoleEnum,
    StaffMember,
    StaffUser,
)
from tenants.models import ApiKey, Membership, Merchant, OfficialAccount, Role


class MerchantQueries(graphene.ObjectType):
    me = graphene.Field(StaffUser, description="The signed-in staff member, or null.")
    merchant = graphene.Field(
        MerchantType, required=True, description="The merchant this request is for."
    )
    my_role = graphene.Field(RoleEnum, required=True)
    staff = DjangoConnectionField(StaffMember)

    @staticmethod
    def resolve_me(root: Any, info: graphene.ResolveInfo) -> User | None:
        user = info.context.user
        return user if user.is_authenticated and user.email else None

    # Who and where: answered for an application too (pending or declined), so that its
    # staff can see its status; every other field refuses it (MERCHANT_NOT_ACTIVE).
    @staticmethod
    def resolve_merchant(root: Any, info: graphene.ResolveInfo) -> Merchant:
        return require_membership(info, approved=False).merchant

    @staticmethod
    def resolve_my_role(root: Any, info: graphene.ResolveInfo) -> str:
        return require_membership(info, approved=False).role

    @staticmethod
    def resolve_staff(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Membership.objects.order_by("created_at", "id")


class SecurityQueries(graphene.ObjectType):
    api_keys = DjangoConnectionField(
        ApiKeyNode, description="The merchant's API keys, newest first (admins and owners)."
    )
    audit_log = DjangoConnectionField(
        AuditEventNode,
        actor=graphene.String(description="An email or an API key prefix (any case)."),
        mutation=graphene.String(description="A mutation name, e.g. createCodeBatch."),
        since=graphene.DateTime(description="From this moment, included."),
        until=graphene.DateTime(description="Before this moment."),
        description="Every mutation made for the merchant, newest first (owners).",
    )

    @staticmethod
    def resolve_api_keys(root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> QuerySet:
        require_membership(info, Role.ADMIN)
        return ApiKey.objects.order_by("-created_at", "-id")

    @staticmethod
    def resolve_audit_log(
        root: Any,
        info: graphene.ResolveInfo,
        actor: str | None = None,
        mutation: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        **kwargs: Any,
    ) -> QuerySet:
        membership = require_membership(info, Role.OWNER)
        return audit.events(
            membership.merchant_id,
            actor=actor,
            mutation=mutation,
            since=assume_utc(since),
            until=assume_utc(until),
        )


class OfficialAccountQueries(graphene.ObjectType):
    official_account = graphene.Field(
        OfficialAccountType,
        description="The WeChat official account the merchant authorised, or null.",
    )
    official_account_platform_enabled = graphene.Boolean(
        required=True, description="Whether merchants can authorise official accounts here."
    )

    @staticmethod
    def resolve_official_account(root: Any, info: graphene.ResolveInfo) -> OfficialAccount | None:
        return wechat.account_of(require_membership(info).merchant)

    @staticmethod
    def resolve_official_account_platform_enabled(root: Any, info: graphene.ResolveInfo) -> bool:
        require_membership(info)
        return component_enabled()
