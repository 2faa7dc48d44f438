"""A merged consumer's orders and addresses move to the surviving account (accounts.merge).

Registered with ``accounts.merge`` by this app's config; runs inside the merge's
transaction. Orders keep everything but their owner; an order whose idempotency key the
survivor used too (keys are the clients' own) gets the key prefixed, so both stay
unique and a retry of either still finds its order. Addresses join the survivor's book;
it keeps its own default.
"""

from __future__ import annotations

from core.db import connection, rows
from redemption.models import Address, Order

_MOVE_ORDERS = (
    f"UPDATE {rows.table(Order)} o SET consumer_id = %(survivor)s,"
    " idempotency_key = CASE WHEN EXISTS ("
    f"   SELECT 1 FROM {rows.table(Order)} x"
    "   WHERE x.consumer_id = %(survivor)s AND x.idempotency_key = o.idempotency_key)"
    " THEN left('merged:' || o.id || ':' || o.idempotency_key, 200)"
    " ELSE o.idempotency_key END"
    " WHERE o.consumer_id = %(merged)s"
)


def holdings(consumer_id: int) -> dict[str, int]:
    return {"orders": Order.objects.filter(consumer_id=consumer_id).count()}


def move(merged_id: int, survivor_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_ORDERS, {"survivor": survivor_id, "merged": merged_id})
    moved = Address.objects.filter(consumer_id=merged_id)
    if Address.objects.filter(consumer_id=survivor_id, is_default=True).exists():
        moved.filter(is_default=True).update(is_default=False)
    moved.update(consumer_id=survivor_id)
