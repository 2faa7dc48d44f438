"""Follow campaigns in the merchant API (``FollowCampaign``) and the consumer's code."""

from __future__ import annotations

from typing import Any

import graphene
from django.utils.translation import gettext as _
from graphene_django import DjangoObjectType

from api.permissions import require_membership
from api.scalars import BigInt
from campaigns.follow import services as follow
from campaigns.graphql.nodes import MerchantNode, node_or_not_found
from campaigns.graphql.types.campaigns import CampaignNode, CampaignStatusEnum
from campaigns.models import FollowCampaign
from campaigns.questionnaires.links import questionnaire_link


class FollowStats(graphene.ObjectType):
    new_followers = graphene.Int(
        required=True, description="People who followed from one of the campaign's codes."
    )
    credited = graphene.Int(required=True, description="Of those, the ones paid.")
    unfollowed_after = graphene.Int(
        required=True, description="Of those, the ones who unfollowed afterwards."
    )
    points_awarded = BigInt(required=True)


class FollowCampaignNode(MerchantNode, DjangoObjectType):
    """A follow campaign: points for following the merchant's official account. Activate,
    pause and end it with the campaign mutations on `campaign.id`."""

    name = graphene.String(required=True)
    status = graphene.Field(CampaignStatusEnum, required=True)
    campaign = graphene.Field(CampaignNode, required=True)
    points_per_follow = BigInt(required=True)
    max_rewarded_follows = graphene.Int(required=True)
    reserved = graphene.Boolean(required=True, description="Cap x points set aside.")
    released_points = BigInt(required=True, description="Returned to the budget at the end.")
    budget_exhausted = graphene.Boolean(required=True)
    link = graphene.String(required=True, description="Public link id (consumer API).")
    share_url = graphene.String(required=True, description="The phone page to share.")
    poster_image_url = graphene.String(
        description="The print poster's permanent QR code (null until made: `makeFollowPoster`)."
    )
    stats = graphene.Field(FollowStats, required=True)

    node_related = ("campaign",)

    class Meta:
        name = "FollowCampaign"
        model = FollowCampaign
        interfaces = (graphene.relay.Node,)
        fields = ("id", "exhausted_at")
        skip_registry = True

    @staticmethod
    def resolve_name(row: FollowCampaign, info: graphene.ResolveInfo) -> str:
        return row.campaign.name

    @staticmethod
    def resolve_status(row: FollowCampaign, info: graphene.ResolveInfo) -> str:
        return str(row.campaign.status)

    @staticmethod
    def resolve_budget_exhausted(row: FollowCampaign, info: graphene.ResolveInfo) -> bool:
        return row.exhausted_at is not None

    @staticmethod
    def resolve_link(row: FollowCampaign, info: graphene.ResolveInfo) -> str:
        return questionnaire_link(require_membership(info).merchant_id, row.campaign.link_key)

    @staticmethod
    def resolve_share_url(row: FollowCampaign, info: graphene.ResolveInfo) -> str:
        link = questionnaire_link(require_membership(info).merchant_id, row.campaign.link_key)
        return follow.page_url(link)

    @staticmethod
    def resolve_poster_image_url(row: FollowCampaign, info: graphene.ResolveInfo) -> str | None:
        return follow.image_url(row.poster_ticket) if row.poster_ticket else None

    @staticmethod
    def resolve_stats(row: FollowCampaign, info: graphene.ResolveInfo) -> Any:
        return follow.stats(row.campaign)


def follow_campaign_by_id(
    info: graphene.ResolveInfo, global_id: str, field: str = "id"
) -> FollowCampaign:
    return node_or_not_found(
        info, global_id, FollowCampaignNode, field, _("No such follow campaign.")
    )


class FollowCodeType(graphene.ObjectType):
    """A QR code to long-press in WeChat: it opens the merchant's account's follow page."""

    class Meta:
        name = "FollowQrCode"

    image_url = graphene.String(required=True)
    expires_at = graphene.DateTime(required=True)
