"""The earning API's queries (merchant API)."""

from __future__ import annotations

from typing import Any

import graphene

from api.permissions import require_membership
from earning import services
from earning.graphql.types import EarningRuleType
from earning.models import EarningRule


class MerchantQueries(graphene.ObjectType):
    earning_rule = graphene.Field(
        EarningRuleType, description="How purchases earn (null until set)."
    )

    @staticmethod
    def resolve_earning_rule(root: Any, info: graphene.ResolveInfo) -> EarningRule | None:
        return services.rule_of(require_membership(info).merchant)
