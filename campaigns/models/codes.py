"""Scan codes: batches (print runs), their codes, claims and failed scans.

Tables in each merchant's schema. Foreign keys to public tables (users, ledger
transactions) are DO_NOTHING, for the reason given in ``campaigns.models.campaigns``.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign
from campaigns.reserves import bucket_sizes


class BatchStatus(models.TextChoices):
    GENERATING = "generating", _("Generating")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    VOIDED = "voided", _("Voided")


# A national launch orders tens of millions of codes for one production run: it is
# ordered as batches of up to 10,000,000 (decision 0141; serials then fit the seven
# digits of the export's file names, and one batch generates within minutes).
MAX_BATCH_SIZE = 10_000_000


class CodeBatch(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="batches")
    # What the merchant calls the print run and the product it goes on: shown on labels,
    # stats, exports and the anti-counterfeit answer. Optional, since a batch generated
    # before they existed has neither.
    name = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField()
    points_per_code = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.GENERATING
    )
    generated = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=500, blank=True)
    released_points = models.BigIntegerField(default=0)
    # A batch whose campaign pays a prize table: what it reserved (Σ over tiers of
    # min(cap, size) x points, in one account, its bucket 0); null for fixed points.
    # ``points_per_code`` is then the most one code can pay (the top tier's points).
    prize_reserve = models.BigIntegerField(null=True, blank=True)
    # Each code carries a second secret printed under a scratch-off (刮开涂层): the
    # anti-counterfeit answer then needs it (campaigns.scan.hidden, decision 0290).
    hidden_code = models.BooleanField(default=False)
    # The one export that issues the secrets (its id; not a key, as exports point here):
    # set when it is requested, so no second export can issue or show them.
    hidden_export_id = models.BigIntegerField(null=True, blank=True)
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
        if self.prize_reserve is not None:
            return self.prize_reserve
        return self.size * self.points_per_code

    def reserve_ref(self, bucket: int) -> str:
        return f"batch:{self.pk}:{bucket}"

    def bucket_sizes(self) -> dict[int, int]:
        """How many codes fall in each reserve bucket (serials 0 … size-1, bucket = serial % N)."""
        return bucket_sizes(self.size)


class Code(models.Model):
    """One printed code. Claimed exactly once: ``claimed_at`` goes from null once."""

    # Indexes: only those a query needs (decision 0140, guarded by
    # campaigns/tests/test_code_indexes.py): the primary key, for the claim and the
    # preview (``code = %s``), and the unique (batch, serial), for the exports' keyset
    # pages. The batch and the consumer get none of their own: every row a batch
    # generates would pay for them, and no query reads codes by either alone.
    # Neither foreign key is a database constraint (decision 0142): PostgreSQL checks
    # one per row written, a quarter of a 10,000,000-code generation's database time.
    # A code's batch is the row its generation holds locked (generation.generate_batch)
    # and batches are never deleted; a claimer is the signed-in consumer, and users
    # are never deleted either (the audit log's and analytics' references do the same).
    # 18 characters for ours; up to 32 for a printer's imported codes (decision 0205:
    # widening a varchar is a catalog change in PostgreSQL, no row or index rewritten).
    code = models.CharField(max_length=32, primary_key=True)
    batch = models.ForeignKey(
        CodeBatch,
        on_delete=models.PROTECT,
        related_name="codes",
        db_index=False,
        db_constraint=False,
    )
    serial = models.PositiveIntegerField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["batch", "serial"], name="code_unique_serial"),
        ]

    def __str__(self) -> str:
        return self.code


class HiddenCode(models.Model):
    """The keyed hash of a code's hidden verification code (decision 0290).

    Written only by the export that issues a batch's secrets (a side table, so that
    batches without them pay nothing): HMAC-SHA256 under ``settings.HIDDEN_CODE_KEY`` of
    the code and its secret. The secret itself is in no table: a dump of the database
    without the key cannot test a guess.
    """

    code = models.CharField(max_length=32, primary_key=True)  # as Code.code
    digest = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"hidden code of {self.code}"


class Claim(models.Model):
    """A successful claim: who earned how much from which code, when (stats read these)."""

    code = models.OneToOneField(Code, on_delete=models.PROTECT, related_name="claim")
    # Indexed by claim_campaign_time and claim_batch_time (Meta), which lead with them: a
    # single-column index of each would be two more index writes on every claim.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="claims", db_index=False
    )
    batch = models.ForeignKey(
        CodeBatch,
        on_delete=models.PROTECT,
        related_name="claims",
        db_index=False,
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,  # checked by construction, not per row (decision 0342)
    )
    points = models.PositiveIntegerField()
    # Null only for a prize draw that won nothing ("thank you"): no point moved.
    transaction = models.ForeignKey(
        "points.Transaction",
        on_delete=models.DO_NOTHING,
        related_name="+",
        null=True,
        db_constraint=False,  # checked by construction, not per row (decision 0342)
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
