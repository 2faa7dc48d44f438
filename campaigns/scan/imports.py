"""Code imports as the merchant sees them: ask for one, upload its file, read its report.

- ``request_import`` records a ``CodeImport`` waiting for its file and checks what can be
  checked before the upload (the campaign, the points, the URL pattern).
- **upload links** (``UPLOAD_LINK``): the merchant API gives a signed link (decision
  0209) that takes the file by POST (``multipart/form-data``, field ``file``) for an
  hour, like a pre-signed storage URL; ``receive_file`` stores it and queues the check
  (``tasks.import_codes``) once the row is committed.
- **report links** (``REPORT_LINK``): the refused lines as CSV, 15 minutes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from campaigns.models import (
    Campaign,
    CodeImport,
    ImportFormat,
    ImportLayout,
    ImportRefusal,
    ImportStatus,
    RefusalReason,
)
from campaigns.scan import batches, importing
from campaigns.scan.tasks import import_codes
from core.db import connection
from core.signed_links import SignedLink
from tenants.models import Merchant

# A file of 5,000,000 URLs of about 80 characters, with room.
MAX_FILE_BYTES = 512 * 1024 * 1024
UPLOAD_LINK = SignedLink(
    salt="campaigns.imports.upload",
    url_name="code-import-upload",
    fields={"s": str, "i": int},
    ttl=60 * 60,
    expired_message=gettext_lazy(
        "This upload link has expired. Start the import again from the merchant console."
    ),
)
REPORT_LINK = SignedLink(
    salt="campaigns.imports.report",
    url_name="code-import-report",
    fields={"s": str, "i": int},
)


def request_import(
    merchant: Merchant,
    campaign: Campaign,
    *,
    layout: str,
    file_format: str,
    points_per_code: int,
    url_pattern: str = "",
    has_header: bool = False,
    name: str = "",
    sku: str = "",
    hidden_code: bool = False,
    created_by: User | None = None,
) -> CodeImport:
    """An import of a file into a new batch of ``campaign``, waiting for its upload;
    ``hidden_code``: its batch carries hidden codes (and a guessable file is accepted)."""
    batches.check_batch(merchant, campaign, size=1, points_per_code=points_per_code, imported=True)
    # Only a file of URLs has a pattern; another layout's is ignored rather than kept.
    url_pattern = importing.check_url_pattern(url_pattern) if layout == ImportLayout.URLS else ""
    return CodeImport.objects.create(
        campaign=campaign,
        name=name.strip(),
        sku=sku.strip(),
        points_per_code=points_per_code,
        layout=layout,
        file_format=file_format,
        url_pattern=url_pattern,
        has_header=has_header,
        hidden_code=hidden_code,
        created_by=created_by,
    )


def upload_path(code_import: CodeImport) -> str:
    return UPLOAD_LINK.path(connection.schema_name, code_import.pk)


def report_path(code_import: CodeImport) -> str | None:
    """The report's link once there is something to report."""
    if code_import.status != ImportStatus.REFUSED or not code_import.refused:
        return None
    return REPORT_LINK.path(connection.schema_name, code_import.pk)


def receive_file(code_import: CodeImport, file: File[bytes]) -> CodeImport:
    """Store an import's file and queue its check; ``IMPORT_NOT_UPLOADING`` once it has one."""
    if file.size is not None and file.size > MAX_FILE_BYTES:
        raise importing.ImportFailed(
            CampaignErrorCode.IMPORT_FILE_TOO_LARGE,
            _("A file may be at most %(max)s MB.") % {"max": MAX_FILE_BYTES // 2**20},
            "file",
        )
    schema = connection.schema_name
    extension = "xlsx" if code_import.file_format == ImportFormat.XLSX else "csv"
    with transaction.atomic():
        code_import = CodeImport.objects.select_for_update().get(pk=code_import.pk)
        if code_import.status != ImportStatus.UPLOADING:
            raise importing.ImportFailed(
                CampaignErrorCode.IMPORT_NOT_UPLOADING,
                _("This import already has its file; start another import for another file."),
                "file",
            )
        code_import.file_name = default_storage.save(
            f"code-imports/{schema}/{code_import.pk}.{extension}", file
        )
        code_import.status = ImportStatus.VALIDATING
        code_import.heartbeat_at = timezone.now()
        code_import.save(update_fields=["file_name", "status", "heartbeat_at"])
        import_id = code_import.pk
        transaction.on_commit(
            lambda: import_codes.apply_async((import_id,), headers={"_schema_name": schema}),
            robust=True,
        )
    return code_import


def report_rows(code_import: CodeImport) -> Iterator[str]:
    """The refused lines as CSV text, a header first, streamed from the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([_("Line"), _("Reason code"), _("Reason"), _("Repeats line"), _("Text")])
    yield "\ufeff" + take()
    labels = dict(RefusalReason.choices)
    refusals = (
        ImportRefusal.objects.filter(code_import=code_import)
        .order_by("line")
        .values_list("line", "reason", "first_line", "text")
    )
    for count, (line, reason, first_line, text) in enumerate(refusals.iterator(5000), 1):
        writer.writerow([line, reason, str(labels.get(reason, reason)), first_line or "", text])
        if count % 5000 == 0:
            yield take()
    yield take()
