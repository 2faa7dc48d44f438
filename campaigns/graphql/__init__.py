"""The campaigns' GraphQL, for both APIs, as Saleor's ``saleor/graphql/<domain>/``.

``types/`` holds the object types, one module per family; ``queries`` and ``mutations``
hold the root pieces ``api.schema`` stitches into the consumer and merchant schemas
(``ConsumerQueries``, ``MerchantQueries``, ``ConsumerMutations``, ``MerchantMutations``).
Resolvers and mutations only map GraphQL to the domain: the rules live in
``campaigns.services``, ``campaigns.scan``, ``campaigns.questionnaires`` and
``campaigns.exports``.
"""
