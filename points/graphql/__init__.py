"""GraphQL of the ledger: the consumer's wallet; the merchant's budget, statement, liability."""
