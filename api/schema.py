"""The two root schemas, stitched from each app's GraphQL (``<app>/graphql/``).

Consumer API (``/graphql/``) and merchant API (``/merchant/graphql/``) are separate
schemas, as Shopify splits Storefront and Admin: a consumer schema simply has no
merchant fields.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.relay.node import NodeField
from graphql_relay import from_global_id

from accounts.graphql import mutations as accounts_mutations
from accounts.graphql import queries as accounts_queries
from analytics.graphql import mutations as analytics_mutations
from analytics.graphql import queries as analytics_queries
from campaigns.graphql import mutations as campaigns_mutations
from campaigns.graphql import queries as campaigns_queries
from dealers.graphql import mutations as dealers_mutations
from dealers.graphql import queries as dealers_queries
from earning.graphql import mutations as earning_mutations
from earning.graphql import queries as earning_queries
from notifications.graphql import mutations as notifications_mutations
from notifications.graphql import queries as notifications_queries
from points.graphql import mutations as points_mutations
from points.graphql import queries as points_queries
from privacy.graphql import mutations as privacy_mutations
from privacy.graphql import queries as privacy_queries
from redemption.graphql import mutations as redemption_mutations
from redemption.graphql import queries as redemption_queries
from tenants.graphql import mutations as tenants_mutations
from tenants.graphql import queries as tenants_queries
from webhooks.graphql import mutations as webhooks_mutations
from webhooks.graphql import queries as webhooks_queries


class SafeNodeField(NodeField):
    """``node(id:)`` that answers null for an ID that names nothing, as the Relay spec says.

    graphene raises bare exceptions (no code) for malformed base64, an unknown type
    name or a type that is not a Node (found by the fuzzer). Such IDs are checked
    here first; a well-formed ID then goes to the type's own ``get_node``, which
    checks its key and applies visibility.
    """

    def wrap_resolve(self, parent_resolver: Any) -> Any:
        resolve = super().wrap_resolve(parent_resolver)

        def resolver(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
            try:
                kind, _key = from_global_id(args.get("id") or "")
            except Exception:  # not base64 or no "Type:key" inside: names nothing
                return None
            graphene_type = getattr(info.schema.get_type(kind), "graphene_type", None)
            interfaces = getattr(getattr(graphene_type, "_meta", None), "interfaces", ())
            if graphene.relay.Node not in interfaces:
                return None
            # The key (numeric, or "<merchant>:<pk>" for tenant rows) is each type's
            # own get_node's to check.
            return resolve(root, info, **args)

        return resolver


def node_field() -> SafeNodeField:
    return SafeNodeField(graphene.relay.Node)


class ConsumerQuery(
    # Listed first so that its fields come last in the SDL (graphene reverses the bases).
    privacy_queries.ConsumerQueries,
    earning_queries.ConsumerQueries,
    accounts_queries.ConsumerQueries,
    points_queries.ConsumerQueries,
    campaigns_queries.ConsumerQueries,
    redemption_queries.ConsumerQueries,
    notifications_queries.ConsumerQueries,
    graphene.ObjectType,
):
    node = node_field()


class ConsumerMutation(
    privacy_mutations.ConsumerMutations,
    earning_mutations.ConsumerMutations,
    tenants_mutations.ConsumerMutations,
    accounts_mutations.ConsumerAuthMutations,
    campaigns_mutations.ConsumerMutations,
    redemption_mutations.ConsumerMutations,
    notifications_mutations.ConsumerMutations,
    graphene.ObjectType,
):
    pass


class MerchantQuery(
    # First: fields of earlier bases come later in the SDL, so new fields go at its end.
    dealers_queries.MerchantQueries,
    earning_queries.MerchantQueries,
    tenants_queries.OfficialAccountQueries,
    analytics_queries.MerchantQueries,
    points_queries.LiabilityQueries,
    tenants_queries.MerchantQueries,
    points_queries.MerchantQueries,
    campaigns_queries.MerchantQueries,
    redemption_queries.MerchantQueries,
    tenants_queries.SecurityQueries,
    webhooks_queries.MerchantQueries,
    graphene.ObjectType,
):
    node = node_field()


class MerchantMutation(
    dealers_mutations.MerchantMutations,
    analytics_mutations.MerchantMutations,
    points_mutations.MerchantMutations,
    earning_mutations.MerchantMutations,
    tenants_mutations.OfficialAccountMutations,
    accounts_mutations.StaffAuthMutations,
    tenants_mutations.MerchantMutations,
    campaigns_mutations.MerchantMutations,
    redemption_mutations.MerchantMutations,
    tenants_mutations.SecurityMutations,
    webhooks_mutations.MerchantMutations,
    graphene.ObjectType,
):
    pass


consumer_schema = graphene.Schema(query=ConsumerQuery, mutation=ConsumerMutation)
merchant_schema = graphene.Schema(query=MerchantQuery, mutation=MerchantMutation)
