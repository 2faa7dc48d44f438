"""A merged consumer's per-campaign history moves to the surviving account (accounts.merge).

Claims, questionnaire responses and opens live in each merchant's schema and name the
consumer: they are what "earn once" (a campaign's per-consumer limit, one response per
questionnaire) counts. Moving them keeps the person at one earning per campaign after
the merge: a campaign either account already rewarded does not reward the survivor
again (decision 0172). Points already earned by both accounts before the merge stay
earned; nothing is clawed back.

Which schemas to visit comes from the ledger, not from a sweep of every merchant: each
claim and each rewarded response posted an award naming the consumer, its merchant and
its campaign (``metadata.campaign``), read by the ``txn_consumer_recent`` index; the
updates then use each table's campaign-and-consumer index. A response the survivor
already has for the same questionnaire (one per consumer, by constraint) stays with the
merged account, as does an open; the survivor's own row already counts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django_tenants.utils import tenant_context

from campaigns.models import Claim, Code, Follow, QuestionnaireOpen, Response
from core.db import connection, rows
from points.models import Transaction, TransactionKind
from tenants.models import Merchant

_MOVE_CLAIMS = (
    f"UPDATE {rows.table(Claim)} SET consumer_id = %(survivor)s"
    " WHERE campaign_id = ANY(%(campaigns)s) AND consumer_id = %(merged)s"
    " RETURNING code_id"
)
_MOVE_CODES = (
    f"UPDATE {rows.table(Code)} SET claimed_by_id = %(survivor)s WHERE code = ANY(%(codes)s)"
)
_MOVE_ONCE = (
    "UPDATE {table} r SET consumer_id = %(survivor)s"
    " WHERE r.campaign_id = ANY(%(campaigns)s) AND r.consumer_id = %(merged)s"
    " AND NOT EXISTS (SELECT 1 FROM {table} s"
    "   WHERE s.campaign_id = r.campaign_id AND s.consumer_id = %(survivor)s)"
)

# A follow is once per campaign and OpenID (the identities move with the merge): the
# rows only change whom the history names.
_MOVE_FOLLOWS = (
    f"UPDATE {rows.table(Follow)} SET consumer_id = %(survivor)s"
    " WHERE campaign_id = ANY(%(campaigns)s) AND consumer_id = %(merged)s"
)


def _campaigns_by_merchant(consumer_id: int) -> dict[int, list[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    awards = Transaction.objects.filter(
        consumer_id=consumer_id, kind=TransactionKind.AWARD, merchant_id__isnull=False
    ).values_list("merchant_id", "metadata")
    for merchant_id, metadata in awards.iterator():
        campaign = (metadata or {}).get("campaign")
        if isinstance(campaign, int):
            found[merchant_id].add(campaign)
    return {merchant: sorted(campaigns) for merchant, campaigns in found.items()}


def move(merged_id: int, survivor_id: int) -> None:
    history = _campaigns_by_merchant(merged_id)
    merchants = Merchant.objects.filter(pk__in=list(history), provisioned_at__isnull=False)
    for merchant in merchants.order_by("pk"):
        values: dict[str, Any] = {
            "survivor": survivor_id,
            "merged": merged_id,
            "campaigns": history[merchant.pk],
        }
        with tenant_context(merchant), connection.cursor() as cursor:
            cursor.execute(_MOVE_CLAIMS, values)
            codes = [row[0] for row in cursor.fetchall()]
            if codes:
                cursor.execute(_MOVE_CODES, {**values, "codes": codes})
            for model in (Response, QuestionnaireOpen):
                cursor.execute(_MOVE_ONCE.format(table=rows.table(model)), values)
            cursor.execute(_MOVE_FOLLOWS, values)
