"""PDF label rendering rate: labels per second for a 10,000-code batch.

Renders the same in-memory codes (made with ``campaigns.scan.codes.new_code``, as a batch's
codes are) through the product's renderer and through baselines, each in a child
process of its own (so that each one's peak memory is its own), one after the other
in the same run:

* **ours** -- ``campaigns.exports.render.write_pdf``, the function the export task and
  ``manage.py export_batch`` call: qrcode's module matrix drawn as vector rectangles
  (one path per code, one rectangle per horizontal run), the label's lines as a batch
  has them (brand, offer "扫码领 5 积分", code, product), crop marks and footer; on the
  ``--stock`` given (A4 grid by default, or a roll: one label a page);
* **ours, path.rect** -- the same drawing through reportlab's public path API
  (``canvas.beginPath().rect(...)``) instead of writing the operators directly;
* **qrcode PIL images** -- the naive way: qrcode's ``make_image()`` (a PIL bitmap per
  code, the library's default image path) placed with ``canvas.drawImage``;
* **text only** -- reportlab drawing the same grid of labels with the code text and no
  QR code: the floor that page layout, text and PDF writing cost;
* **QR encoding only** -- ``qrcode.QRCode.make(fit=True)`` for each code, nothing
  drawn: how much of the time is the QR encoder's (it tries all 8 mask patterns).

No database is needed: the renderers take ``(serial, code)`` rows, and the product
reads them from the batch in pages of 2,000. Run from the project root::

    uv run python bench/labels.py [--labels 10000] [--columns 4 --rows 6] [--stock a4]
        [--base-url https://scan.example.com] [--only ours,text]

Figures are printed, never asserted (see docs/benchmarks.md). Each variant's wall time
and CPU time (its process's user + system) are both shown: on a busy machine the wall
time also counts waiting for a core, the CPU time much less so; the "vs ours" ratio
uses CPU time.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from reportlab.pdfgen.canvas import Canvas

    from campaigns.exports.render import LabelLayout

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Rows = list[tuple[int, str]]
# draw(canvas, layout, x, y, code): one label
Draw = Callable[["Canvas", "LabelLayout", float, float, str], None]


@dataclass
class Result:
    name: str
    labels: int
    seconds: float
    cpu_seconds: float
    pages: int
    bytes: int
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.labels / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.labels / self.cpu_seconds


def _setup(base_url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["PUBLIC_BASE_URL"] = base_url
    import django

    django.setup()


def make_rows(count: int) -> Rows:
    from campaigns.scan.codes import encode_merchant, new_code

    prefix = encode_merchant(1)
    return [(serial, new_code(prefix)) for serial in range(count)]


# --- The variants ------------------------------------------------------------------


# The label stock of "ours" (--stock): set before the variants' processes are forked.
_STOCK = "a4"
# --logo: ours prints a 240 x 120 PNG logo beside the brand (as a merchant's, decision 0263).
_LOGO = False


def _logo() -> Any:
    """A 240 x 120 high-contrast PNG (a checkerboard), prepared as labels print it."""
    import io as _io

    from PIL import Image, ImageDraw

    from campaigns.exports import render

    image = Image.new("RGB", (240, 120), "white")
    draw = ImageDraw.Draw(image)
    for y in range(0, 120, 6):
        for x in range(0, 240, 6):
            if (x + y) // 6 % 2:
                draw.rectangle((x, y, x + 5, y + 5), fill="black")
    out = _io.BytesIO()
    image.save(out, format="PNG")
    return render.LabelLogo.from_bytes(out.getvalue())


def _selling_content() -> Any:
    """What a batch's labels carry (brand, offer, code, product), as render_batch builds it."""
    from campaigns.exports import render

    return render.LabelContent.for_batch(
        brand="莲花茶饮", points=5, name="春季礼盒", sku="TEA-500", logo=_logo() if _LOGO else None
    )


def ours(rows: Rows, out: io.BufferedRandom, columns: int, rows_down: int) -> int:
    from campaigns.exports import render

    grid = render.Grid.of(columns, rows_down, _STOCK)
    render.write_pdf(
        iter(rows), out, total=len(rows), grid=grid, title="批次 1",
        content=_selling_content(), footer="莲花茶饮 · 春季礼盒 · TEA-500",
    )  # fmt: skip
    return grid.pages(len(rows))


def _grid_pages(
    rows: Rows,
    out: io.BufferedRandom,
    columns: int,
    rows_down: int,
    draw: Draw,
) -> int:
    """The product's page loop and layout, with ``draw(canvas, layout, x, y, code)`` per label."""
    from reportlab.pdfgen.canvas import Canvas

    from campaigns.exports import render

    grid = render.Grid.of(columns, rows_down)
    layout = render.LabelLayout.for_grid(grid)
    canvas = Canvas(out, pagesize=render.A4, pageCompression=1)
    canvas.setFont(render.CODE_FONT, layout.font_size)
    for index, (_serial, code) in enumerate(rows):
        slot = index % grid.per_page
        if slot == 0 and index:
            canvas.showPage()
            canvas.setFont(render.CODE_FONT, layout.font_size)
        column, row = slot % grid.columns, slot // grid.columns
        x = render.PAGE_MARGIN + column * layout.cell_width
        y = render.PAGE_HEIGHT - render.PAGE_MARGIN - (row + 1) * layout.cell_height
        draw(canvas, layout, x, y, code)
    canvas.showPage()
    canvas.save()
    return grid.pages(len(rows))


def path_rect(rows: Rows, out: io.BufferedRandom, columns: int, rows_down: int) -> int:
    from campaigns.exports import render
    from campaigns.scan.codes import pretty

    def draw(canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str) -> None:
        modules = render.make_qr(code).modules
        module = layout.qr_side / (len(modules) + 2 * render.QR_BORDER)
        canvas.saveState()
        canvas.translate(
            x + layout.qr_x + render.QR_BORDER * module,
            y + layout.qr_y + layout.qr_side - render.QR_BORDER * module,
        )
        canvas.scale(module, -module)
        path = canvas.beginPath()
        for row, column, length in render.dark_runs(modules):
            path.rect(column, row, length, 1)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()
        canvas.drawCentredString(x + layout.cell_width / 2, y + layout.text_y, pretty(code))

    return _grid_pages(rows, out, columns, rows_down, draw)


def pil_images(rows: Rows, out: io.BufferedRandom, columns: int, rows_down: int) -> int:
    from reportlab.lib.utils import ImageReader

    from campaigns.exports import render
    from campaigns.scan.codes import pretty

    def draw(canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str) -> None:
        image = render.make_qr(code).make_image().get_image()
        canvas.drawImage(
            ImageReader(image),
            x + layout.qr_x,
            y + layout.qr_y,
            layout.qr_side,
            layout.qr_side,
        )
        canvas.drawCentredString(x + layout.cell_width / 2, y + layout.text_y, pretty(code))

    return _grid_pages(rows, out, columns, rows_down, draw)


def text_only(rows: Rows, out: io.BufferedRandom, columns: int, rows_down: int) -> int:
    from campaigns.scan.codes import pretty

    def draw(canvas: Canvas, layout: LabelLayout, x: float, y: float, code: str) -> None:
        canvas.drawCentredString(x + layout.cell_width / 2, y + layout.text_y, pretty(code))

    return _grid_pages(rows, out, columns, rows_down, draw)


def encode_only(rows: Rows, out: io.BufferedRandom, columns: int, rows_down: int) -> int:
    from campaigns.exports import render

    for _serial, code in rows:
        render.make_qr(code)
    return 0


VARIANTS: dict[str, tuple[str, Callable[[Rows, io.BufferedRandom, int, int], int]]] = {
    "ours": ("ours: exports.render.write_pdf (vector, operators written directly)", ours),
    "rect": ("ours, reportlab path.rect per run", path_rect),
    "pil": ("baseline: qrcode PIL image + drawImage", pil_images),
    "text": ("baseline: text only, no QR code", text_only),
    "encode": ("QR encoding only (qrcode make, nothing drawn)", encode_only),
}


def _run(
    key: str, rows: Rows, columns: int, rows_down: int, base_url: str, queue: Queue[Result]
) -> None:
    _setup(base_url)
    name, function = VARIANTS[key]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryFile() as out:
        started, cpu_started = time.perf_counter(), time.process_time()
        pages = function(rows, out, columns, rows_down)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        size = out.tell()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(Result(name, len(rows), seconds, cpu_seconds, pages, size, max(peak, before) / 1024))


def _check_ours_scans(rows: Rows, columns: int, rows_down: int) -> str:
    """Decode the product's first labels at 203 dpi (a thermal printer's) with zxing-cpp."""
    try:
        import pypdfium2
        import zxingcpp
    except ImportError:
        return "zxing-cpp or pypdfium2 not installed: scan check skipped"
    from campaigns.exports import render
    from campaigns.scan.codes import scan_url

    grid = render.Grid.of(columns, rows_down, _STOCK)
    page = rows[: max(grid.per_page, 24)]
    out = io.BytesIO()
    render.write_pdf(iter(page), out, total=len(page), grid=grid, content=_selling_content())
    document = pypdfium2.PdfDocument(out.getvalue())
    found: set[str] = set()
    for index in range(len(document)):
        image = document[index].render(scale=203 / 72, grayscale=True).to_pil()
        found |= {result.text for result in zxingcpp.read_barcodes(image)}
    expected = {scan_url(code) for _serial, code in page}
    return (
        f"first {len(page)} labels of ours ({_STOCK}) at 203 dpi: "
        f"{len(found & expected)}/{len(expected)} QR codes decode"
    )


def render_table(results: list[Result], reference: Result | None) -> str:
    lines = [
        "| renderer | labels | wall s | labels/s (wall) | CPU s | labels/s (CPU) | vs ours (CPU) "
        "| pages | PDF size | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        ratio = f"{result.cpu_rate / reference.cpu_rate:.2f}x" if reference else "-"
        size = f"{result.bytes / 1e6:.1f} MB" if result.bytes else "-"
        lines.append(
            f"| {result.name} | {result.labels:,} | {result.seconds:.1f} | {result.rate:,.0f} | "
            f"{result.cpu_seconds:.1f} | {result.cpu_rate:,.0f} | {ratio} | "
            f"{result.pages or '-'} | {size} | {result.peak_rss_mb:.0f} MB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument(
        "--stock",
        default="a4",
        help="label stock of ours: a4 (the grid), roll_30x20, roll_40x30 or roll_50x30",
    )
    parser.add_argument(
        "--base-url",
        default="https://scan.example.com",
        help="PUBLIC_BASE_URL for the QR URLs (its length sets the QR version)",
    )
    parser.add_argument("--logo", action="store_true", help="ours prints a logo by the brand")
    parser.add_argument("--only", default=",".join(VARIANTS), help="variants, comma-separated")
    options = parser.parse_args(argv)
    keys = [key.strip() for key in options.only.split(",") if key.strip()]
    unknown = set(keys) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {sorted(VARIANTS)}")

    _setup(options.base_url)
    global _STOCK, _LOGO
    _STOCK = options.stock
    _LOGO = options.logo
    import qrcode
    import reportlab
    from django.conf import settings

    from campaigns.exports import render
    from campaigns.scan.codes import scan_url

    rows = make_rows(options.labels)
    sample = render.make_qr(rows[0][1])
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, qrcode {_version('qrcode', qrcode)}, "
        f"reportlab {reportlab.Version}; load average {os.getloadavg()[0]:.2f}; "
        f"date: {datetime.now(UTC):%Y-%m-%d}"
    )
    print(
        f"{options.labels:,} labels, ours on {options.stock} (grid {options.columns} x "
        f"{options.rows} when A4; the baselines always A4, code text only); QR of "
        f"{scan_url(rows[0][1])!r} ({len(scan_url(rows[0][1]))} characters, "
        f"version {sample.version}, {len(sample.modules)}x{len(sample.modules)} modules, "
        f"error correction M); PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL}"
    )
    print(_check_ours_scans(rows, options.columns, options.rows))

    context = multiprocessing.get_context("fork")
    results = []
    for key in keys:
        print(f"running {VARIANTS[key][0]} ...", flush=True)
        queue = context.Queue()
        child = context.Process(
            target=_run, args=(key, rows, options.columns, options.rows, options.base_url, queue)
        )
        child.start()
        result = queue.get()
        child.join()
        results.append(result)
        print(
            f"  {result.rate:,.0f} labels/s wall ({result.seconds:.1f} s), "
            f"{result.cpu_rate:,.0f} labels/s of CPU ({result.cpu_seconds:.1f} s)",
            flush=True,
        )
        print(f"  load average now {os.getloadavg()[0]:.2f}", flush=True)
    reference = next((r for r, k in zip(results, keys, strict=True) if k == "ours"), None)
    print()
    print(render_table(results, reference))
    return 0


def _version(name: str, module: object) -> str:
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:
        return getattr(module, "__version__", "?")


if __name__ == "__main__":
    raise SystemExit(main())
