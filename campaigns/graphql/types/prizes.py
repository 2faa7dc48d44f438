"""A campaign's prize table in the merchant API, and a draw's result in the consumer API.

The table is asked for one campaign at a time (``prizeTable(campaignId:)``), never on a
list of campaigns: its stats count the draw log, per tier, in one query.
"""

from __future__ import annotations

import graphene
from django.urls import reverse
from graphql_relay import to_global_id

from api.scalars import BigInt
from campaigns.models import PrizeSeed, PrizeTable
from campaigns.prizes import services
from campaigns.prizes.claims import Prize
from core.db import connection


class PrizeTierStats(graphene.ObjectType):
    """One tier of the table, with its odds and what it has given so far."""

    position = graphene.Int(required=True, description="1 for the top prize.")
    name = graphene.String(required=True)
    points = BigInt(required=True)
    weight = graphene.Int(required=True)
    cap = graphene.Int(description="Null: no cap.")
    drawn = graphene.Int(required=True, description="Draws that landed on this tier.")
    won = graphene.Int(required=True, description="Units awarded (drawn here or fallen to it).")
    remaining = graphene.Int(description="Units left under the cap; null with no cap.")
    coupon_id = graphene.ID(
        description="A tier that pays a mall coupon: its SuppliedProduct (points: its price)."
    )
    coupons_set_aside = graphene.Int(
        required=True, description="Coupons the batches took out of the pool's stock."
    )
    coupons_returned = graphene.Int(
        required=True, description="Coupons given back to the pool when the campaign ended."
    )

    @staticmethod
    def from_stats(stats: services.TierStats) -> PrizeTierStats:
        tier = stats.tier
        return PrizeTierStats(
            position=tier.position,
            name=tier.name,
            points=tier.points,
            weight=tier.weight,
            cap=tier.cap,
            drawn=stats.drawn,
            won=stats.won,
            remaining=stats.remaining,
            coupon_id=(
                to_global_id("SuppliedProduct", tier.coupon_product_id)
                if tier.coupon_product_id is not None
                else None
            ),
            coupons_set_aside=tier.coupons_set_aside,
            coupons_returned=tier.coupons_returned,
        )


class PrizeSeedCommitment(graphene.ObjectType):
    """A seed period: its commitment is public from the start, the seed once revealed."""

    period = graphene.Int(required=True)
    commitment = graphene.String(required=True, description="SHA-256 of the seed, hex.")
    committed_at = graphene.DateTime(required=True)
    ends_at = graphene.DateTime(description="When a fresh seed takes over; null: at the end.")
    revealed_at = graphene.DateTime()
    seed = graphene.String(description="The seed (hex), once revealed.")

    @staticmethod
    def resolve_seed(seed: PrizeSeed, info: graphene.ResolveInfo) -> str | None:
        return bytes(seed.seed).hex() if seed.revealed_at else None


class PrizeTableType(graphene.ObjectType):
    """A campaign's prize table: its terms, its draw log's head and its stats."""

    class Meta:
        name = "PrizeTable"

    locked_at = graphene.DateTime(description="When the terms were locked (first activation).")
    period_days = graphene.Int(description="Days per seed period; null: one seed.")
    first_scan_guarantee = graphene.Boolean(
        required=True,
        description="A consumer's first scan wins at least the lowest prize (the one above "
        '"thank you").',
    )
    draws = BigInt(required=True, description="Entries in the draw log.")
    head = graphene.String(required=True, description="The last entry's hash (the head).")
    tiers = graphene.List(graphene.NonNull(PrizeTierStats), required=True)
    seeds = graphene.List(graphene.NonNull(PrizeSeedCommitment), required=True)
    verify_url = graphene.String(required=True, description="The public verifier page.")

    @staticmethod
    def resolve_tiers(table: PrizeTable, info: graphene.ResolveInfo) -> list[PrizeTierStats]:
        return [PrizeTierStats.from_stats(s) for s in services.stats(table)]

    @staticmethod
    def resolve_seeds(table: PrizeTable, info: graphene.ResolveInfo) -> list[PrizeSeed]:
        return list(table.seeds.order_by("period"))

    @staticmethod
    def resolve_verify_url(table: PrizeTable, info: graphene.ResolveInfo) -> str:
        return verify_url(info, connection.tenant.pk, table.campaign_id)


def verify_url(info: graphene.ResolveInfo, merchant_id: int, campaign_id: int) -> str:
    """The campaign's public verifier page (frontend/consumer/prizes.py)."""
    return info.context.build_absolute_uri(reverse("prize-verify", args=[merchant_id, campaign_id]))


class DrawnPrize(graphene.ObjectType):
    """What a prize code's draw gave, and where it sits in the public draw log."""

    tier = graphene.Int(required=True, description="The awarded tier's position (1: top).")
    tier_name = graphene.String(required=True)
    drawn = graphene.Int(
        required=True, description="The tier the draw landed on; differs when that one ran out."
    )
    points = BigInt(required=True)
    guaranteed = graphene.Boolean(
        required=True,
        description="Won by the first-scan guarantee (the draw itself won nothing).",
    )
    seq = BigInt(required=True, description="The draw's number in the campaign's log.")
    entry_hash = graphene.String(required=True, description="The log entry's hash.")
    verify_url = graphene.String(required=True, description="The campaign's public verifier.")

    @staticmethod
    def from_prize(prize: Prize, verify_url: str) -> DrawnPrize:
        return DrawnPrize(
            verify_url=verify_url,
            tier=prize.tier,
            tier_name=prize.tier_name,
            drawn=prize.drawn,
            points=prize.points,
            guaranteed=prize.guaranteed,
            seq=prize.seq,
            entry_hash=prize.entry_hash,
        )
