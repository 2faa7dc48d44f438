"""The mall's mutations, one module per family, and the two APIs' root pieces."""

from __future__ import annotations

import graphene

from redemption.graphql.mutations.addresses import DeleteAddress, SaveAddress
from redemption.graphql.mutations.orders import CancelOrder, Redeem, RefundOrder, ShipOrder
from redemption.graphql.mutations.products import ConsignProduct


class ConsumerMutations(graphene.ObjectType):
    redeem = Redeem.Field()
    save_address = SaveAddress.Field()
    delete_address = DeleteAddress.Field()
    cancel_order = CancelOrder.Field()


class MerchantMutations(graphene.ObjectType):
    consign_product = ConsignProduct.Field()
    ship_order = ShipOrder.Field()
    refund_order = RefundOrder.Field()
