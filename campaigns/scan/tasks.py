"""Celery tasks of scan codes: generate a batch's codes, import a file's, resume what stalled.

``generate_codes`` runs in the merchant's schema (tenant-schemas-celery). The ``name=``
strings are what the broker, queued messages and the beat schedule know the tasks by:
they keep the names of the module the tasks once lived in (``campaigns.tasks``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import BatchStatus, CodeBatch, CodeImport, ImportStatus
from campaigns.scan import events, generation, importing
from core.db import connection
from tenants.models import Merchant

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _run_or_mark_failed(
    run: Callable[[int], T], mark_failed: Callable[[int, str], object], pk: int
) -> T:
    """``run(pk)``; an error that is not a lost connection (``OSError``, retried by the
    task) marks the batch or import failed, with its reason, before it is raised."""
    try:
        return run(pk)
    except OSError:
        raise
    except Exception as exc:
        logger.exception("%s %s failed", run.__name__, pk)
        mark_failed(pk, f"{type(exc).__name__}: {exc}")
        raise


@shared_task(
    bind=True,
    name="campaigns.tasks.generate_codes",
    acks_late=True,
    autoretry_for=(OSError,),  # a lost database or broker connection: try again
    retry_backoff=True,
    max_retries=5,
)
def generate_codes(self: object, batch_id: int) -> dict[str, object]:
    """Generate (or resume) a batch's codes. Safe to run twice at once or again later."""
    batch = _run_or_mark_failed(generation.generate_batch, generation.mark_failed, batch_id)
    return {
        "schema": connection.schema_name,
        "batch": batch.pk,
        "status": batch.status,
        "generated": batch.generated,
    }


@shared_task(
    bind=True,
    name="campaigns.tasks.import_codes",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def import_codes(self: object, import_id: int) -> dict[str, object]:
    """Check, then write or refuse, an uploaded file of codes. Safe to run twice or again."""
    code_import = _run_or_mark_failed(importing.run_import, importing.mark_failed, import_id)
    return {
        "schema": connection.schema_name,
        "import": code_import.pk,
        "status": code_import.status,
        "accepted": code_import.accepted,
        "refused": code_import.refused,
    }


@shared_task(name="campaigns.tasks.resume_stalled_batches")
def resume_stalled_batches(stalled_after_seconds: int = 300) -> int:
    """Requeue batches whose generation, and imports whose check, stopped moving.

    Runs from beat in the public schema, so it visits each merchant's schema itself
    (those that exist: an application has none yet).
    """
    cutoff = timezone.now() - timedelta(seconds=stalled_after_seconds)
    resumed = 0
    for merchant in Merchant.objects.provisioned().exclude(schema_name="public").iterator():
        with tenant_context(merchant):
            stalled = CodeBatch.objects.filter(
                status=BatchStatus.GENERATING, heartbeat_at__lte=cutoff
            ).values_list("pk", flat=True)
            for batch_id in stalled:
                generate_codes.delay(batch_id)
                resumed += 1
            # An import's heartbeat moves with each chunk checked (its write is one
            # transaction of about a minute at most); a dead runner's lease has expired by then.
            imports = CodeImport.objects.filter(
                status__in=[ImportStatus.VALIDATING, ImportStatus.WRITING],
                heartbeat_at__lte=cutoff,
            ).values_list("pk", flat=True)
            for import_id in imports:
                import_codes.delay(import_id)
                resumed += 1
    return resumed


@shared_task(name="campaigns.tasks.drain_scan_events")
def drain_scan_events(seconds: float = 25.0) -> int:
    """Write queued scan events for up to ``seconds`` (beat: what the drainer left).

    Runs in the public schema: events name their merchants, and ``events.write`` enters
    each one's schema itself.
    """
    deadline = time.monotonic() + seconds
    written = 0
    while time.monotonic() < deadline and (batch := events.drain()):
        written += batch
    return written
