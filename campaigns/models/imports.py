"""Code imports (码包导入): a packaging printer's codes brought in as a batch.

Tables in each merchant's schema. A ``CodeImport`` is one uploaded file: validated whole
first (``campaigns.scan.importing``), then written as one funded batch in one transaction
or not at all. Its refused lines are ``ImportRefusal`` rows (the downloadable report);
``ImportLine`` is the staging of a file's accepted lines between the two passes.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import MD5, Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models.campaigns import Campaign
from campaigns.models.codes import CodeBatch

# The longest imported code, after normalisation (decision 0205): printers' codes run from
# 12 to about 24 characters; 32 leaves room without letting a whole URL in.
MAX_IMPORTED_CODE_LENGTH = 32
MIN_IMPORTED_CODE_LENGTH = 8
MAX_LABEL_FIELD_LENGTH = 64


class ImportLayout(models.TextChoices):
    CODES = "codes", _("One column: the code")
    CODE_BOX_SERIAL = "code_box_serial", _("Three columns: code, box code, serial")
    URLS = "urls", _("One column: the brand's URL with the code inside")


class ImportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")


class ImportStatus(models.TextChoices):
    UPLOADING = "uploading", _("Waiting for the file")
    VALIDATING = "validating", _("Checking the file")
    WRITING = "writing", _("Writing the codes")
    IMPORTED = "imported", _("Imported")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


class RefusalReason(models.TextChoices):
    MALFORMED = "MALFORMED", _("Not a code: wrong length or characters")
    EMPTY = "EMPTY", _("Empty line")
    NO_CODE_IN_URL = "NO_CODE_IN_URL", _("The URL does not match the registered pattern")
    BAD_COLUMNS = "BAD_COLUMNS", _("Wrong number of columns")
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE", _("Repeats an earlier line of the file")
    ALREADY_EXISTS = "ALREADY_EXISTS", _("The code already exists on the platform")
    OUR_FORMAT = "OUR_FORMAT", _("Has this platform's own code format (18 characters)")


class CodeImport(models.Model):
    """One file of codes printed by someone else, imported as a batch of a scan campaign."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="imports")
    batch = models.OneToOneField(
        CodeBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="code_import"
    )
    name = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    points_per_code = models.PositiveIntegerField()
    layout = models.CharField(max_length=20, choices=ImportLayout.choices)
    file_format = models.CharField(max_length=8, choices=ImportFormat.choices)
    # For ``URLS``: the brand's URL with ``{code}`` where the code stands.
    url_pattern = models.CharField(max_length=300, blank=True)
    # The file's first line names its columns and is skipped.
    has_header = models.BooleanField(default=False)
    # The batch carries hidden codes (decision 0290); a file below the bits threshold is
    # then accepted (decision 0291).
    hidden_code = models.BooleanField(default=False)
    file_name = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADING
    )
    # Lines read so far (the progress of the check), then the file's count.
    lines_read = models.PositiveIntegerField(default=0)
    codes_written = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    # Blank lines are skipped, not refused (spreadsheets end with some), and counted.
    empty_lines = models.PositiveIntegerField(default=0)
    # The file's measured randomness (campaigns.scan.entropy): the smaller of the bits per
    # code its characters carry and the bits its sorted neighbours leave to guess.
    bits_per_code = models.FloatField(null=True, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Moved as the file is read and written: an import in progress with an old heartbeat
    # stalled (a worker died) and is started again (tasks.resume_stalled_batches).
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The runner that holds the import, until when (campaigns.scan.importing.Lease): a row,
    # not a session advisory lock, which PgBouncer's transaction pooling cannot keep.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.campaign_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.IMPORTED, ImportStatus.REFUSED, ImportStatus.FAILED)


class ImportRefusal(models.Model):
    """A refused line of an import's file: the downloadable report lists these."""

    code_import = models.ForeignKey(
        CodeImport, on_delete=models.CASCADE, related_name="refusals", db_index=False
    )
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=24, choices=RefusalReason.choices)
    # The line as read (cut), so that the report can be read without the file.
    text = models.CharField(max_length=200, blank=True)
    # For a duplicate: the line it repeats.
    first_line = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["code_import", "line"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["code_import", "line"], name="import_refusal_line"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportLine(models.Model):
    """An accepted line of a file being imported, between the check and the write.

    Unlogged (migration 0010): staging that a crash may lose, since the import then starts
    again from its file. Deleted once the import is written or refused. No index: each
    pass reads all of one import's lines.
    """

    import_id = models.BigIntegerField()
    line = models.PositiveIntegerField()
    # The code's serial in its batch: the line's rank among the accepted lines, counted by
    # the check as it stages them (a file with any refused line is written not at all, so
    # the staged serials are the batch's 0..n-1), instead of a sort by line at the write.
    serial = models.PositiveIntegerField()
    code = models.CharField(max_length=MAX_IMPORTED_CODE_LENGTH)
    # The code's routing key (``tenants.models.route_key``), computed by PostgreSQL as the
    # check's COPY stages the line, on the core the check's Python leaves idle, instead of
    # at the write and again by the duplicates' search (decision 0331).
    key = models.GeneratedField(
        expression=Cast(MD5("code"), models.UUIDField()),
        output_field=models.UUIDField(),
        db_persist=True,
    )
    box_code = models.CharField(max_length=MAX_LABEL_FIELD_LENGTH, blank=True)
    printer_serial = models.CharField(max_length=MAX_LABEL_FIELD_LENGTH, blank=True)

    def __str__(self) -> str:
        return f"{self.import_id}:{self.line}"


class CodeLabel(models.Model):
    """The printer's box code and serial of an imported code (layout ``code_box_serial``)."""

    code = models.CharField(max_length=MAX_IMPORTED_CODE_LENGTH, primary_key=True)
    box_code = models.CharField(max_length=MAX_LABEL_FIELD_LENGTH, blank=True)
    printer_serial = models.CharField(max_length=MAX_LABEL_FIELD_LENGTH, blank=True)

    def __str__(self) -> str:
        return self.code
