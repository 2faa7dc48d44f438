"""Relay nodes for rows of a merchant's schema, and finding them by global ID.

Everything in the merchant API's campaigns runs in the merchant's schema:
``require_membership`` switches the connection to it, so the tables queried are the
merchant's own and no other merchant's rows can appear. Global IDs name the merchant as
well as the row (``Campaign:<merchant id>:<pk>``): every merchant's tables number their
rows from 1, so a bare primary key would name a different campaign at every merchant. An
ID of another merchant's object resolves to null (``node``) or ``NOT_FOUND`` (mutations).
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import Model, QuerySet

from api.permissions import require_membership
from core.error_codes import CoreErrorCode
from core.errors import DomainError


class MerchantNode:
    """Relay node behaviour for rows of a merchant's schema.

    The ID is ``<merchant id>:<pk>`` under the type name, and ``node(id:)`` answers
    only IDs of the merchant the request is for.
    """

    node_related: tuple[str, ...] = ()
    # Declared, not set: the DjangoObjectType this is mixed into has the options (graphene
    # is untyped, hence Any).
    _meta: Any

    @staticmethod
    def resolve_id(obj: Model, info: graphene.ResolveInfo) -> str:
        return f"{require_membership(info).merchant_id}:{obj.pk}"

    @classmethod
    def get_node(cls, info: graphene.ResolveInfo, id: str) -> Model | None:
        merchant_id = require_membership(info).merchant_id
        owner, _sep, pk = str(id).partition(":")
        if owner != str(merchant_id) or not pk.isdigit() or len(pk) > 18:
            return None
        model = cls._meta.model
        queryset = cls.get_queryset(model.objects.select_related(*cls.node_related), info)
        return queryset.filter(pk=int(pk)).first()

    @classmethod
    def get_queryset(cls, queryset: QuerySet, info: graphene.ResolveInfo) -> QuerySet:
        # The schema is the scope: switching to it is the filter. The queryset is
        # returned as it is, so a campaign's prefetched batches stay prefetched.
        require_membership(info)
        return queryset


def node_or_not_found(
    info: graphene.ResolveInfo, global_id: str, node_type: type, field: str, message: str
) -> Any:
    """The current merchant's row of ``node_type`` with this global ID, or ``NOT_FOUND``
    on ``field`` (a malformed ID, or one of another type or merchant, is not found)."""
    try:
        obj = graphene.relay.Node.get_node_from_global_id(info, global_id, only_type=node_type)
    except DomainError:
        raise
    except Exception:
        obj = None  # malformed, or an ID of another type: simply not found
    if obj is None:
        raise DomainError(CoreErrorCode.NOT_FOUND, message, field)
    return obj
