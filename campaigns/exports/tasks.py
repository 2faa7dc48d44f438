"""The Celery task that renders a batch export (``render.run_export`` does the work).

It runs in the merchant's schema: ``service.request_export`` sends it with the
``_schema_name`` header (tenant-schemas-celery) once the export row is committed.
Its ``name=`` is what queued messages know it by: the name of the module it once
lived in (``campaigns.export_tasks``).
"""

from __future__ import annotations

import logging

from celery import shared_task

from campaigns.exports import render
from core.db import connection
from core.errors import DomainError

logger = logging.getLogger(__name__)


@shared_task(
    name="campaigns.export_tasks.render_export",
    acks_late=True,  # a worker killed mid-render: the task is delivered again and starts over
    autoretry_for=(OSError,),  # a lost database connection or a storage hiccup
    retry_backoff=True,
    max_retries=3,
)
def render_export(export_id: int) -> dict[str, object]:
    """Render one export into storage. Safe to run again (a ready export is left alone)."""
    try:
        export = render.run_export(export_id)
    except DomainError as exc:
        # Expected (the batch was voided meanwhile): recorded on the export, not an error.
        logger.info("export %s refused: %s", export_id, exc.message)
        return {"schema": connection.schema_name, "export": export_id, "status": "failed"}
    return {
        "schema": connection.schema_name,
        "export": export.pk,
        "status": export.status,
        "file": export.file_name,
    }
