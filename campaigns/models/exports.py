"""Batch exports: a ready batch's codes rendered into a file (CSV, ZIP of QR images, PDF).

A table in each merchant's schema; rendered by ``campaigns.exports`` (see its
``render`` and ``tasks`` modules).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.codes import CodeBatch


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV (code, URL)")
    ZIP = "zip", _("ZIP of QR images (PNG and SVG)")
    PDF = "pdf", _("PDF label sheet")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class BatchExport(models.Model):
    """One rendering of a ready batch's codes into a file in storage (see campaigns.exports).

    Rendered by a Celery task that moves ``progress`` (codes written) as it goes;
    the file is downloaded from a signed, expiring link.
    """

    batch = models.ForeignKey(
        CodeBatch, on_delete=models.CASCADE, related_name="exports", db_index=False
    )
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    # Rendering options, e.g. the PDF grid: {"columns": 4, "rows": 6}.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField()
    file_name = models.CharField(max_length=300, blank=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    # An export that issues hidden codes is downloaded once (decision 0290): when it was.
    downloaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["batch", "-created_at"], name="export_batch_recent"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=models.F("total")), name="export_progress_le_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.format} export {self.pk} of batch {self.batch_id} ({self.status})"
