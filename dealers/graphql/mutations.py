"""The merchant API's dealer mutations: thin, over ``dealers.services``."""

from __future__ import annotations

from typing import Any, ClassVar

import graphene

from api.mutations import DomainMutation
from api.permissions import require_membership
from api.types import choice_value
from campaigns.graphql.types.campaigns import batch_by_id, campaign_by_id
from core.errors import ErrorCodeEnum
from dealers import services
from dealers.error_codes import DealerErrorCode
from dealers.graphql.types import (
    DealerAssignmentNode,
    DealerNode,
    DiversionActionEnum,
    assignment_by_id,
    dealer_by_id,
)
from dealers.models import DiversionAction
from tenants.models import Role

NAME = "1 to 100 characters."
REGIONS = (
    "GB/T 2260 codes of provinces, cities or districts (six digits each, e.g. 440000, "
    "440300, 440305), 1 to 200, none inside another; at most 6 characters each."
)


class CreateDealer(DomainMutation):
    """Add a dealer and the regions it sells in (operator)."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": DealerErrorCode.INVALID_DEALER_NAME,
        "regions": DealerErrorCode.INVALID_SALES_REGION,
    }

    class Arguments:
        name = graphene.String(required=True, description=NAME)
        regions = graphene.List(
            graphene.NonNull(graphene.String), required=True, description=REGIONS
        )

    dealer = graphene.Field(DealerNode)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, name: str, regions: list[str]
    ) -> CreateDealer:
        require_membership(info, Role.OPERATOR)
        return cls(dealer=services.create_dealer(name, regions))


class UpdateDealer(DomainMutation):
    """Rename a dealer or replace its regions (operator). Later scans are judged by the new
    regions; diversions already recorded stay."""

    refusal_codes: ClassVar[dict[str, ErrorCodeEnum]] = {
        "name": DealerErrorCode.INVALID_DEALER_NAME,
        "regions": DealerErrorCode.INVALID_SALES_REGION,
    }

    class Arguments:
        id = graphene.ID(required=True)
        name = graphene.String(description=NAME)
        regions = graphene.List(graphene.NonNull(graphene.String), description=REGIONS)

    dealer = graphene.Field(DealerNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        id: str,
        name: str | None = None,
        regions: list[str] | None = None,
    ) -> UpdateDealer:
        require_membership(info, Role.OPERATOR)
        dealer = dealer_by_id(info, id)
        return cls(dealer=services.update_dealer(dealer, name, regions))


class DeleteDealer(DomainMutation):
    """Delete a dealer with no assignments and no diversions (admin); else DEALER_IN_USE."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> DeleteDealer:
        require_membership(info, Role.ADMIN)
        services.delete_dealer(dealer_by_id(info, id))
        return cls(deleted_id=id)


class AssignToDealer(DomainMutation):
    """Assign a batch, or its serials `firstSerial` to `lastSerial`, to a dealer (operator).

    Serials are the codes' positions in the batch, 0 to size - 1 (the exports' `serial`).
    Refusals: `INVALID_SERIAL_RANGE`, `ASSIGNMENT_OVERLAPS` (some serials already have a
    dealer: unassign them first).
    """

    class Arguments:
        dealer_id = graphene.ID(required=True)
        batch_id = graphene.ID(required=True)
        first_serial = graphene.Int(
            description="0 to 9,999,999; leave both serials out for the whole batch."
        )
        last_serial = graphene.Int(description="0 to 9,999,999, inclusive.")

    assignment = graphene.Field(DealerAssignmentNode)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        dealer_id: str,
        batch_id: str,
        first_serial: int | None = None,
        last_serial: int | None = None,
    ) -> AssignToDealer:
        require_membership(info, Role.OPERATOR)
        dealer = dealer_by_id(info, dealer_id, "dealerId")
        batch = batch_by_id(info, batch_id, "batchId")
        return cls(assignment=services.assign(dealer, batch, first_serial, last_serial))


class UnassignFromDealer(DomainMutation):
    """Remove an assignment (operator): its goods have no dealer any more."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID()

    @classmethod
    def perform(cls, root: Any, info: graphene.ResolveInfo, id: str) -> UnassignFromDealer:
        require_membership(info, Role.OPERATOR)
        services.unassign(assignment_by_id(info, id))
        return cls(deleted_id=id)


class SetCampaignDiversionAction(DomainMutation):
    """Flag only (the default) or refuse claims outside the goods' sales regions (admin).

    A refusal needs the consumer's consented precise location; a region from the network
    address only ever flags.
    """

    class Arguments:
        campaign_id = graphene.ID(required=True)
        action = DiversionActionEnum(required=True)

    action = graphene.Field(DiversionActionEnum)

    @classmethod
    def perform(
        cls, root: Any, info: graphene.ResolveInfo, campaign_id: str, action: Any
    ) -> SetCampaignDiversionAction:
        require_membership(info, Role.ADMIN)
        campaign = campaign_by_id(info, campaign_id, "campaignId")
        policy = services.set_diversion_action(campaign, DiversionAction(choice_value(action)))
        return cls(action=choice_value(policy.action))


class MerchantMutations(graphene.ObjectType):
    create_dealer = CreateDealer.Field()
    update_dealer = UpdateDealer.Field()
    delete_dealer = DeleteDealer.Field()
    assign_to_dealer = AssignToDealer.Field()
    unassign_from_dealer = UnassignFromDealer.Field()
    set_campaign_diversion_action = SetCampaignDiversionAction.Field()
