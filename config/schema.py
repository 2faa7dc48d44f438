"""The two root schemas, stitched from each app's ``schema.py``.

Consumer API (``/graphql/``) and merchant API (``/merchant/graphql/``) are separate
schemas, as Shopify splits Storefront and Admin: a consumer schema simply has no
merchant fields.
"""

from __future__ import annotations

import graphene

from accounts import schema as accounts_schema
from points import schema as points_schema
from tenants import schema as tenants_schema


class ConsumerQuery(
    accounts_schema.ConsumerQueries,
    points_schema.ConsumerQueries,
    graphene.ObjectType,
):
    node = graphene.relay.Node.Field()


class ConsumerMutation(accounts_schema.ConsumerAuthMutations, graphene.ObjectType):
    pass


class MerchantQuery(
    tenants_schema.MerchantQueries,
    points_schema.MerchantQueries,
    graphene.ObjectType,
):
    node = graphene.relay.Node.Field()


class MerchantMutation(
    accounts_schema.StaffAuthMutations,
    tenants_schema.MerchantMutations,
    graphene.ObjectType,
):
    pass


consumer_schema = graphene.Schema(query=ConsumerQuery, mutation=ConsumerMutation)
merchant_schema = graphene.Schema(query=MerchantQuery, mutation=MerchantMutation)
