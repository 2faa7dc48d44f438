"""Celery tasks of scan codes: generate a batch's codes, import a file's, resume what stalled.

``generate_codes`` runs in the merchant's schema (tenant-schemas-celery). The ``name=``
strings are what the broker, queued messages and the beat schedule know the tasks by:
they keep the names of the module the tasks once lived in (``campaigns.tasks``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import BatchStatus, CodeBatch, CodeImport, ImportStatus
from campaigns.scan import generation, importing
from core.db import connection
from tenants.models import Merchant

logger = logging.getLogger(__name__)


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
    try:
        batch = generation.generate_batch(batch_id)
    except OSError:
        raise
    except Exception as exc:
        logger.exception("batch %s failed", batch_id)
        generation.mark_failed(batch_id, f"{type(exc).__name__}: {exc}")
        raise
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
    try:
        code_import = importing.run_import(import_id)
    except OSError:
        raise
    except Exception as exc:
        logger.exception("import %s failed", import_id)
        importing.mark_failed(import_id, f"{type(exc).__name__}: {exc}")
        raise
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
            # transaction of about a minute at most); a dead runner's lock is gone.
            imports = CodeImport.objects.filter(
                status__in=[ImportStatus.VALIDATING, ImportStatus.WRITING],
                heartbeat_at__lte=cutoff,
            ).values_list("pk", flat=True)
            for import_id in imports:
                import_codes.delay(import_id)
                resumed += 1
    return resumed
