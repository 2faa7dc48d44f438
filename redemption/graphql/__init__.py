"""GraphQL of the shared mall.

Consumer API: browse the catalog (no sign-in), redeem, the address book, the order
history and cancelling. Merchant API: the goods a merchant supplies, consigning new
goods, the orders for its goods (ship, refund) and the monthly settlement.

The mall lives in the public schema, so its global IDs are plain primary keys
(``Product:<pk>``). ``require_membership`` switches the connection to the merchant's
schema; ``public`` stays on the search path, so the mall's tables are still found.
Every list is loaded with its related rows (``select_related`` / ``prefetch_related``
in the list's queryset), so a page costs the same few queries whatever its size.
"""
