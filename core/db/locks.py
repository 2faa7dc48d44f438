"""The one advisory-lock helper (as Sentry's ``sentry.db.postgres.advisory_lock``).

Every caller in Python that must take turns on something that has no row to lock (a
consumer's orders of one product, the template schema, the analytics rollup) names it
with a string and calls ``advisory_xact_lock``. (A consumer's claims on one campaign
take theirs inside the claim's SQL function, campaigns/scan/sql/.)

No session-level lock: behind PgBouncer in transaction pooling (decision 0242) a session
is shared by whichever clients its transactions serve. Work that spans transactions
holds a lease in its own row instead (a code import: ``campaigns.scan.importing.Lease``,
decision 0300).
"""

from __future__ import annotations

import hashlib

from core.db import connection


def lock_key(name: str) -> int:
    """The signed 64-bit key PostgreSQL's advisory locks take, derived from ``name``."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def advisory_xact_lock(name: str) -> None:
    """Wait for, then hold until the current transaction ends, the lock called ``name``.

    A transaction-level lock, so there is nothing to release and no context manager:
    it cannot outlive the transaction, whatever happens to the request. Outside an
    atomic block it would be released at once, so callers hold one.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(name)])
