"""Rendering a ready batch's codes: CSV, a ZIP of QR images, a PDF label sheet.

Two layers, each usable alone:

- **renderers** (``write_csv``, ``write_zip``, ``write_pdf``) take an iterable of
  ``(serial, code)`` and a binary file, and call ``progress(done)`` now and then.
  They hold one code at a time (a PDF also holds its pages until saved, so a big
  batch's PDF comes as a ZIP of PDF volumes, see ``PDF_LABELS_PER_FILE``), so
  memory stays flat however big the batch.
- **a batch and an export**: ``render_batch`` streams a batch's codes into one of
  them; ``run_export`` renders a ``BatchExport`` into a temporary file, then saves it
  to Django's default storage (local files under ``MEDIA_ROOT`` unless configured).
  ``run_export`` is what the Celery task (``campaigns.exports.tasks``) runs; the
  export is requested, and downloaded, through ``campaigns.exports.service``.

Every QR code encodes ``codes.scan_url(code)`` with error correction M and the
standard 4-module quiet zone. In the PDF it is drawn as vector rectangles from the
qrcode library's module matrix: one filled path per code, with each row's run of
dark modules as one rectangle, so it is sharp at any printer resolution and small.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import qrcode
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from qrcode.image.svg import SvgPathImage
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import BatchExport, BatchStatus, Code, CodeBatch, ExportFormat, ExportStatus
from campaigns.scan.codes import pretty, scan_url
from core.db import connection
from core.errors import DomainError

Progress = Callable[[int], None]
CodeRows = Iterable[tuple[int, str]]

# How often renderers report progress (and the task writes it to the database).
PROGRESS_EVERY = 500
# Codes read per query while streaming a batch (keyset pages, see batch_codes).
FETCH_CHUNK = 2_000


class ExportError(DomainError):
    pass


# --- QR codes ---------------------------------------------------------------------

QR_BORDER = 4  # modules of quiet zone on each side, as ISO/IEC 18004 requires
PNG_BOX_SIZE = 10  # pixels per module in the PNG files


def make_qr(code: str) -> qrcode.QRCode:
    """The QR code of a scan code: its scan URL, error correction M (15% recoverable)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_BORDER, box_size=PNG_BOX_SIZE
    )
    qr.add_data(scan_url(code))
    qr.make(fit=True)
    return qr


def dark_runs(modules: list[list[bool | None]]) -> Iterator[tuple[int, int, int]]:
    """``(row, first column, length)`` of each horizontal run of dark modules."""
    for row_index, row in enumerate(modules):
        column, width = 0, len(row)
        while column < width:
            if row[column]:
                start = column
                while column < width and row[column]:
                    column += 1
                yield row_index, start, column - start
            else:
                column += 1


# --- CSV --------------------------------------------------------------------------


def write_csv(rows: CodeRows, out: IO[bytes], progress: Progress | None = None) -> int:
    """``code,url`` with a header row, UTF-8, in serial order. Returns the codes written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(["code", "url"])
        done = 0
        for _serial, code in rows:
            writer.writerow([code, scan_url(code)])
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(done)
        text.flush()
    finally:
        text.detach()  # leave ``out`` open for the caller
    if progress:
        progress(done)
    return done


# --- ZIP of PNG and SVG -------------------------------------------------------------


def image_name(serial: int, code: str, extension: str) -> str:
    """``0000042-<code>.png``: the serial padded to 7 digits (a batch holds up to
    10,000,000: serials run to 9,999,999), so that the files sort in print order."""
    return f"{serial:07d}-{code}.{extension}"


def write_zip(rows: CodeRows, out: IO[bytes], progress: Progress | None = None) -> int:
    """One PNG (1-bit, 10 px per module) and one SVG (a single path) per code."""
    done = 0
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for serial, code in rows:
            qr = make_qr(code)
            png = io.BytesIO()
            qr.make_image().save(png)
            # PNG is compressed already: stored; SVG text deflates well.
            archive.writestr(image_name(serial, code, "png"), png.getvalue(), zipfile.ZIP_STORED)
            svg = io.BytesIO()
            qr.make_image(image_factory=SvgPathImage).save(svg)
            archive.writestr(
                image_name(serial, code, "svg"), svg.getvalue(), zipfile.ZIP_DEFLATED, 6
            )
            done += 1
            if progress and done % PROGRESS_EVERY == 0:
                progress(done)
    if progress:
        progress(done)
    return done


# --- PDF label sheet --------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4
PAGE_MARGIN = 10 * mm  # crop-safe: nothing printed closer to the paper's edge (footer aside)
LABEL_PADDING = 2 * mm  # inside each label, around the QR code's own quiet zone
TEXT_GAP = 0.5 * mm
CODE_FONT = "Courier-Bold"  # monospaced: the four groups of the code line up on every label
MAX_CODE_FONT_SIZE = 10.0
FOOTER_FONT = "Helvetica"
FOOTER_Y = 5 * mm
CROP_MARK = 3 * mm
MIN_COLUMNS, MAX_COLUMNS = 1, 6
MIN_ROWS, MAX_ROWS = 1, 12
DEFAULT_COLUMNS, DEFAULT_ROWS = 4, 6
# reportlab holds a document's pages in memory until it is saved (about 5 KB per label,
# 115 KB per page of 24, measured), so a bigger batch's PDF export is a ZIP of PDF
# volumes of this many labels each: memory stays bounded by one volume (~120 MB on top
# of the process's ~75 MB).
PDF_LABELS_PER_FILE = 25_000


@dataclass(frozen=True)
class Grid:
    """Labels per A4 page: ``columns`` across, ``rows`` down."""

    columns: int = DEFAULT_COLUMNS
    rows: int = DEFAULT_ROWS

    @classmethod
    def of(cls, columns: int | None, rows: int | None) -> Grid:
        """A grid from optional arguments; ``INVALID_GRID`` outside 1-6 columns, 1-12 rows.

        At the limits a label is 31.7 x 23.1 mm: the QR code stays at least 15 mm wide
        (about 0.4 mm modules for a 45-character URL) and the code text at least 5.5 pt.
        """
        columns = DEFAULT_COLUMNS if columns is None else columns
        rows = DEFAULT_ROWS if rows is None else rows
        for field, value, low, high in (
            ("columns", columns, MIN_COLUMNS, MAX_COLUMNS),
            ("rows", rows, MIN_ROWS, MAX_ROWS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ExportError(
                    CampaignErrorCode.INVALID_GRID,
                    _("A label sheet has %(low)s to %(high)s %(what)s.")
                    % {"low": low, "high": high, "what": field},
                    field,
                )
        return cls(columns, rows)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def pages(self, labels: int) -> int:
        return max(1, math.ceil(labels / self.per_page))

    def as_options(self) -> dict[str, int]:
        return {"columns": self.columns, "rows": self.rows}


@dataclass(frozen=True)
class LabelLayout:
    """Where things go in one label cell, in points, from the cell's bottom-left corner."""

    cell_width: float
    cell_height: float
    qr_side: float  # the QR code including its quiet zone
    qr_x: float
    qr_y: float
    font_size: float
    text_y: float  # baseline of the code text

    @classmethod
    def for_grid(cls, grid: Grid) -> LabelLayout:
        cell_width = (PAGE_WIDTH - 2 * PAGE_MARGIN) / grid.columns
        cell_height = (PAGE_HEIGHT - 2 * PAGE_MARGIN) / grid.rows
        inner_width = cell_width - 2 * LABEL_PADDING
        sample = pretty("0" * 18)
        font_size = min(MAX_CODE_FONT_SIZE, 0.9 * inner_width / stringWidth(sample, CODE_FONT, 1))
        text_height = font_size * 0.8  # cap height and a little: digits and capitals only
        qr_side = min(inner_width, cell_height - 2 * LABEL_PADDING - TEXT_GAP - text_height)
        block = qr_side + TEXT_GAP + text_height
        bottom = (cell_height - block) / 2
        return cls(
            cell_width=cell_width,
            cell_height=cell_height,
            qr_side=qr_side,
            qr_x=(cell_width - qr_side) / 2,
            qr_y=bottom + text_height + TEXT_GAP,
            font_size=font_size,
            text_y=bottom + font_size * 0.1,
        )


def _draw_crop_marks(canvas: Canvas, grid: Grid, layout: LabelLayout) -> None:
    """Short light marks in the page margin where the label boundaries are, for cutting."""
    canvas.saveState()
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.25)
    left, bottom = PAGE_MARGIN, PAGE_MARGIN
    right, top = PAGE_WIDTH - PAGE_MARGIN, PAGE_HEIGHT - PAGE_MARGIN
    for column in range(grid.columns + 1):
        x = left + column * layout.cell_width
        canvas.line(x, top + 1 * mm, x, top + 1 * mm + CROP_MARK)
        canvas.line(x, bottom - 1 * mm, x, bottom - 1 * mm - CROP_MARK)
    for row in range(grid.rows + 1):
        y = bottom + row * layout.cell_height
        canvas.line(left - 1 * mm, y, left - 1 * mm - CROP_MARK, y)
        canvas.line(right + 1 * mm, y, right + 1 * mm + CROP_MARK, y)
    canvas.restoreState()


def draw_label(canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str) -> None:
    """One label at cell origin ``(x, y)``: the QR code as vector rectangles, the code under it."""
    modules = make_qr(code).modules
    count = len(modules)
    module = layout.qr_side / (count + 2 * QR_BORDER)
    canvas.saveState()
    # Module units, y downwards, origin at the symbol's top-left (inside the quiet zone).
    canvas.translate(
        x + layout.qr_x + QR_BORDER * module, y + layout.qr_y + layout.qr_side - QR_BORDER * module
    )
    canvas.scale(module, -module)
    # One path of integer rectangles ("x y w h re"), filled once by the non-zero rule
    # ("f"): abutting runs merge without hairline seams. The operators are written
    # directly: reportlab's path.rect formats every number as a float, which cost more
    # than all the drawing here (see docs/benchmarks.md).
    canvas.addLiteral(
        " ".join(f"{column} {row} {length} 1 re" for row, column, length in dark_runs(modules))
        + " f"
    )
    canvas.restoreState()
    canvas.drawCentredString(x + layout.cell_width / 2, y + layout.text_y, pretty(code))


def write_pdf(
    rows: CodeRows,
    out: IO[bytes],
    *,
    total: int,
    grid: Grid | None = None,
    title: str = "",
    progress: Progress | None = None,
) -> int:
    """A4 pages of ``grid`` labels, left to right then top to bottom, in serial order.

    ``total`` (the number of rows) only feeds the "page p of n" footer.
    """
    grid = grid or Grid()
    layout = LabelLayout.for_grid(grid)
    pages = grid.pages(total)
    canvas = Canvas(out, pagesize=A4, pageCompression=1, invariant=0)
    canvas.setTitle(title or _("Scan code labels"))
    canvas.setCreator("loyalty campaigns.exports")
    done = 0
    page_first = None
    page_last = 0

    def start_page() -> None:
        canvas.setFont(CODE_FONT, layout.font_size)
        canvas.setFillGray(0)

    def finish_page(page: int) -> None:
        _draw_crop_marks(canvas, grid, layout)
        canvas.setFont(FOOTER_FONT, 6)
        canvas.setFillGray(0.45)
        canvas.drawString(
            PAGE_MARGIN,
            FOOTER_Y,
            f"{title}  serials {page_first}-{page_last}  page {page} of {pages}".strip(),
        )
        canvas.showPage()

    start_page()
    for serial, code in rows:
        slot = done % grid.per_page
        if slot == 0 and done:
            finish_page(done // grid.per_page)
            start_page()
        if slot == 0:
            page_first = serial
        column, row = slot % grid.columns, slot // grid.columns
        x = PAGE_MARGIN + column * layout.cell_width
        y = PAGE_HEIGHT - PAGE_MARGIN - (row + 1) * layout.cell_height
        draw_label(canvas, layout, x, y, code)
        page_last = serial
        done += 1
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)
    if done:
        finish_page(math.ceil(done / grid.per_page))
    else:
        canvas.showPage()
    canvas.save()
    if progress:
        progress(done)
    return done


# --- Rendering a batch --------------------------------------------------------------


def batch_codes(batch: CodeBatch, chunk_size: int = FETCH_CHUNK) -> Iterator[tuple[int, str]]:
    """The batch's ``(serial, code)`` in serial order, ``chunk_size`` rows per query.

    Keyset pages on the ``(batch, serial)`` unique index rather than one server-side
    cursor: a 5,000,000-code ZIP takes hours, and no cursor or snapshot stays open
    for that long (nor does it need a session-pinned connection behind a pooler).
    """
    after = -1
    while True:
        page = list(
            Code.objects.filter(batch_id=batch.pk, serial__gt=after)
            .order_by("serial")
            .values_list("serial", "code")[:chunk_size]
        )
        if not page:
            return
        yield from page
        after = page[-1][0]


def pdf_labels_per_file(grid: Grid, limit: int = PDF_LABELS_PER_FILE) -> int:
    """Labels in one PDF file: ``limit`` rounded down to whole pages (at least one page)."""
    return max(grid.per_page, limit // grid.per_page * grid.per_page)


def pdf_is_split(size: int, grid: Grid, limit: int = PDF_LABELS_PER_FILE) -> bool:
    return size > pdf_labels_per_file(grid, limit)


def output_extension(fmt: str, size: int, grid: Grid | None) -> str:
    """The file's extension: a PDF export too big for one file is a ZIP of PDF volumes."""
    if fmt == ExportFormat.PDF and pdf_is_split(size, grid or Grid()):
        return "zip"
    return str(fmt)


def write_pdf_volumes(
    rows: CodeRows,
    out: IO[bytes],
    *,
    total: int,
    grid: Grid | None = None,
    title: str = "",
    progress: Progress | None = None,
    labels_per_file: int = PDF_LABELS_PER_FILE,
) -> int:
    """A ZIP of PDF label sheets of at most ``labels_per_file`` labels each (whole pages).

    Memory is bounded by one volume: each is rendered to a temporary file, copied
    into the archive (stored: PDF pages are compressed already) and dropped.
    """
    grid = grid or Grid()
    per_file = pdf_labels_per_file(grid, labels_per_file)
    volumes = max(1, math.ceil(total / per_file))
    source = iter(rows)
    done = 0
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for volume in range(1, volumes + 1):
            first = next(source, None)
            if first is None:
                break
            chunk = itertools.chain([first], itertools.islice(source, per_file - 1))
            offset = done

            def volume_progress(count: int, offset: int = offset) -> None:
                if progress:
                    progress(offset + count)

            with tempfile.TemporaryFile() as scratch:
                done += write_pdf(
                    chunk,
                    scratch,
                    total=min(per_file, total - offset),
                    grid=grid,
                    title=f"{title} volume {volume} of {volumes}".strip(),
                    progress=volume_progress,
                )
                scratch.seek(0)
                name = f"labels-{volume:03d}-of-{volumes:03d}.pdf"
                with archive.open(zipfile.ZipInfo(name, _zip_timestamp()), "w") as member:
                    shutil.copyfileobj(scratch, member)
    if progress:
        progress(done)
    return done


def _zip_timestamp() -> tuple[int, int, int, int, int, int]:
    now = timezone.localtime()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def render_batch(
    batch: CodeBatch,
    fmt: str,
    out: IO[bytes],
    *,
    grid: Grid | None = None,
    progress: Progress | None = None,
) -> int:
    """Write ``batch`` as ``fmt`` to ``out`` (run in the merchant's schema). Returns codes written.

    The PDF of a batch bigger than ``PDF_LABELS_PER_FILE`` is a ZIP of PDF volumes
    (see ``output_extension``).
    """
    ensure_exportable(batch, fmt)
    rows = batch_codes(batch)
    if fmt == ExportFormat.CSV:
        return write_csv(rows, out, progress)
    if fmt == ExportFormat.ZIP:
        return write_zip(rows, out, progress)
    grid = grid or Grid()
    pdf = write_pdf_volumes if pdf_is_split(batch.size, grid) else write_pdf
    return pdf(rows, out, total=batch.size, grid=grid, title=f"Batch {batch.pk}", progress=progress)


def ensure_exportable(batch: CodeBatch, fmt: str) -> None:
    if fmt not in ExportFormat.values:
        raise ExportError(
            CampaignErrorCode.INVALID_EXPORT_FORMAT, _("Unknown export format."), "format"
        )
    if batch.status != BatchStatus.READY:
        raise ExportError(
            CampaignErrorCode.BATCH_NOT_READY,
            _("Only a ready batch can be exported; this one is %(status)s.")
            % {"status": batch.get_status_display().lower()},
            "batchId",
        )


# --- Rendering an export into storage -------------------------------------------


def export_grid(export: BatchExport) -> Grid | None:
    if export.format != ExportFormat.PDF:
        return None
    return Grid.of(export.options.get("columns"), export.options.get("rows"))


def run_export(export_id: int) -> BatchExport:
    """Render an export into storage; what the Celery task runs (in the merchant's schema).

    Safe to run again: a ready export is left alone; a pending, running (its worker
    died) or failed one is rendered from the start. Progress (codes written) is saved
    every ``PROGRESS_EVERY`` codes.
    """
    export = BatchExport.objects.select_related("batch").get(pk=export_id)
    if export.status == ExportStatus.READY:
        return export
    rows = BatchExport.objects.filter(pk=export.pk)
    rows.update(status=ExportStatus.RUNNING, progress=0, error="", started_at=timezone.now())

    def progress(done: int) -> None:
        rows.update(progress=min(done, export.total))

    try:
        grid = export_grid(export)
        extension = output_extension(export.format, export.batch.size, grid)
        # Unguessable, in case the storage is ever served publicly: the signed link is the key.
        name = (
            f"exports/{connection.schema_name}/batch-{export.batch_id}/"
            f"{export.pk}-{secrets.token_hex(8)}.{extension}"
        )
        with tempfile.TemporaryFile() as scratch:
            written = render_batch(
                export.batch, export.format, scratch, grid=grid, progress=progress
            )
            size = scratch.tell()
            scratch.seek(0)
            name = default_storage.save(name, File(scratch, name=name))
    except Exception as exc:
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        rows.update(status=ExportStatus.FAILED, error=message[:500], finished_at=timezone.now())
        raise
    rows.update(
        status=ExportStatus.READY,
        progress=written,
        file_name=name,
        file_size=size,
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export
