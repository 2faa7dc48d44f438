"""The merchant's activity figures (definitions in analytics/queries.py)."""

from __future__ import annotations

from typing import Any

import graphene

from analytics import queries


class AnalyticsDay(graphene.ObjectType):
    day = graphene.Date(required=True)
    dau = graphene.Int(required=True, description="Consumers active that day.")
    wau = graphene.Int(required=True, description="Distinct consumers in the 7 days to it.")
    mau = graphene.Int(required=True, description="Distinct consumers in the 30 days to it.")
    new = graphene.Int(required=True, description="Active for the first time.")
    returning = graphene.Int(required=True, description="Active, and active before.")
    scans = graphene.Int(required=True, description="Claims plus failed scans.")
    claims = graphene.Int(required=True)
    answers = graphene.Int(required=True, description="Rewarded questionnaire responses.")
    redeems = graphene.Int(
        required=True, description="Mall redemptions by consumers the merchant had reached."
    )
    awards = graphene.Int(
        required=True,
        description="Points awarded by the merchant's own systems (earning API: purchases, "
        "awards, welcome and birthday bonuses), counted when they reach a consumer.",
    )


class AnalyticsFunnel(graphene.ObjectType):
    scans = graphene.Int(required=True)
    claims = graphene.Int(required=True)
    redemptions = graphene.Int(required=True)


class AnalyticsCohort(graphene.ObjectType):
    week = graphene.Date(required=True, description="Monday of the week first active.")
    size = graphene.Int(required=True)
    retained = graphene.List(
        graphene.NonNull(graphene.Int),
        required=True,
        description="Consumers of the cohort active again 1, 2, … weeks later.",
    )


class Analytics(graphene.ObjectType):
    """Activity of the merchant's consumers (active = claimed, answered or was awarded points
    by the merchant's own systems), precomputed."""

    days = graphene.List(graphene.NonNull(AnalyticsDay), required=True)
    consumers_reached = graphene.Int(required=True, description="Ever active, up to `to`.")
    repeat_consumers = graphene.Int(required=True, description="Two activity events or more.")
    redeemed_consumers = graphene.Int(required=True, description="Reached, and have redeemed.")
    redeemed_share = graphene.Float(required=True, description="redeemed / reached (0 to 1).")
    new_consumers = graphene.Int(required=True, description="First active in the period.")
    merchant_awards = graphene.Int(
        required=True,
        description="Awards by the merchant's own systems (earning API) in the period.",
    )
    funnel = graphene.Field(AnalyticsFunnel, required=True)
    cohorts = graphene.List(
        graphene.NonNull(AnalyticsCohort),
        required=True,
        description="Weeks starting in the period.",
    )
    rolled_to = graphene.Date(description="The figures are complete up to this day.")
    updated_at = graphene.DateTime(description="When the figures were last rolled up.")

    resolve_consumers_reached = staticmethod(lambda s, info: s.reached)
    resolve_repeat_consumers = staticmethod(lambda s, info: s.repeat)
    resolve_redeemed_consumers = staticmethod(lambda s, info: s.redeemed)
    resolve_redeemed_share = staticmethod(lambda s, info: s.redeemed_share)
    resolve_new_consumers = staticmethod(lambda s, info: s.totals["new"])
    resolve_merchant_awards = staticmethod(lambda s, info: s.totals["awards"])

    @staticmethod
    def resolve_funnel(summary: queries.Summary, info: Any) -> AnalyticsFunnel:
        scans, claims, redemptions = summary.funnel
        return AnalyticsFunnel(scans=scans, claims=claims, redemptions=redemptions)
