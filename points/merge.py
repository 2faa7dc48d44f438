"""A merged consumer's wallet joins the survivor's: one ledger transaction (accounts.merge).

The merge's step of the ledger, registered with ``accounts.merge`` by this app's config:

- what the account holds: its wallet's balance;
- the move, inside the merge's transaction: both wallets locked in id order (the order
  every posting locks balances in, so a claim or a redeem racing the merge waits for it
  or is waited for, and never deadlocks with it); the whole balance posted from the
  merged wallet to the survivor's as one ``merge`` transaction; then the merged wallet's
  lots, open and spent, re-assigned to the survivor's wallet as they are: each keeps its
  merchant, its source transaction, when it was earned and when it expires, so no point
  is created or destroyed, the merchants' liability does not move, and a later reversal
  (an order cancelled, an award taken back) finds its lots where they now are
  (``points.services.reverse`` follows ``Account.merged_into``). The merged wallet is
  marked merged into the survivor's and stays empty (``account_merged_is_empty``): a
  claim that reaches it after the merge is refused instead of stranding points there.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from points import ledger
from points.ledger import Posting
from points.models import Account, AccountKind, Lot, Transaction, TransactionKind


def _existing_wallet(consumer_id: int) -> Account | None:
    return Account.objects.filter(
        kind=AccountKind.CONSUMER_WALLET, merchant=None, consumer_id=consumer_id, ref=""
    ).first()


def holdings(consumer_id: int) -> dict[str, int]:
    wallet = _existing_wallet(consumer_id)
    return {"points": wallet.balance if wallet is not None else 0}


def _lots_move_apart(txn: Transaction, account: Account, amount: int) -> None:
    # The lots move as they are, below, rather than being consumed and re-opened.
    pass


def merge_wallets(merged_id: int, survivor_id: int) -> Transaction | None:
    """Move the merged consumer's wallet into the survivor's (inside the caller's
    transaction); the ledger transaction, or None when the wallet held no points."""
    # Made if missing: a claim in flight may be about to open it, and it must find it
    # marked merged (and be refused) rather than open a fresh one after the merge.
    source = ledger.wallet(merged_id)
    target = ledger.wallet(survivor_id)
    locked = {
        account.pk: account
        for account in Account.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    txn = None
    if source.balance:
        txn = ledger.post(
            TransactionKind.MERGE,
            f"merge:{merged_id}:{survivor_id}",
            [Posting(source, -source.balance), Posting(target, source.balance)],
            consumer_id=survivor_id,
            memo=_("Points from a merged account"),
            metadata={"merged": merged_id},
            wallet_hook=_lots_move_apart,
        )
    Lot.objects.filter(account=source).update(account=target, consumer_id=survivor_id)
    Account.objects.filter(pk=source.pk).update(merged_into=target)
    return txn
