"""Follow campaign mutations: a code to long-press, the passive reply's link (consumer
API); create one and make its poster (merchant API, operator).

Activation, pause and end are the campaign mutations (``mutations.campaigns``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from api.mutations import DomainMutation
from api.permissions import require_consumer, require_membership
from api.scalars import BigInt
from campaigns.error_codes import CampaignErrorCode
from campaigns.follow import services as follow
from campaigns.graphql.inputs import aware
from campaigns.graphql.types.follow import (
    FollowCampaignNode,
    FollowCodeType,
    follow_campaign_by_id,
)
from campaigns.models import CampaignKind, FollowCampaign
from campaigns.questionnaires.links import in_merchant_schema
from core.error_codes import CoreErrorCode
from core.errors import DomainError, ErrorCodeEnum
from points import ledger
from tenants.error_codes import MerchantErrorCode
from tenants.models import Role

# --- Consumer API -----------------------------------------------------------------


def _not_found() -> DomainError:
    return DomainError(CoreErrorCode.NOT_FOUND, _("No such follow campaign."), "link")


class FollowCode(DomainMutation):
    """A QR code for the signed-in consumer to long-press and follow the merchant's
    official account; the points come when WeChat tells us of the follow.

    MERCHANT_OPENID_REQUIRED: run `merchantOpenidLinkStart` (silent, inside WeChat) and
    ask again. Also ALREADY_FOLLOWED, FOLLOW_BUDGET_EXHAUSTED, CAMPAIGN_NOT_ACTIVE,
    CAMPAIGN_ENDED.
    """

    class Arguments:
        link = graphene.String(required=True, description="At most 40 characters.")

    code = graphene.Field(FollowCodeType)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, link: str) -> FollowCode:
        consumer = require_consumer(info)
        try:
            with in_merchant_schema(link, CampaignKind.FOLLOW) as (merchant, campaign_id):
                made = follow.follow_code(merchant, consumer, campaign_id)
        except DomainError as exc:
            if exc.code == CoreErrorCode.NOT_FOUND:
                raise _not_found() from exc
            raise
        return cls(
            code=FollowCodeType(image_url=follow.image_url(made.ticket), expires_at=made.expires_at)
        )


class ClaimFollowReward(DomainMutation):
    """Collect the points of a follow from the official account's reply link.

    MERCHANT_OPENID_REQUIRED: run `merchantOpenidLinkStart` with `merchant` and ask
    again; FOLLOW_LINK_INVALID: forged, expired (a day) or another person's follow.
    """

    class Arguments:
        token = graphene.String(required=True, description="At most 1000 characters.")

    points = BigInt()
    balance = BigInt(description="The wallet balance after the reward.")

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, token: str) -> ClaimFollowReward:
        consumer = require_consumer(info)
        merchant, _app_id = follow.link_merchant(token)
        with tenant_context(merchant):
            credit = follow.claim_from_link(consumer, token)
        assert credit.follow is not None
        return cls(
            points=credit.follow.points, balance=ledger.balance_of(ledger.wallet(consumer.pk))
        )


# --- Merchant API -----------------------------------------------------------------


def _reload(campaign_id: int) -> FollowCampaign:
    return FollowCampaign.objects.select_related("campaign").get(campaign_id=campaign_id)


class CreateFollowCampaign(DomainMutation):
    """Create a follow campaign in draft (operator); the merchant's authorised account
    must be a verified service account. Activating it reserves
    `maxRewardedFollows x pointsPerFollow`. Rewarding follows is restricted by WeChat's
    platform rules: the terms are the merchant's responsibility."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": MerchantErrorCode.INVALID_NAME,
        "endsAt": CampaignErrorCode.INVALID_DATES,
    }

    class Arguments:
        name = graphene.String(required=True)
        description = graphene.String(
            default_value="", description="Several lines, at most 5,000 characters."
        )
        points_per_follow = graphene.Int(required=True, description="1 to 1,000,000.")
        max_rewarded_follows = graphene.Int(required=True, description="1 to 10,000,000.")
        starts_at = graphene.DateTime()
        ends_at = graphene.DateTime()

    follow_campaign = graphene.Field(FollowCampaignNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, **kwargs: Any) -> CreateFollowCampaign:
        membership = require_membership(info, Role.OPERATOR)
        campaign = follow.create_follow_campaign(
            membership.merchant,
            name=kwargs["name"],
            description=kwargs.get("description") or "",
            points_per_follow=kwargs["points_per_follow"],
            max_rewarded_follows=kwargs["max_rewarded_follows"],
            starts_at=aware(kwargs.get("starts_at")),
            ends_at=aware(kwargs.get("ends_at")),
            created_by=membership.acting_user,
        )
        return cls(follow_campaign=_reload(campaign.pk))


class MakeFollowPoster(DomainMutation):
    """Make the campaign's print poster code (a permanent QR code of the account, made
    once: WeChat limits their number); answers the same code when asked again."""

    class Arguments:
        id = graphene.ID(required=True)

    follow_campaign = graphene.Field(FollowCampaignNode)

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> MakeFollowPoster:
        membership = require_membership(info, Role.OPERATOR)
        row = follow_campaign_by_id(info, id)
        follow.poster_code(membership.merchant, row.campaign)
        return cls(follow_campaign=_reload(row.campaign_id))
