"""Periodic ledger work. Runs in the public schema (the ledger is shared)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from points.models import Lot
from points.services import expire_lot

logger = logging.getLogger(__name__)


@shared_task(name="points.tasks.expire_lots")
def expire_lots(batch_size: int = 1000) -> int:
    """Expire every lot past its date. Safe to run twice: each expiry is keyed by lot."""
    now = timezone.now()
    expired = 0
    last_id = 0
    while True:
        ids = list(
            Lot.objects.filter(expires_at__lte=now, remaining__gt=0, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        for lot_id in ids:
            if expire_lot(lot_id, now=now) is not None:
                expired += 1
        last_id = ids[-1]
    logger.info("expired %d lots", expired)
    return expired
