"""Batch exports as the merchant sees them: request one, then download it from a link.

- ``request_export`` records a ``BatchExport`` of a ready batch and queues its
  rendering (``campaigns.exports.tasks``, which runs ``render.run_export``) once
  the row is committed.
- **download links** (``DOWNLOAD_LINK``, a ``core.signed_links.SignedLink``): a
  signed token naming the merchant's schema and the export, valid
  ``DOWNLOAD_LINK_TTL`` seconds, served by ``campaigns.exports.views.download_export``.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.error_codes import CampaignErrorCode
from campaigns.exports.render import (
    ExportError,
    Grid,
    batch_label_content,
    batch_title,
    current_brand,
    current_logo,
    ensure_exportable,
    export_reader,
    preview_pdf,
)
from campaigns.exports.tasks import render_export
from campaigns.models import BatchExport, BatchStatus, CodeBatch, ExportFormat, ExportStatus
from core.db import connection, replica
from core.signed_links import SignedLink

CONTENT_TYPES = {  # by file extension
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "pdf": "application/pdf",
}


def request_export(
    batch: CodeBatch,
    fmt: str,
    *,
    stock: str | None = None,
    columns: int | None = None,
    rows: int | None = None,
    requested_by: User | None = None,
) -> BatchExport:
    """Record an export of a ready batch and queue its rendering (on commit).

    ``stock`` (A4 or a roll) and ``columns`` and ``rows`` set the PDF's labels
    (``INVALID_LABEL_STOCK``, ``INVALID_GRID`` out of bounds); the other formats ignore them.
    """
    ensure_exportable(batch, fmt)
    options: dict[str, Any] = {}
    if fmt == ExportFormat.PDF:
        # The labels speak the language of the console that asked for them (the worker
        # renders them later, in no request): "扫码领 5 积分" for a Chinese console.
        options = {**Grid.of(columns, rows, stock).as_options(), "language": get_language()}
    schema = connection.schema_name
    with transaction.atomic():
        export = BatchExport.objects.create(
            batch=batch, format=fmt, options=options, total=batch.size, requested_by=requested_by
        )
        export_id = export.pk
        if batch.hidden_code and fmt != ExportFormat.ZIP:
            claim_hidden_codes(batch, export)
        # The task reads the codes from the replica only once it has replayed this
        # commit (and so the batch's codes, ready before it); registered first, so the
        # pin is taken before an eager task runs.
        replica.pin(export_reader(export_id))
        # Robust: a rendering failure (eager mode) or a broker error is logged and
        # leaves the export failed or pending; it never fails the request that asked.
        transaction.on_commit(
            lambda: render_export.apply_async((export_id,), headers={"_schema_name": schema}),
            robust=True,
        )
    return export


def claim_hidden_codes(batch: CodeBatch, export: BatchExport) -> None:
    """Make ``export`` the one that issues ``batch``'s hidden codes, or refuse it.

    One conditional update: of two exports requested at once, one issues, the other is
    refused (``HIDDEN_CODES_ISSUED``), and its row rolls back with the caller's
    transaction. A ZIP of images carries no text and never issues them.
    """
    claimed = CodeBatch.objects.filter(pk=batch.pk, hidden_export_id__isnull=True).update(
        hidden_export_id=export.pk
    )
    if not claimed:
        raise ExportError(
            CampaignErrorCode.HIDDEN_CODES_ISSUED,
            _(
                "This batch's hidden codes were issued with an earlier export and are never "
                "shown again. Export a ZIP of the QR codes, or create a new batch."
            ),
            "format",
        )
    batch.hidden_export_id = export.pk


def issues_hidden_codes(export: BatchExport) -> bool:
    return export.batch.hidden_export_id == export.pk


def mark_downloaded(export: BatchExport) -> bool:
    """The export's one download, for an export that issues hidden codes: True the first
    time only (a conditional update: two downloads at once cannot both have it)."""
    return bool(
        BatchExport.objects.filter(pk=export.pk, downloaded_at__isnull=True).update(
            downloaded_at=timezone.now()
        )
    )


# --- Preview -----------------------------------------------------------------------

PREVIEW_WIDTH_PX = {"sheet": 800, "roll": 480}  # a page as the console shows it


@dataclass(frozen=True)
class LabelPreview:
    png: bytes
    grid: Grid
    pages: int

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def label_preview(
    batch: CodeBatch, *, stock: str | None, columns: int | None, rows: int | None
) -> LabelPreview:
    """The first page of ``batch``'s PDF labels on this stock, with sample codes, as a PNG.

    Rendered by the same code as the export, then rasterised by PDFium: what the merchant
    sees is what the printer gets (sample codes, since the real ones are for operators).
    """
    grid = Grid.of(columns, rows, stock)
    brand = current_brand()
    title = batch_title(batch)
    pdf = preview_pdf(
        grid,
        batch_label_content(batch, brand, current_logo()),
        footer=" · ".join(part for part in (brand, title, batch.sku) if part),
    )
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        width = PREVIEW_WIDTH_PX["roll" if grid.stock.is_roll else "sheet"]
        image = page.render(scale=width / page.get_width(), grayscale=True).to_pil()
        page.close()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return LabelPreview(out.getvalue(), grid, grid.pages(batch.size))


# --- Download links ---------------------------------------------------------------

# Fixed: it signs every link handed out (it is the name of the module this lived in
# once); a new salt would void the links in flight.
DOWNLOAD_SALT = "campaigns.exports.download"
DOWNLOAD_LINK_TTL = 15 * 60  # seconds

# Names one export of one merchant (its schema, the export's id). Whoever holds the
# link may download the file (it can be handed to a print shop), as with a pre-signed
# storage URL; it cannot be altered to name another export or another merchant, and
# it dies after 15 minutes (the API gives a fresh one each time).
DOWNLOAD_LINK = SignedLink(
    salt=DOWNLOAD_SALT,
    url_name="batch-export-download",
    fields={"s": str, "e": int},
    ttl=DOWNLOAD_LINK_TTL,
)


def download_path(schema_name: str, export: BatchExport) -> str:
    return DOWNLOAD_LINK.path(schema_name, export.pk)


def is_downloadable(export: BatchExport) -> bool:
    """Ready, and its batch still works (a voided batch's codes must not be printed); an
    export that issued hidden codes only until its one download."""
    return (
        export.status == ExportStatus.READY
        and bool(export.file_name)
        and export.batch.status == BatchStatus.READY
        and export.downloaded_at is None
    )


def stored_extension(export: BatchExport) -> str:
    return export.file_name.rsplit(".", 1)[-1]


def content_type(extension: str) -> str:
    return CONTENT_TYPES.get(extension, "application/octet-stream")


def download_name(batch: CodeBatch, extension: str) -> str:
    """What the browser saves the file as."""
    return f"batch-{batch.pk}-codes.{extension}"
