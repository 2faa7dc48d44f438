"""Merchant API: ``refreshAnalytics`` (analytics/refresh.py)."""

from __future__ import annotations

from typing import Any

import graphene

from analytics import refresh
from api.mutations import DomainMutation
from api.permissions import require_membership
from tenants.models import Role


class RefreshAnalytics(DomainMutation):
    """Queue a rollup of this merchant's own figures, from the last completed day to
    today; `analytics.updatedAt` moves when it is done. At most once every 5 minutes
    per merchant (`RATE_LIMITED`). Operators and up (a viewer reads the figures as they are)."""

    queued = graphene.Boolean(description="True once queued; null with errors.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo) -> RefreshAnalytics:
        refresh.request_refresh(require_membership(info, Role.OPERATOR).merchant.pk)
        return cls(queued=True)


class MerchantMutations(graphene.ObjectType):
    refresh_analytics = RefreshAnalytics.Field()
