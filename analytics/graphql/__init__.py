"""GraphQL of analytics (merchant API): the merchant's own activity figures."""
