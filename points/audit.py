"""Invariants of the ledger, checked in SQL over the whole ledger.

Used by ``manage.py ledger_check`` and by every test that moves points.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.db import connection


@dataclass(frozen=True)
class Problem:
    check: str
    detail: str


CHECKS: list[tuple[str, str]] = [
    (
        "transaction sums to zero",
        """SELECT t.id, COALESCE(SUM(e.amount), 0) FROM points_transaction t
           LEFT JOIN points_entry e ON e.transaction_id = t.id
           GROUP BY t.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2""",
    ),
    (
        "materialised balance equals its entries",
        """SELECT a.id, a.balance, COALESCE(s.total, 0) FROM points_account a
           LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM points_entry
                      GROUP BY account_id) s ON s.account_id = a.id
           WHERE a.materialized AND a.balance <> COALESCE(s.total, 0)""",
    ),
    (
        "materialised balance is not negative",
        "SELECT id, balance FROM points_account WHERE materialized AND balance < 0",
    ),
    (
        "platform account keeps no balance row",
        "SELECT id, balance FROM points_account WHERE NOT materialized AND balance <> 0",
    ),
    (
        "wallet balance equals its open lots",
        """SELECT a.id, a.balance, COALESCE(l.total, 0) FROM points_account a
           LEFT JOIN (SELECT account_id, SUM(remaining) AS total FROM points_lot
                      GROUP BY account_id) l ON l.account_id = a.id
           WHERE a.kind = 'consumer_wallet' AND a.balance <> COALESCE(l.total, 0)""",
    ),
    (
        # The database does not check these references row by row (decision 0342):
        # the ledger's one writer, points_post, takes them from rows it has just read
        # or written, and none of those rows is ever deleted.
        "ledger rows name a transaction, merchant and consumer that exist",
        """SELECT 'transaction', t.id FROM points_transaction t
            WHERE (t.merchant_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM tenants_merchant m WHERE m.id = t.merchant_id))
               OR (t.consumer_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM accounts_user u WHERE u.id = t.consumer_id))
           UNION ALL
           SELECT 'entry', e.id FROM points_entry e
            WHERE NOT EXISTS (SELECT 1 FROM points_transaction t WHERE t.id = e.transaction_id)
               OR (e.consumer_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM accounts_user u WHERE u.id = e.consumer_id))
           UNION ALL
           SELECT 'lot', l.id FROM points_lot l
            WHERE NOT EXISTS (SELECT 1 FROM points_transaction t WHERE t.id = l.source_id)
               OR NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = l.consumer_id)
               OR (l.merchant_id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM tenants_merchant m WHERE m.id = l.merchant_id))""",
    ),
    (
        "lot remaining equals points less what was taken",
        """SELECT l.id, l.remaining, l.points - COALESCE(d.taken, 0) FROM points_lot l
           LEFT JOIN (SELECT lot_id, SUM(points) AS taken FROM points_lotdebit
                      GROUP BY lot_id) d ON d.lot_id = l.id
           WHERE l.remaining <> l.points - COALESCE(d.taken, 0)""",
    ),
]


def audit(limit: int = 20) -> list[Problem]:
    problems: list[Problem] = []
    with connection.cursor() as cursor:
        for name, sql in CHECKS:
            cursor.execute(f"{sql} LIMIT {int(limit)}")
            problems.extend(Problem(name, repr(row)) for row in cursor.fetchall())
    return problems
