"""The campaigns' GraphQL object types, one module per family (as ``mutations``)."""
