"""GraphQL of tenants (merchant API): the merchant, its staff, sign-up, API keys, audit log."""
