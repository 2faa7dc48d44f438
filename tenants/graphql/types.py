"""The merchant, its staff, its API keys and its audit log, as the merchant API shows them."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import QuerySet
from graphene_django import DjangoConnectionField, DjangoObjectType

from accounts.models import User
from api.permissions import require_membership, require_user
from api.scalars import JSONString
from api.types import choice_value
from tenants import branding
from tenants.models import (
    ApiKey,
    ApiScope,
    AuditEvent,
    Membership,
    Merchant,
    MerchantStatus,
    OfficialAccount,
    OfficialAccountStatus,
    Role,
)

RoleEnum = graphene.Enum("StaffRole", [(value.upper(), value) for value in Role.values])
MerchantStatusEnum = graphene.Enum(
    "MerchantStatus", [(value.upper(), value) for value in MerchantStatus.values]
)
ApiKeyScopeEnum = graphene.Enum(
    "ApiKeyScope",
    [(value.replace(":", "_").upper(), value) for value in ApiScope.values],
    description="What an API key may reach; a write scope implies its read scope.",
)
AuditActorKindEnum = graphene.Enum(
    "AuditActorKind",
    [("STAFF", "staff"), ("API_KEY", "api_key"), ("ANONYMOUS", "anonymous")],
)


class MerchantType(graphene.ObjectType):
    class Meta:
        name = "Merchant"

    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    status = graphene.Field(MerchantStatusEnum, required=True)
    points_expiry_days = graphene.Int(required=True)
    contact_email = graphene.String(required=True)
    logo = graphene.String(
        description="The logo printed on labels, as a data: URL (at most 512 KB); null if none."
    )

    @staticmethod
    def resolve_logo(merchant: Merchant, info: graphene.ResolveInfo) -> str | None:
        return branding.logo_data_url(merchant)

    @staticmethod
    def resolve_status(merchant: Merchant, info: graphene.ResolveInfo) -> str:
        return choice_value(merchant.status)  # a row just created holds the enum member


class MembershipNode:
    """Two node types show a Membership row: ``StaffMember`` and ``MyMembership``.

    ``node(id:)`` returns the row itself, and graphene picks its GraphQL type by
    model, which cannot tell the two apart (a StaffMember ID came back as a
    MyMembership, under another ID). The type that loaded a row by ID marks it.
    """

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Membership | None:
        membership = super().get_node(info, id)  # type: ignore[misc]  # a mixin: graphene's node type is next in the MRO
        if membership is not None:
            membership._node_type = cls
        return membership

    @classmethod
    def is_type_of(cls, root: Any, info: graphene.ResolveInfo) -> bool:
        matches = super().is_type_of(root, info)  # type: ignore[misc]  # a mixin: graphene's node type is next in the MRO
        return matches and getattr(root, "_node_type", cls) is cls


class StaffMember(MembershipNode, DjangoObjectType):
    """A person on the current merchant's staff, with their role."""

    email = graphene.String(required=True)
    name = graphene.String(required=True)
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = Membership
        interfaces = (graphene.relay.Node,)
        fields = ("id", "created_at")

    @staticmethod
    def resolve_email(membership: Membership, info: graphene.ResolveInfo) -> str:
        return membership.user.email or ""

    @staticmethod
    def resolve_name(membership: Membership, info: graphene.ResolveInfo) -> str:
        return membership.user.name

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Membership], info: graphene.ResolveInfo
    ) -> QuerySet[Membership]:
        merchant = require_membership(info).merchant
        return queryset.filter(merchant=merchant).select_related("user")


class MyMembership(MembershipNode, DjangoObjectType):
    """One merchant the signed-in staff member belongs to (for the merchant switcher)."""

    merchant = graphene.Field(MerchantType, required=True)
    role = graphene.Field(RoleEnum, required=True)

    class Meta:
        model = Membership
        interfaces = (graphene.relay.Node,)
        fields = ("id",)
        skip_registry = True

    @classmethod
    def get_queryset(
        cls, queryset: QuerySet[Membership], info: graphene.ResolveInfo
    ) -> QuerySet[Membership]:
        return queryset.filter(user=require_user(info)).select_related("merchant")


class StaffUser(graphene.ObjectType):
    """The signed-in staff member."""

    email = graphene.String(required=True)
    name = graphene.String(required=True)
    memberships = DjangoConnectionField(MyMembership)

    @staticmethod
    def resolve_memberships(user: User, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        return Membership.objects.order_by("merchant__slug")


class ApiKeyNode(DjangoObjectType):
    """A key for server-to-server calls. Its secret is never shown again after creation."""

    scopes = graphene.List(graphene.NonNull(ApiKeyScopeEnum), required=True)
    created_by = graphene.String(description="Email of the staff member who made it.")
    active = graphene.Boolean(required=True, description="Neither revoked nor expired.")

    class Meta:
        name = "ApiKey"
        model = ApiKey
        interfaces = (graphene.relay.Node,)
        fields = ("id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")

    @staticmethod
    def resolve_scopes(key: ApiKey, info: graphene.ResolveInfo) -> list[str]:
        return list(key.scopes)

    @staticmethod
    def resolve_created_by(key: ApiKey, info: graphene.ResolveInfo) -> str | None:
        # A null foreign key makes no query: Django's descriptor answers None from it.
        created_by = key.created_by
        return created_by.email if created_by is not None else None

    @staticmethod
    def resolve_active(key: ApiKey, info: graphene.ResolveInfo) -> bool:
        return key.is_active

    @classmethod
    def get_queryset(cls, queryset: QuerySet[ApiKey], info: graphene.ResolveInfo) -> QuerySet:
        membership = require_membership(info)
        if not membership.has_role(Role.ADMIN):
            return queryset.none()  # node(id) of a key is null below admin
        return queryset.filter(merchant_id=membership.merchant_id).select_related("created_by")


class AuditEventNode(DjangoObjectType):
    """One mutation of the merchant API: who, what, when, from where, and its result."""

    actor = graphene.String(
        required=True, description="The staff member's email, or the API key's prefix."
    )
    actor_kind = graphene.Field(AuditActorKindEnum, required=True)
    api_key_name = graphene.String(description="The key's name when a key acted.")
    input = JSONString(
        required=True, description="The arguments; passwords, tokens and secrets redacted."
    )
    result = graphene.String(
        required=True, description='"ok", or the first error code (INTERNAL_ERROR for a crash).'
    )

    class Meta:
        name = "AuditEvent"
        model = AuditEvent
        interfaces = (graphene.relay.Node,)
        fields = ("id", "mutation", "ip", "user_agent", "created_at")

    @staticmethod
    def resolve_actor(event: AuditEvent, info: graphene.ResolveInfo) -> str:
        return event.actor_label

    @staticmethod
    def resolve_actor_kind(event: AuditEvent, info: graphene.ResolveInfo) -> str:
        if event.api_key_id:
            return "api_key"
        return "staff" if event.actor_user_id else "anonymous"

    @staticmethod
    def resolve_api_key_name(event: AuditEvent, info: graphene.ResolveInfo) -> str | None:
        return event.api_key.name if event.api_key_id and event.api_key else None

    @staticmethod
    def resolve_input(event: AuditEvent, info: graphene.ResolveInfo) -> Any:
        return event.input

    @classmethod
    def get_queryset(cls, queryset: QuerySet[AuditEvent], info: graphene.ResolveInfo) -> QuerySet:
        membership = require_membership(info)
        if not membership.has_role(Role.OWNER):
            return queryset.none()
        return queryset.filter(merchant_id=membership.merchant_id).select_related("api_key")


OfficialAccountStatusEnum = graphene.Enum(
    "OfficialAccountStatus",
    [(value.upper(), value) for value in OfficialAccountStatus.values],
    description="AUTHORIZED, or UNAUTHORIZED once the merchant cancelled in WeChat.",
)
OfficialAccountKindEnum = graphene.Enum(
    "OfficialAccountKind",
    [("SERVICE", "service"), ("SUBSCRIPTION", "subscription")],
    description="服务号 (service account) or 订阅号 (subscription account).",
)


class OfficialAccountType(graphene.ObjectType):
    """The merchant's WeChat official account, authorised to the platform."""

    class Meta:
        name = "OfficialAccount"

    app_id = graphene.String(required=True)
    name = graphene.String(required=True)
    principal_name = graphene.String(required=True, description="The company that owns it.")
    kind = graphene.Field(OfficialAccountKindEnum, required=True)
    verified = graphene.Boolean(required=True, description="WeChat-verified (微信认证).")
    status = graphene.Field(OfficialAccountStatusEnum, required=True)
    can_use_service_apis = graphene.Boolean(
        required=True,
        description=(
            "Parametric QR codes and template messages (follow campaigns, notices): only "
            "a verified service account; WeChat refuses any other with 48001."
        ),
    )
    authorized_at = graphene.DateTime(required=True)
    unauthorized_at = graphene.DateTime(description="When the merchant cancelled in WeChat.")

    @staticmethod
    def resolve_kind(account: OfficialAccount, info: graphene.ResolveInfo) -> str:
        return "service" if account.is_service_account else "subscription"

    @staticmethod
    def resolve_verified(account: OfficialAccount, info: graphene.ResolveInfo) -> bool:
        return account.is_verified

    @staticmethod
    def resolve_can_use_service_apis(account: OfficialAccount, info: graphene.ResolveInfo) -> bool:
        return account.can_use_service_apis
