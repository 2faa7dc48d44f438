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
from typing import IO, Any

import qrcode
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image
from qrcode.image.svg import SvgPathImage
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import BatchExport, BatchStatus, Code, CodeBatch, ExportFormat, ExportStatus
from campaigns.scan.codes import pretty, scan_url
from campaigns.scan.hidden import Issuer
from core.db import connection, replica
from core.errors import DomainError
from tenants.branding import logo_bytes

Progress = Callable[[int], None]
CodeRows = Iterable[tuple[int, str]]
# A code's hidden verification code, made as the export writes it (campaigns.scan.hidden).
HiddenCodes = Callable[[str], str]

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


def write_csv(
    rows: CodeRows,
    out: IO[bytes],
    progress: Progress | None = None,
    hidden: HiddenCodes | None = None,
) -> int:
    """``code,url`` with a header row, UTF-8, in serial order (and ``hidden_code`` when the
    export issues them). Returns the codes written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(["code", "url", "hidden_code"] if hidden else ["code", "url"])
        done = 0
        for _serial, code in rows:
            if hidden:
                writer.writerow([code, scan_url(code), hidden(code)])
            else:
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


# --- PDF labels -------------------------------------------------------------------
#
# A label is data: a QR code and a list of text lines (``LabelContent``: the brand, the
# offer, the code, the product, and any line a later feature adds), laid out once per
# sheet (``LabelLayout.plan``) and drawn per code. Two arrangements, chosen by the
# label's shape: *stacked* (brand above the QR code, the other lines under it) for a
# squarish label, *side by side* (QR code on the left, the lines in a column on its
# right) for a wide one, such as the 40 x 30 mm roll label. A line that does not fit
# shrinks to its smallest size, wraps (at spaces, hyphens, between Chinese
# characters) up to its line count, and is dropped, least important first, if the
# label is still too small (the code and the offer are never dropped).
# The merchant's logo, if any, sits left of the brand's name inside the name's own
# line box (``LabelLogo``, ``PlacedLine.logo_box``; decision 0263), so it can never
# reach the QR code or its quiet zone; it goes when the brand's line is dropped.

PAGE_WIDTH, PAGE_HEIGHT = A4
PAGE_MARGIN = 10 * mm  # crop-safe: nothing printed closer to the paper's edge (footer aside)
LABEL_PADDING = 2 * mm  # inside each A4 label, around the text
# Thermal printers cannot print right up to the label's edge; the QR code's own quiet
# zone may reach it (it is white), text stays this far inside.
ROLL_PADDING = 1.5 * mm
TEXT_GAP = 0.5 * mm
LEADING = 1.15  # line height / font size
CODE_FONT = "Courier-Bold"  # monospaced: the four groups of the code line up on every label
# A CID font every PDF reader has (as the questionnaire poster): Chinese without
# embedding a font file, so a label sheet stays small.
TEXT_FONT = "STSong-Light"
MAX_CODE_FONT_SIZE = 10.0
FOOTER_Y = 5 * mm
CROP_MARK = 3 * mm
# Below this the QR code of a 45-character URL has modules under 0.4 mm, about three
# dots of a 203 dpi thermal printer: optional lines make room before that happens.
MIN_QR_SIDE = 15 * mm
# A label at least this much wider than high is laid out side by side.
SIDE_BY_SIDE_RATIO = 1.25
SIDE_QR_SHARE = 0.62  # at most this share of a side-by-side label's width is QR code
MIN_COLUMNS, MAX_COLUMNS = 1, 6
MIN_ROWS, MAX_ROWS = 1, 12
DEFAULT_COLUMNS, DEFAULT_ROWS = 4, 6
# reportlab holds a document's pages in memory until it is saved (about 5 KB per label,
# 115 KB per page of 24, measured), so a bigger batch's PDF export is a ZIP of PDF
# volumes of this many labels each: memory stays bounded by one volume (~120 MB on top
# of the process's ~75 MB).
PDF_LABELS_PER_FILE = 25_000
CODE_PLACEHOLDER = "{code}"
# A label's hidden code, printed in a marked box that the printer covers with a
# scratch-off coating. Its sample (previews, fitting) is as wide as any secret.
HIDDEN_PLACEHOLDER = "{hidden}"
HIDDEN_SAMPLE = "88888888"
HIDDEN_BOX_PADDING = 1.5 * mm
# The merchant's logo (tenants.branding) goes in a box left of the brand's name: as
# high as the name's lines, at most LOGO_MAX_ASPECT times as wide as one line at the
# name's largest size (a wide word mark stays legible, a square one takes a square).
LOGO_GAP = 0.8 * mm
LOGO_MAX_ASPECT = 3.0
LOGO_MAX_SHARE = 0.4  # of the line's width, on a narrow label (the name stays readable)
# Embedded once per PDF (reportlab keeps one image object per distinct image) in gray,
# at most this many pixels a side: at 12 mm, the widest box, that is 300 dpi and more.
LOGO_MAX_PX = 160


@dataclass(frozen=True)
class LabelStock:
    """What the labels are printed on: A4 sheets cut into a grid, or a roll of labels of one
    size for a thermal label printer, one label per PDF page (the printer's driver feeds
    one label a page)."""

    key: str
    width: float = 0.0  # a roll's label, in points; 0 for A4 (the grid decides)
    height: float = 0.0

    @property
    def is_roll(self) -> bool:
        return self.width > 0


A4_SHEET = LabelStock("a4")
LABEL_STOCKS: dict[str, LabelStock] = {
    stock.key: stock
    for stock in (
        A4_SHEET,
        LabelStock("roll_30x20", 30 * mm, 20 * mm),
        LabelStock("roll_40x30", 40 * mm, 30 * mm),
        LabelStock("roll_50x30", 50 * mm, 30 * mm),
    )
}


@dataclass(frozen=True)
class Grid:
    """Where labels go: ``columns`` x ``rows`` on an A4 page, or one label per page of a roll."""

    columns: int = DEFAULT_COLUMNS
    rows: int = DEFAULT_ROWS
    stock: LabelStock = A4_SHEET

    @classmethod
    def of(cls, columns: int | None, rows: int | None, stock: str | None = None) -> Grid:
        """A grid from optional arguments; ``INVALID_GRID`` outside 1-6 columns, 1-12 rows,
        ``INVALID_LABEL_STOCK`` for a stock we do not know. A roll ignores columns and rows.

        At the A4 limits a label is 31.7 x 23.1 mm: the QR code stays at least 15 mm wide
        (about 0.4 mm modules for a 45-character URL) and the code text at least 4 pt.
        """
        chosen = LABEL_STOCKS.get(stock or A4_SHEET.key)
        if chosen is None:
            raise ExportError(
                CampaignErrorCode.INVALID_LABEL_STOCK, _("Unknown label stock."), "stock"
            )
        if chosen.is_roll:
            return cls(1, 1, chosen)
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
        return cls(columns, rows, chosen)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def pages(self, labels: int) -> int:
        return max(1, math.ceil(labels / self.per_page))

    @property
    def page_size(self) -> tuple[float, float]:
        return (self.stock.width, self.stock.height) if self.stock.is_roll else A4

    @property
    def margin(self) -> float:
        return 0.0 if self.stock.is_roll else PAGE_MARGIN

    @property
    def label_size(self) -> tuple[float, float]:
        if self.stock.is_roll:
            return self.stock.width, self.stock.height
        return (
            (PAGE_WIDTH - 2 * PAGE_MARGIN) / self.columns,
            (PAGE_HEIGHT - 2 * PAGE_MARGIN) / self.rows,
        )

    def label_origin(self, slot: int) -> tuple[float, float]:
        """The bottom-left corner of the ``slot``-th label of a page (left to right, top down)."""
        width, height = self.label_size
        column, row = slot % self.columns, slot // self.columns
        return self.margin + column * width, self.page_size[1] - self.margin - (row + 1) * height

    def as_options(self) -> dict[str, Any]:
        if self.stock.is_roll:
            return {"stock": self.stock.key}
        return {"stock": self.stock.key, "columns": self.columns, "rows": self.rows}


@dataclass(frozen=True)
class LabelLine:
    """One line of text on a label. ``{code}`` in ``text`` is each label's own code."""

    text: str
    font: str = TEXT_FONT
    max_size: float = 8.0
    min_size: float = 4.0
    max_lines: int = 1  # wrapped into at most this many lines
    # Dropped (lowest first) when the label is too small for every line; None: never.
    priority: int | None = 0
    above: bool = False  # stacked labels: above the QR code
    gray: float = 0.0
    beside_logo: bool = False  # the brand: the logo, if any, goes left of it

    @property
    def varies(self) -> bool:
        return CODE_PLACEHOLDER in self.text or self.hidden

    @property
    def hidden(self) -> bool:
        """The hidden code's line: drawn in its marked scratch-off box."""
        return self.text == HIDDEN_PLACEHOLDER

    def text_for(self, code: str, hidden: str | None = None) -> str:
        if self.hidden:
            return hidden or HIDDEN_SAMPLE
        return self.text.replace(CODE_PLACEHOLDER, pretty(code)) if self.varies else self.text


@dataclass(frozen=True)
class LabelLogo:
    """The merchant's logo as labels print it: gray on white (transparency flattened:
    thermal printers print black only), at most ``LOGO_MAX_PX`` a side."""

    image: Image.Image
    reader: ImageReader

    @classmethod
    def from_bytes(cls, data: bytes | None) -> LabelLogo | None:
        """None for no logo, or one Pillow cannot read (validated at upload already:
        a label sheet is never refused for its logo)."""
        if not data:
            return None
        try:
            with Image.open(io.BytesIO(data)) as source:
                rgba = source.convert("RGBA")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return None
        flat = Image.new("RGBA", rgba.size, "white")
        flat.alpha_composite(rgba)
        gray = flat.convert("L")
        gray.thumbnail((LOGO_MAX_PX, LOGO_MAX_PX), Image.Resampling.LANCZOS)
        return cls(gray, ImageReader(gray))

    @property
    def aspect(self) -> float:
        width, height = self.image.size
        return width / height

    def fit(self, width: float, height: float) -> tuple[float, float]:
        """The logo's size in a ``width`` x ``height`` box, its aspect kept."""
        scale = min(width / self.aspect, height)
        return scale * self.aspect, scale

    def reserve(self, line: LabelLine, room: float) -> float:
        """The width kept beside ``line`` for the logo, its box and the gap, in a line
        ``room`` wide: the text keeps at least ``1 - LOGO_MAX_SHARE`` of it."""
        box = min(self.aspect, LOGO_MAX_ASPECT) * line.max_size * LEADING
        return min(box, LOGO_MAX_SHARE * room) + LOGO_GAP


@dataclass(frozen=True)
class LabelContent:
    """The text lines of every label of a print run, in reading order, and the logo
    printed beside the brand (the line marked ``beside_logo``), if any."""

    lines: tuple[LabelLine, ...]
    logo: LabelLogo | None = None

    @classmethod
    def for_batch(
        cls,
        *,
        brand: str,
        points: int,
        name: str = "",
        sku: str = "",
        extra: tuple[LabelLine, ...] = (),
        hidden_code: bool = False,
        logo: LabelLogo | None = None,
    ) -> LabelContent:
        """What sells: the brand (and its logo), the offer ("扫码领 5 积分"), the code,
        the product.

        ``extra`` lines (e.g. a verification line) come after the product, before the
        least important line is dropped on a small label.
        """
        product = " · ".join(part for part in (name, sku) if part)
        lines = [
            LabelLine(
                brand,
                max_size=9,
                min_size=5,
                max_lines=2,
                priority=3,
                above=True,
                beside_logo=True,
            ),
            LabelLine(
                _("Scan to earn %(points)s points") % {"points": f"{points:,}"},
                max_size=10,
                min_size=5,
                max_lines=2,
                priority=None,
            ),
            LabelLine(
                CODE_PLACEHOLDER,
                font=CODE_FONT,
                max_size=MAX_CODE_FONT_SIZE,
                min_size=4,
                max_lines=2,
                priority=None,
            ),
            *extra,
        ]
        if hidden_code:
            # Never dropped: a label of such a batch without its box cannot be verified.
            lines.append(
                LabelLine(
                    _("Scratch off to check it is genuine"),
                    max_size=6,
                    min_size=4,
                    priority=2,
                )
            )
            lines.append(
                LabelLine(HIDDEN_PLACEHOLDER, font=CODE_FONT, max_size=9, min_size=6, priority=None)
            )
        if product:
            lines.append(
                LabelLine(product, max_size=6, min_size=4, max_lines=2, priority=1, gray=0.3)
            )
        return cls(tuple(line for line in lines if line.text), logo)

    @classmethod
    def code_only(cls) -> LabelContent:
        """The code under its QR code and nothing else (renderers called without content)."""
        return cls(
            (
                LabelLine(
                    CODE_PLACEHOLDER,
                    font=CODE_FONT,
                    max_size=MAX_CODE_FONT_SIZE,
                    min_size=4,
                    max_lines=2,
                    priority=None,
                ),
            )
        )


def _ensure_fonts() -> None:
    if TEXT_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(TEXT_FONT))


def _pieces(text: str) -> list[str]:
    """``text`` cut after each place a line may break: a space, a hyphen, a CJK character."""
    pieces: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in " -" or ord(char) >= 0x2E80:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking of ``text`` at ``size`` into lines at most ``width`` wide
    (a piece wider than ``width`` alone still gets a line of its own)."""
    lines: list[str] = []
    current = ""
    for piece in _pieces(text):
        if current and stringWidth((current + piece).rstrip(), font, size) > width:
            lines.append(current.rstrip())
            current = piece
        else:
            current += piece
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def _truncate(text: str, font: str, size: float, width: float) -> str:
    while len(text) > 1 and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class PlacedLine:
    """A line laid out: its size and the baseline of its first (wrapped) line, centred on
    ``x`` (points from the label's left), within ``width``."""

    line: LabelLine
    size: float
    x: float
    width: float
    baseline: float
    segments: tuple[str, ...]  # wrapped text, for a line the same on every label
    logo_size: tuple[float, float] | None = None  # the logo drawn left of the text

    @property
    def logo_box(self) -> tuple[float, float, float, float] | None:
        """``(x, y, width, height)`` of the logo, from the label's bottom-left corner: the
        logo and the text are centred together on ``x``, the logo in the text's height."""
        if self.logo_size is None:
            return None
        width, height = self.logo_size
        text_width = max(stringWidth(s, self.line.font, self.size) for s in self.segments)
        left = self.x - (width + LOGO_GAP + text_width) / 2
        top = self.baseline + self.size * 0.88
        return left, top - (self.height + height) / 2, width, height

    @property
    def text_x(self) -> float:
        """Where the text is centred: ``x``, or right of the logo."""
        box = self.logo_box
        if box is None:
            return self.x
        text_width = max(stringWidth(s, self.line.font, self.size) for s in self.segments)
        return box[0] + box[2] + LOGO_GAP + text_width / 2

    @property
    def height(self) -> float:
        return self.size * LEADING * len(self.segments)

    def segments_for(self, code: str, hidden: str | None = None) -> list[str] | tuple[str, ...]:
        if not self.line.varies:
            return self.segments
        return wrap(self.line.text_for(code, hidden), self.line.font, self.size, self.width)


def _fit(line: LabelLine, width: float, sample: str) -> tuple[float, tuple[str, ...]]:
    """The size and wrapped text of ``line`` in ``width``: one line if it fits at 70% of
    its largest size or more (a wrapped offer reads worse than a smaller one), else the
    largest size at which it fits in ``max_lines`` lines; at the smallest size a text
    still too long is cut with an ellipsis (a long brand name; never the code)."""
    text = line.text_for(sample)
    if line.hidden:
        width -= 2 * HIDDEN_BOX_PADDING  # the box's frame stays inside the label too

    def fits(size: float, most: int) -> tuple[str, ...] | None:
        segments = wrap(text, line.font, size, width)
        if len(segments) <= most and all(
            stringWidth(segment, line.font, size) <= width for segment in segments
        ):
            return tuple(segments)
        return None

    one_line_floor = max(line.min_size, 0.7 * line.max_size)
    for most, floor in ((1, one_line_floor), (line.max_lines, line.min_size)):
        size = line.max_size
        while size >= floor:
            segments = fits(size, most)
            if segments is not None:
                return size, segments
            size -= 0.25
    size = line.min_size
    wrapped = wrap(text, line.font, size, width)
    if line.varies:
        return size, tuple(wrapped)
    kept = wrapped[: line.max_lines]
    if len(wrapped) > len(kept) or stringWidth(kept[-1], line.font, size) > width:
        kept[-1] = _truncate(kept[-1], line.font, size, width)
    return size, tuple(kept)


@dataclass(frozen=True)
class LabelLayout:
    """Where things go in one label, in points, from the label's bottom-left corner."""

    cell_width: float
    cell_height: float
    qr_side: float  # the QR code including its quiet zone
    qr_x: float
    qr_y: float
    lines: tuple[PlacedLine, ...]
    logo: LabelLogo | None = None

    @property
    def font_size(self) -> float:
        """The code's size (what the plain baselines of bench/labels.py draw)."""
        return next((p.size for p in self.lines if p.line.varies), MAX_CODE_FONT_SIZE)

    @property
    def text_y(self) -> float:
        return next((p.baseline for p in self.lines if p.line.varies), 0.0)

    @classmethod
    def for_grid(cls, grid: Grid, content: LabelContent | None = None) -> LabelLayout:
        """The layout of ``content`` on ``grid``'s label, dropping optional lines, least
        important first, until the QR code keeps ``MIN_QR_SIDE`` and the text fits."""
        _ensure_fonts()
        content = content or LabelContent.code_only()
        lines = list(content.lines)
        while True:
            layout = cls._plan(grid, tuple(lines), content.logo)
            droppable = [line for line in lines if line.priority is not None]
            if layout is not None or not droppable:
                return layout or cls._plan(grid, tuple(lines), content.logo, force=True)  # type: ignore[return-value]
            lines.remove(min(droppable, key=lambda line: line.priority or 0))

    @classmethod
    def _plan(
        cls,
        grid: Grid,
        lines: tuple[LabelLine, ...],
        logo: LabelLogo | None = None,
        *,
        force: bool = False,
    ) -> LabelLayout | None:
        width, height = grid.label_size
        padding = ROLL_PADDING if grid.stock.is_roll else LABEL_PADDING
        sample = "0" * 18

        def fit(line: LabelLine, room: float) -> tuple[LabelLine, float, tuple[str, ...]]:
            # The brand's text fits in what the logo's box leaves of the line's width.
            if logo is not None and line.beside_logo:
                room -= logo.reserve(line, room)
            return (line, *_fit(line, room, sample))

        def place(
            line: LabelLine, size: float, x: float, room: float, top: float, segs: tuple[str, ...]
        ) -> PlacedLine:
            logo_size = None
            if logo is not None and line.beside_logo:
                # As high as the text's lines, and the logo, the gap and the text within
                # the line's width: never over the QR code or another line.
                text = max(stringWidth(segment, line.font, size) for segment in segs)
                box = min(logo.reserve(line, room), room - text) - LOGO_GAP
                if box > 0:
                    logo_size = logo.fit(box, size * LEADING * len(segs))
            return PlacedLine(line, size, x, room, top - size * 0.88, segs, logo_size)

        if width >= SIDE_BY_SIDE_RATIO * height:
            qr_side = min(height, SIDE_QR_SHARE * width)
            column_x = qr_side + TEXT_GAP
            column_width = width - padding - column_x
            fitted = [fit(line, column_width) for line in lines]
            text_height = sum(size * LEADING * len(segs) for _line, size, segs in fitted)
            if (text_height > height - 2 * padding or qr_side < MIN_QR_SIDE) and not force:
                return None
            top = (height + text_height) / 2
            placed = []
            for line, size, segments in fitted:
                placed.append(
                    place(line, size, column_x + column_width / 2, column_width, top, segments)
                )
                top -= size * LEADING * len(segments)
            return cls(width, height, qr_side, 0.0, (height - qr_side) / 2, tuple(placed), logo)
        inner = width - 2 * padding
        fitted = [fit(line, inner) for line in lines]
        above = [item for item in fitted if item[0].above]
        below = [item for item in fitted if not item[0].above]
        above_height = sum(size * LEADING * len(segs) for _line, size, segs in above)
        below_height = sum(size * LEADING * len(segs) for _line, size, segs in below)
        qr_side = min(width, height - 2 * padding - above_height - below_height)
        if qr_side < MIN_QR_SIDE and not force:
            return None
        block = above_height + qr_side + below_height
        top = (height + block) / 2
        placed = []
        for line, size, segments in above:
            placed.append(place(line, size, width / 2, inner, top, segments))
            top -= size * LEADING * len(segments)
        qr_y = top - qr_side
        top = qr_y
        for line, size, segments in below:
            placed.append(place(line, size, width / 2, inner, top, segments))
            top -= size * LEADING * len(segments)
        return cls(width, height, qr_side, (width - qr_side) / 2, qr_y, tuple(placed), logo)


def _draw_crop_marks(canvas: Canvas, grid: Grid) -> None:
    """Short light marks in the page margin where the label boundaries are, for cutting."""
    cell_width, cell_height = grid.label_size
    canvas.saveState()
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.25)
    left, bottom = PAGE_MARGIN, PAGE_MARGIN
    right, top = PAGE_WIDTH - PAGE_MARGIN, PAGE_HEIGHT - PAGE_MARGIN
    for column in range(grid.columns + 1):
        x = left + column * cell_width
        canvas.line(x, top + 1 * mm, x, top + 1 * mm + CROP_MARK)
        canvas.line(x, bottom - 1 * mm, x, bottom - 1 * mm - CROP_MARK)
    for row in range(grid.rows + 1):
        y = bottom + row * cell_height
        canvas.line(left - 1 * mm, y, left - 1 * mm - CROP_MARK, y)
        canvas.line(right + 1 * mm, y, right + 1 * mm + CROP_MARK, y)
    canvas.restoreState()


def draw_qr(canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str) -> None:
    """The QR code of ``code`` as vector rectangles in the label at ``(x, y)``."""
    modules = make_qr(code).modules
    count = len(modules)
    module = layout.qr_side / (count + 2 * QR_BORDER)
    canvas.saveState()
    # Module units, y downwards, origin at the symbol's top-left (inside the quiet zone).
    canvas.translate(
        x + layout.qr_x + QR_BORDER * module, y + layout.qr_y + layout.qr_side - QR_BORDER * module
    )
    canvas.scale(module, -module)
    canvas.setFillGray(0)  # black, whatever the previous label's last line was
    # One path of integer rectangles ("x y w h re"), filled once by the non-zero rule
    # ("f"): abutting runs merge without hairline seams. The operators are written
    # directly: reportlab's path.rect formats every number as a float, which cost more
    # than all the drawing here (see docs/benchmarks.md).
    canvas.addLiteral(
        " ".join(f"{column} {row} {length} 1 re" for row, column, length in dark_runs(modules))
        + " f"
    )
    canvas.restoreState()


def draw_label(
    canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str, hidden: str | None = None
) -> None:
    """One label at origin ``(x, y)``: the QR code, then each text line, centred (the
    brand's with the logo on its left); the hidden code (``hidden``, or a sample) in its
    marked box."""
    draw_qr(canvas, layout, x, y, code)
    for placed in layout.lines:
        box = placed.logo_box
        if box is not None and layout.logo is not None:
            # The same reader on every label: reportlab embeds the image once per PDF.
            canvas.drawImage(layout.logo.reader, x + box[0], y + box[1], box[2], box[3])
        canvas.setFont(placed.line.font, placed.size)
        canvas.setFillGray(placed.line.gray)
        baseline = y + placed.baseline
        text_x = placed.text_x
        for segment in placed.segments_for(code, hidden):
            if placed.line.hidden:
                _draw_hidden_box(canvas, x + text_x, baseline, placed.size, segment)
            canvas.drawCentredString(x + text_x, baseline, segment)
            baseline -= placed.size * LEADING


def _draw_hidden_box(
    canvas: Canvas, centre: float, baseline: float, size: float, text: str
) -> None:
    """The scratch-off area: a dashed frame the printer's coating must cover, around the
    secret with room to spare (the box, not the digits, is what the coating is aimed at)."""
    width = stringWidth(HIDDEN_SAMPLE, CODE_FONT, size) + 2 * HIDDEN_BOX_PADDING
    width = max(width, stringWidth(text, CODE_FONT, size) + 2 * HIDDEN_BOX_PADDING)
    canvas.saveState()
    canvas.setStrokeGray(0.35)
    canvas.setLineWidth(0.4)
    canvas.setDash(1.5, 1)
    # Within the line's own height (LEADING): digits stand on the baseline, no descent.
    canvas.rect(centre - width / 2, baseline - size * 0.2, width, size * 1.1, stroke=1, fill=0)
    canvas.restoreState()


def write_pdf(
    rows: CodeRows,
    out: IO[bytes],
    *,
    total: int,
    grid: Grid | None = None,
    title: str = "",
    content: LabelContent | None = None,
    footer: str = "",
    progress: Progress | None = None,
    hidden: HiddenCodes | None = None,
) -> int:
    """Pages of ``grid`` labels, left to right then top to bottom, in serial order.

    On A4 each page has crop marks and a footer: ``footer`` (the brand and batch), the
    serials on the page and "page p of n" (``total``, the number of rows, gives n). A
    roll's pages are single labels, with neither.
    """
    grid = grid or Grid()
    layout = LabelLayout.for_grid(grid, content)
    pages = grid.pages(total)
    canvas = Canvas(out, pagesize=grid.page_size, pageCompression=1, invariant=0)
    canvas.setTitle(title or _("Scan code labels"))
    canvas.setCreator("loyalty campaigns.exports")
    done = 0
    page_first = 0
    page_last = 0

    def finish_page(page: int) -> None:
        if not grid.stock.is_roll:
            _draw_crop_marks(canvas, grid)
            canvas.setFont(TEXT_FONT, 6)
            canvas.setFillGray(0.45)
            where = _("serials %(first)s-%(last)s · page %(page)s of %(pages)s") % {
                "first": page_first,
                "last": page_last,
                "page": page,
                "pages": pages,
            }
            canvas.drawString(PAGE_MARGIN, FOOTER_Y, " · ".join(p for p in (footer, where) if p))
        canvas.showPage()

    for serial, code in rows:
        slot = done % grid.per_page
        if slot == 0 and done:
            finish_page(done // grid.per_page)
        if slot == 0:
            page_first = serial
        x, y = grid.label_origin(slot)
        draw_label(canvas, layout, x, y, code, hidden(code) if hidden else None)
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


def preview_pdf(grid: Grid, content: LabelContent, *, footer: str = "") -> bytes:
    """One page of sample labels (codes of zeros) as the export would print them."""
    sample = [(serial, f"{serial:018d}") for serial in range(grid.per_page)]
    out = io.BytesIO()
    write_pdf(sample, out, total=len(sample), grid=grid, content=content, footer=footer)
    return out.getvalue()


# --- Rendering a batch --------------------------------------------------------------


def export_reader(export_id: int) -> str:
    """Who reads an export's codes, for the replica's read-your-writes (core.db.replica):
    the request pins it, the task reads as it."""
    return f"batch-export:{connection.schema_name}:{export_id}"


def batch_codes(
    batch: CodeBatch, chunk_size: int = FETCH_CHUNK, reader: str | None = None
) -> Iterator[tuple[int, str]]:
    """The batch's ``(serial, code)`` in serial order, ``chunk_size`` rows per query.

    Keyset pages on the ``(batch, serial)`` unique index rather than one server-side
    cursor: a 5,000,000-code ZIP takes hours, and no cursor or snapshot stays open
    for that long (nor does it need a session-pinned connection behind a pooler).
    Each page comes from the replica when it has replayed past ``reader``'s pin, else
    from the primary (a ready batch's codes never change, so pages may mix the two).
    """
    after = -1

    def page_after(db: str) -> list[tuple[int, str]]:
        return list(
            Code.objects.using(db)
            .filter(batch_id=batch.pk, serial__gt=after)
            .order_by("serial")
            .values_list("serial", "code")[:chunk_size]
        )

    while True:
        page = replica.read(page_after, reader)
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
    content: LabelContent | None = None,
    footer: str = "",
    progress: Progress | None = None,
    labels_per_file: int = PDF_LABELS_PER_FILE,
    hidden: HiddenCodes | None = None,
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

            which = _("volume %(volume)s of %(volumes)s") % {"volume": volume, "volumes": volumes}
            with tempfile.TemporaryFile() as scratch:
                done += write_pdf(
                    chunk,
                    scratch,
                    total=min(per_file, total - offset),
                    grid=grid,
                    title=" · ".join(part for part in (title, which) if part),
                    content=content,
                    footer=" · ".join(part for part in (footer, which) if part),
                    progress=volume_progress,
                    hidden=hidden,
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


def batch_title(batch: CodeBatch) -> str:
    """How a print run is named on its labels' pages: its name, else its number."""
    return batch.name or _("Batch %(number)s") % {"number": batch.pk}


def batch_label_content(
    batch: CodeBatch, brand: str, logo: LabelLogo | None = None
) -> LabelContent:
    """The labels of ``batch``: ``brand`` (the merchant's name) and its ``logo``, its
    offer, product and code."""
    return LabelContent.for_batch(
        brand=brand,
        points=batch.points_per_code,
        name=batch.name,
        sku=batch.sku,
        hidden_code=batch.hidden_code,
        logo=logo,
    )


def current_brand() -> str:
    """The name of the merchant whose schema is active (batches are rendered in it)."""
    return str(getattr(connection.tenant, "name", "") or "")


def current_logo() -> LabelLogo | None:
    """The logo of the merchant whose schema is active, ready to print, or None."""
    return LabelLogo.from_bytes(logo_bytes(getattr(connection, "tenant", None)))


def render_batch(
    batch: CodeBatch,
    fmt: str,
    out: IO[bytes],
    *,
    grid: Grid | None = None,
    progress: Progress | None = None,
    reader: str | None = None,
    hidden: HiddenCodes | None = None,
) -> int:
    """Write ``batch`` as ``fmt`` to ``out`` (run in the merchant's schema). Returns codes written.

    ``hidden``: the export issues the batch's hidden codes (CSV column, PDF box).

    The PDF of a batch bigger than ``PDF_LABELS_PER_FILE`` is a ZIP of PDF volumes
    (see ``output_extension``).
    """
    ensure_exportable(batch, fmt)
    if hidden is None:
        ensure_without_hidden_codes(batch, fmt)
    rows = batch_codes(batch, reader=reader)
    if fmt == ExportFormat.CSV:
        return write_csv(rows, out, progress, hidden)
    if fmt == ExportFormat.ZIP:
        return write_zip(rows, out, progress)
    grid = grid or Grid()
    pdf = write_pdf_volumes if pdf_is_split(batch.size, grid) else write_pdf
    brand = current_brand()
    title = batch_title(batch)
    return pdf(
        rows,
        out,
        total=batch.size,
        grid=grid,
        title=title,
        content=batch_label_content(batch, brand, current_logo()),
        footer=" · ".join(part for part in (brand, title, batch.sku) if part),
        progress=progress,
        hidden=hidden,
    )


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


def ensure_without_hidden_codes(batch: CodeBatch, fmt: str) -> None:
    """Refuse a CSV or PDF of a batch with hidden codes that does not issue them: its labels
    would print a sample in the scratch-off box (``manage.py export_batch``, for one). The
    issuing export (``service.claim_hidden_codes``) is the only one."""
    if batch.hidden_code and fmt != ExportFormat.ZIP:
        raise ExportError(
            CampaignErrorCode.HIDDEN_CODES_ISSUED,
            _(
                "This batch has hidden codes: only its first export in the console or the "
                "API prints them, once. Export a ZIP of the QR codes instead."
            ),
            "format",
        )


# --- Rendering an export into storage -------------------------------------------


def export_grid(export: BatchExport) -> Grid | None:
    if export.format != ExportFormat.PDF:
        return None
    options = export.options
    return Grid.of(options.get("columns"), options.get("rows"), options.get("stock"))


def run_export(export_id: int) -> BatchExport:
    """Render an export into storage; what the Celery task runs (in the merchant's schema).

    Safe to run again: a ready export is left alone; a pending, running (its worker
    died) or failed one is rendered from the start. Progress (codes written) is saved
    every ``PROGRESS_EVERY`` codes. The codes are read from the replica once it has
    replayed the request (``export_reader``); the export's own row, from the primary.
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
        language = export.options.get("language") or settings.LANGUAGE_CODE
        # The one export that issues the batch's hidden codes (campaigns.scan.hidden).
        issuer = Issuer() if export.batch.hidden_export_id == export.pk else None
        with tempfile.TemporaryFile() as scratch, translation.override(language):
            written = render_batch(
                export.batch,
                export.format,
                scratch,
                grid=grid,
                progress=progress,
                reader=export_reader(export.pk),
                hidden=issuer,
            )
            if issuer:
                issuer.flush()
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
