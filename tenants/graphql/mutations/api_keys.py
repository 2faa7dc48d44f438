"""API keys: create and revoke (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import graphene
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.types import assume_utc, choice_value
from core.error_codes import CoreErrorCode
from core.errors import DomainError, ErrorCodeEnum
from tenants import apikeys
from tenants.error_codes import MerchantErrorCode
from tenants.graphql.types import ApiKeyNode, ApiKeyScopeEnum
from tenants.models import ApiKey, Role


def _api_key(merchant_id: int, global_id: str) -> ApiKey:
    """The merchant's key named by ``global_id``; a malformed ID or another merchant's
    key is simply not found."""
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

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {"name": MerchantErrorCode.INVALID_NAME}

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
        key, secret = apikeys.create(
            actor, name, [choice_value(s) for s in scopes], assume_utc(expires_at)
        )
        return cls(api_key=key, secret=secret)


class ApiKeyRevoke(DomainMutation):
    """Revoke an API key (admin): it is refused (HTTP 401) from the next request on."""

    class Arguments:
        id = graphene.ID(required=True)

    api_key = graphene.Field(ApiKeyNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> ApiKeyRevoke:
        actor = require_membership(info, Role.ADMIN)
        return cls(api_key=apikeys.revoke(actor, _api_key(actor.merchant_id, id)))
