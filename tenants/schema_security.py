"""Merchant API: API keys (admins and owners) and the audit log (owners)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from graphene_django import DjangoConnectionField, DjangoObjectType
from graphql_relay import from_global_id

from api.mutations import DomainMutation
from api.permissions import require_membership
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants import apikeys, audit
from tenants.models import ApiKey, ApiScope, AuditEvent, Role

ApiKeyScopeEnum = graphene.Enum(
    "ApiKeyScope",
    [(value.replace(":", "_").upper(), value) for value in ApiScope.values],
    description="What an API key may reach; a write scope implies its read scope.",
)
AuditActorKindEnum = graphene.Enum(
    "AuditActorKind",
    [("STAFF", "staff"), ("API_KEY", "api_key"), ("ANONYMOUS", "anonymous")],
)


def _value(enum_or_value: Any) -> str:
    return getattr(enum_or_value, "value", enum_or_value)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, UTC)
    return moment


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
        return key.created_by.email if key.created_by_id else None

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
    input = graphene.JSONString(
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


def _api_key(info: graphene.ResolveInfo, merchant_id: int, global_id: str) -> ApiKey:
    try:
        kind, pk = from_global_id(global_id or "")
    except Exception:  # malformed: simply not found
        kind, pk = "", ""
    key = (
        ApiKey.objects.filter(pk=int(pk), merchant_id=merchant_id).first()
        if kind == "ApiKey" and pk.isdigit() and len(pk) <= 18
        else None
    )
    if key is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such API key."), "id")
    return key


class ApiKeyCreate(DomainMutation):
    """Make an API key (admin). ``secret`` is the whole key, shown in this answer only:
    send it as ``Authorization: Bearer <secret>`` to the merchant API."""

    class Arguments:
        name = graphene.String(required=True, description="1 to 100 characters, e.g. ERP.")
        scopes = graphene.List(graphene.NonNull(ApiKeyScopeEnum), required=True)
        expires_at = graphene.DateTime(description="Optional, within three years.")

    api_key = graphene.Field(ApiKeyNode)
    secret = graphene.String(description="The full key. Store it now: it is never shown again.")

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        name: str,
        scopes: list[Any],
        expires_at: datetime | None = None,
    ) -> ApiKeyCreate:
        actor = require_membership(info, Role.ADMIN)
        key, secret = apikeys.create(actor, name, [_value(s) for s in scopes], _aware(expires_at))
        return cls(api_key=key, secret=secret)


class ApiKeyRevoke(DomainMutation):
    """Revoke an API key (admin): it is refused (HTTP 401) from the next request on."""

    class Arguments:
        id = graphene.ID(required=True)

    api_key = graphene.Field(ApiKeyNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> ApiKeyRevoke:
        actor = require_membership(info, Role.ADMIN)
        return cls(api_key=apikeys.revoke(actor, _api_key(info, actor.merchant_id, id)))


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
            since=_aware(since),
            until=_aware(until),
        )


class SecurityMutations(graphene.ObjectType):
    api_key_create = ApiKeyCreate.Field()
    api_key_revoke = ApiKeyRevoke.Field()
