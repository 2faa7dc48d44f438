"""Campaigns, code batches, codes and claims: tables in each merchant's schema."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.error_codes import CampaignErrorCode
from campaigns.reserves import RESERVE_BUCKETS, bucket_sizes  # noqa: F401 (re-exported)
from core.errors import DomainError

# Foreign keys from these tenant tables to public ones (users, ledger transactions)
# are DO_NOTHING in Django: deleting a public row must not make Django look for
# related rows in a tenant table from the public schema. The database constraint
# still refuses to delete a referenced row.


class CampaignKind(models.TextChoices):
    SCAN = "scan", _("Scan codes")
    QUESTIONNAIRE = "questionnaire", _("Questionnaire")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class CampaignError(DomainError):
    pass


# Which status changes a merchant may make: draft → active <-> paused → ended.
TRANSITIONS: dict[str, set[str]] = {
    CampaignStatus.DRAFT: {CampaignStatus.ACTIVE, CampaignStatus.ENDED},
    CampaignStatus.ACTIVE: {CampaignStatus.PAUSED, CampaignStatus.ENDED},
    CampaignStatus.PAUSED: {CampaignStatus.ACTIVE, CampaignStatus.ENDED},
    CampaignStatus.ENDED: set(),
}


class Campaign(models.Model):
    kind = models.CharField(max_length=16, choices=CampaignKind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    image = models.ImageField(upload_to="campaigns/", blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    # Per-consumer limits; null means no limit.
    max_claims_per_day = models.PositiveIntegerField(null=True, blank=True)
    max_claims_per_consumer = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(starts_at__isnull=True)
                | models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="campaign_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_per_consumer_limits(self) -> bool:
        return self.max_claims_per_day is not None or self.max_claims_per_consumer is not None

    def ensure_claimable(self, now: datetime | None = None) -> None:
        """Refuse a claim unless the campaign is active and within its dates."""
        now = now or timezone.now()
        if self.status == CampaignStatus.ENDED or (self.ends_at and now >= self.ends_at):
            raise CampaignError(CampaignErrorCode.CAMPAIGN_ENDED, _("This campaign has ended."))
        if self.status != CampaignStatus.ACTIVE or (self.starts_at and now < self.starts_at):
            raise CampaignError(
                CampaignErrorCode.CAMPAIGN_NOT_ACTIVE, _("This campaign is not running right now.")
            )

    def ensure_transition(self, status: str) -> None:
        if status not in TRANSITIONS[self.status]:
            raise CampaignError(
                CampaignErrorCode.INVALID_STATUS_CHANGE,
                _("A %(from)s campaign cannot become %(to)s.")
                % {"from": self.get_status_display(), "to": CampaignStatus(status).label},
                "status",
            )


class BatchStatus(models.TextChoices):
    GENERATING = "generating", _("Generating")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    VOIDED = "voided", _("Voided")


MAX_BATCH_SIZE = 5_000_000


class CodeBatch(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="batches")
    size = models.PositiveIntegerField()
    points_per_code = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.GENERATING
    )
    generated = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    released_points = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Moved by every committed chunk: a batch generating with an old heartbeat stalled.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(size__gte=1, size__lte=MAX_BATCH_SIZE), name="batch_size_range"
            ),
            models.CheckConstraint(
                condition=models.Q(points_per_code__gte=1), name="batch_points_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(generated__lte=models.F("size")), name="batch_generated_le_size"
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.campaign_id}: {self.size} x {self.points_per_code}"

    @property
    def progress_percent(self) -> float:
        return round(100.0 * self.generated / self.size, 1) if self.size else 100.0

    @property
    def reserved_points(self) -> int:
        return self.size * self.points_per_code

    def reserve_ref(self, bucket: int) -> str:
        return f"batch:{self.pk}:{bucket}"

    def bucket_sizes(self) -> dict[int, int]:
        """How many codes fall in each reserve bucket (serials 0 … size-1, bucket = serial % N)."""
        return bucket_sizes(self.size)


class Code(models.Model):
    """One printed code. Claimed exactly once: ``claimed_at`` goes from null once."""

    code = models.CharField(max_length=18, primary_key=True)
    batch = models.ForeignKey(CodeBatch, on_delete=models.PROTECT, related_name="codes")
    serial = models.PositiveIntegerField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["batch", "serial"], name="code_unique_serial"),
        ]

    def __str__(self) -> str:
        return self.code


class Claim(models.Model):
    """A successful claim: who earned how much from which code, when (stats read these)."""

    code = models.OneToOneField(Code, on_delete=models.PROTECT, related_name="claim")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="claims")
    batch = models.ForeignKey(CodeBatch, on_delete=models.PROTECT, related_name="claims")
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+"
    )
    points = models.PositiveIntegerField()
    transaction = models.ForeignKey(
        "points.Transaction", on_delete=models.DO_NOTHING, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200)
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["campaign", "consumer", "claimed_at"], name="claim_consumer_recent"
            ),
            models.Index(fields=["campaign", "claimed_at"], name="claim_campaign_time"),
            models.Index(fields=["batch", "claimed_at"], name="claim_batch_time"),
        ]

    def __str__(self) -> str:
        return f"{self.code_id} by {self.consumer_id}"


class ScanFailure(models.Model):
    """Failed scan attempts per day and reason, so the merchant sees guessing and misuse."""

    day = models.DateField()
    reason = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["day", "reason"], name="scan_failure_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}: {self.count}"


# --- Print and export -------------------------------------------------------------


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
    """One rendering of a ready batch's codes into a file in storage (see campaigns/exports.py).

    Rendered by a Celery task that moves ``progress`` (codes written) as it goes;
    the file is downloaded from a signed, expiring link.
    """

    batch = models.ForeignKey(CodeBatch, on_delete=models.CASCADE, related_name="exports")
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


from campaigns.questionnaire_models import (  # noqa: E402,F401  (one app, one schema)
    Questionnaire,
    QuestionnaireOpen,
    QuestionnaireVersion,
    Response,
)
