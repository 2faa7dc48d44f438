"""The ledger's part of a consumer's data copy and erasure (``privacy.parts``).

The copy is the wallet's history. The erasure forfeits what is left in the wallet with
one ledger transaction (``FORFEIT``: wallet → the platform's expired-points account, the
lots emptied oldest first, as a spend takes them); no entry is ever deleted, so the
ledger stays balanced and every merchant's issued points stay as they were.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from points import ledger
from points.ledger import Posting
from points.models import Account, AccountKind, Entry, TransactionKind


def _wallet(consumer_id: int) -> Account | None:
    return Account.objects.filter(
        kind=AccountKind.CONSUMER_WALLET, consumer_id=consumer_id, ref=""
    ).first()


def copy(consumer_id: int) -> dict[str, list[dict[str, Any]]]:
    wallet = _wallet(consumer_id)
    if wallet is None:
        return {"wallet_history": []}
    entries = (
        Entry.objects.filter(account=wallet)
        .select_related("transaction__merchant")
        .order_by("created_at", "id")
    )
    return {
        "wallet_history": [
            {
                "at": entry.created_at.isoformat(),
                "kind": entry.transaction.kind,
                "points": entry.amount,
                "merchant": entry.transaction.merchant.name if entry.transaction.merchant else "",
                "memo": entry.transaction.memo,
            }
            for entry in entries.iterator()
        ]
    }


def forfeit(consumer_id: int) -> int:
    """Take what is left in the consumer's wallet out, as one transaction; the points."""
    wallet = _wallet(consumer_id)
    if wallet is None:
        return 0
    balance = ledger.balance_of(wallet)
    if balance <= 0:
        return 0
    ledger.post(
        TransactionKind.FORFEIT,
        f"forfeit:consumer:{consumer_id}",
        [
            Posting(wallet, -balance),
            Posting(ledger.platform_account(AccountKind.EXPIRED), balance),
        ],
        consumer_id=consumer_id,
        memo=_("Forfeited with a deleted account"),
    )
    return balance
