"""IDs, choices and object types that every domain's GraphQL package shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from django.utils import timezone
from django.utils.translation import gettext as _
from graphql_relay import from_global_id

from core.error_codes import CoreErrorCode
from core.errors import DomainError


def choice_value(choice: Any) -> str:
    """The plain value of a choice or enum member (a row just created holds the member)."""
    return getattr(choice, "value", choice)


def assume_utc(moment: datetime | None) -> datetime | None:
    """A ``DateTime`` argument sent without an offset, read as UTC (graphene leaves it naive)."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, UTC)
    return moment


def decode_id(global_id: str | None, type_name: str, field: str) -> int:
    """The primary key inside a global ID of ``type_name``; otherwise ``NOT_FOUND``."""
    try:
        kind, pk = from_global_id(global_id or "")
    except Exception:  # malformed base64 or text: simply not found
        kind, pk = "", ""
    if kind != type_name or not pk.isdigit() or len(pk) > 18:
        raise DomainError(CoreErrorCode.NOT_FOUND, _("No such object."), field)
    return int(pk)


class PublicNode:
    """``node(id:)`` for public-schema rows: a malformed key is not found (null), not an error."""

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Any:
        if not str(id).isdigit() or len(str(id)) > 18:
            return None
        return super().get_node(info, id)  # type: ignore[misc]  # a mixin: graphene's node type is next in the MRO


class DownloadLink(graphene.ObjectType):
    """A signed link that gives a file without sign-in until `expiresAt`."""

    url = graphene.String(required=True)
    expires_at = graphene.DateTime(required=True)
