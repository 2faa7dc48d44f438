"""The periodic task that turns prize seeds over at each period's end (decision 0217)."""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import tenant_context

from campaigns.prizes.services import rotate_due
from tenants.models import Merchant


@shared_task(name="campaigns.tasks.rotate_prize_seeds")
def rotate_prize_seeds() -> int:
    """Reveal every seed whose period ended and commit its successor.

    Runs from beat in the public schema, so it visits each merchant's schema itself.
    """
    rotated = 0
    for merchant in Merchant.objects.provisioned().exclude(schema_name="public").iterator():
        with tenant_context(merchant):
            rotated += rotate_due()
    return rotated
