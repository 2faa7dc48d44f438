"""GraphQL of webhooks (merchant API): endpoints, their deliveries, redelivery.

Endpoints and deliveries are public-schema rows scoped by merchant; their IDs are
plain keys under their type name, and every lookup filters by the merchant the
request is for, so another merchant's ID is null (``node``) or ``NOT_FOUND``.

Roles: viewers read endpoints and deliveries (a delivery's ``payload`` needs the
operator role: order events carry the shipping address in full, as orders show it
to operators); admins create, change, delete and redeliver. An endpoint's secret is
returned only by the mutation that creates or rotates it.
"""
