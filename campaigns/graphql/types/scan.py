"""What a scanned code offers and what a claim earned, in the consumer API.

The claim lives in the merchant's schema and is not a node: the consumer sees it in
the mutation's answer and in the wallet history.
"""

from __future__ import annotations

import graphene

from api.scalars import BigInt
from campaigns.prizes.services import PublishedTier, chances
from campaigns.scan.preview import Preview, ScanStatus

ScanStatusEnum = graphene.Enum.from_enum(
    ScanStatus,
    name="ScanStatus",
    description=(
        "What claiming the code would do now. ALREADY_CLAIMED never says by whom; "
        "NOT_ACTIVE covers a paused or not yet started campaign and a merchant that "
        "cannot award points."
    ),
)


class ScanPreview(graphene.ObjectType):
    """A scanned code, before claiming: who offers how many points. Unknown codes show
    only their status."""

    code = graphene.String(description="The code, normalised; null when unknown.")
    status = graphene.Field(ScanStatusEnum, required=True)
    merchant_name = graphene.String()
    campaign_name = graphene.String()
    campaign_description = graphene.String()
    points = BigInt(description="Points the code is worth (a prize code: its top prize).")
    prize_tiers = graphene.List(
        graphene.NonNull(lambda: PreviewPrizeTier),
        description="A prize code: the published tiers, top prize first; null for fixed points.",
    )
    prize_guarantee = graphene.String(
        description="A prize code whose campaign guarantees the first scan: the tier a "
        "consumer's first scan wins at least; null otherwise."
    )

    @staticmethod
    def resolve_status(preview: Preview, info: graphene.ResolveInfo) -> str:
        return preview.status.value

    @staticmethod
    def resolve_prize_tiers(
        preview: Preview, info: graphene.ResolveInfo
    ) -> list[PreviewPrizeTier] | None:
        return PreviewPrizeTier.list_of(preview.prize_tiers)


class PreviewPrizeTier(graphene.ObjectType):
    """One published tier of a prize code's table."""

    name = graphene.String(required=True)
    points = BigInt(required=True)
    chance = graphene.Float(required=True, description="Its weight over the total, 0 to 1.")
    cap = graphene.Int(description="Units in all; null: no cap.")

    @staticmethod
    def list_of(tiers: tuple[PublishedTier, ...] | None) -> list[PreviewPrizeTier] | None:
        """The published tiers with their chance (a scan preview's, a questionnaire's)."""
        if tiers is None:
            return None
        return [
            PreviewPrizeTier(name=name, points=points, chance=chance, cap=cap)
            for name, points, chance, cap in chances(tiers)
        ]


class ClaimedCode(graphene.ObjectType):
    """Points earned from one scanned code."""

    points = BigInt(required=True)
    merchant_name = graphene.String(required=True)
    campaign_name = graphene.String(required=True)
    claimed_at = graphene.DateTime(required=True)
