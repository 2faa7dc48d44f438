"""Merchant API: ``analytics`` and ``analyticsCsv`` (definitions in analytics/queries.py)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import graphene

from analytics import queries
from analytics.downloads import MERCHANT_CSV
from analytics.graphql.types import Analytics
from api.permissions import require_membership
from api.types import DownloadLink
from campaigns.error_codes import CampaignErrorCode
from core.errors import ErrorCodeEnum


class MerchantQueries(graphene.ObjectType):
    refusal_codes: ClassVar[dict[str, dict[str, ErrorCodeEnum]]] = {
        "analytics": {"to": CampaignErrorCode.INVALID_PERIOD},
        "analyticsCsv": {"to": CampaignErrorCode.INVALID_PERIOD},
    }

    analytics = graphene.Field(
        Analytics,
        required=True,
        from_=graphene.Date(required=True, name="from"),
        to=graphene.Date(required=True),
        description=f"Days `from`..`to` inclusive (at most {queries.MAX_DAYS}).",
    )

    analytics_csv = graphene.Field(
        DownloadLink,
        required=True,
        from_=graphene.Date(required=True, name="from"),
        to=graphene.Date(required=True),
        description=(
            "The figures of `analytics` for the same days as a CSV file: a signed link "
            "that works without sign-in for 15 minutes (ask again for a fresh one)."
        ),
    )

    @staticmethod
    def resolve_analytics(
        root: Any, info: graphene.ResolveInfo, from_: date, to: date
    ) -> queries.Summary:
        merchant = require_membership(info).merchant
        return queries.summary(merchant.pk, from_, to)

    @staticmethod
    def resolve_analytics_csv(
        root: Any, info: graphene.ResolveInfo, from_: date, to: date
    ) -> DownloadLink:
        # Whoever may read the figures may take them away as a file: the same check.
        merchant = require_membership(info).merchant
        queries.check_period(from_, to)
        return DownloadLink(
            url=MERCHANT_CSV.url(info.context, merchant.pk, from_.isoformat(), to.isoformat()),
            expires_at=MERCHANT_CSV.expires_at(),
        )
