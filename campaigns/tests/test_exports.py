"""Print and export a ready batch: the files open and the QR codes scan.

Every QR code is checked with a real decoder (zxing-cpp): PNGs from the ZIP, and the
PDF's pages rasterised by PDFium at 203 dpi, a thermal label printer's resolution (not
only at a flattering 300 dpi): every label of every stock must scan. The Celery path
runs eagerly (the on-commit send is executed with ``django_capture_on_commit_callbacks``),
stores the file with Django's storage, and the signed link downloads it through the test
client.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.core import signing
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_tenants.utils import tenant_context
from graphql_relay import to_global_id
from PIL import Image, ImageDraw

from campaigns.exports import render as renderers
from campaigns.exports import service
from campaigns.models import (
    BatchExport,
    BatchStatus,
    CampaignStatus,
    Code,
    CodeBatch,
    ExportFormat,
    ExportStatus,
)
from campaigns.scan.codes import scan_url
from campaigns.scan.generation import generate_batch
from campaigns.scan.services import create_batch, create_scan_campaign, void_batch
from campaigns.services import set_status
from core.db import connection
from core.errors import DomainError
from tenants import branding
from tenants.models import Merchant
from tests.fixtures.api import Api, access_token, signed_ago, streamed_body
from tests.fixtures.tenants import Tenants, fund

pytestmark = pytest.mark.django_db

SIZE = 30


@pytest.fixture
def acme(tenants: Tenants, unique: Callable[[str], str]) -> Iterator[Tenants]:
    """Funded acme; the test body runs in acme's schema (in a transaction that rolls back)."""
    fund(tenants.acme, 100_000, unique)
    with tenant_context(tenants.acme):
        yield tenants
    connection.set_schema_to_public()


@pytest.fixture
def stored_files() -> Iterator[list[str]]:
    """Names of files the test saved to storage, deleted afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)


def decoy_logo(size: int = 240) -> bytes:
    """A logo made to confuse a QR decoder: three finder-pattern squares (the QR code's
    corner marks) on a fine black and white checkerboard, as a PNG with transparency."""
    image = Image.new("RGBA", (size, size // 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    cell = size // 40
    for row in range(0, size // 2, cell):
        for column in range(0, size, cell):
            if (row // cell + column // cell) % 2:
                draw.rectangle((column, row, column + cell - 1, row + cell - 1), fill="black")
    finder = 7 * cell
    for left in (0, size // 2 - finder // 2, size - finder):
        draw.rectangle((left, 0, left + finder - 1, finder - 1), fill="black")
        draw.rectangle((left + cell, cell, left + finder - cell - 1, finder - cell - 1), "white")
        draw.rectangle(
            (left + 2 * cell, 2 * cell, left + finder - 2 * cell - 1, finder - 2 * cell - 1),
            "black",
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def with_logo(acme: Tenants) -> Iterator[Merchant]:
    """acme with the decoy logo (the test's schema is acme's; its file deleted after)."""
    merchant = branding.set_logo(acme.acme, decoy_logo())
    yield merchant
    default_storage.delete(str(merchant.logo.name))


def new_batch(merchant: Merchant, size: int = SIZE, *, ready: bool = True) -> CodeBatch:
    campaign = create_scan_campaign(name="Tea caps")
    set_status(merchant, campaign, CampaignStatus.ACTIVE)
    batch = create_batch(merchant, campaign, size=size, points_per_code=2)
    return generate_batch(batch.pk, chunk_size=11) if ready else batch


def codes_of(batch: CodeBatch) -> list[str]:
    return list(Code.objects.filter(batch=batch).order_by("serial").values_list("code", flat=True))


def render(batch: CodeBatch, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    assert renderers.render_batch(batch, fmt, out, **kwargs) == batch.size
    return out.getvalue()


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def pdf_pages(data: bytes) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(data)


def page_image(document: pdfium.PdfDocument, index: int) -> Image.Image:
    return document[index].render(scale=300 / 72).to_pil()


def page_text(document: pdfium.PdfDocument, index: int) -> str:
    return document[index].get_textpage().get_text_range()


def page_codes_text(document: pdfium.PdfDocument, index: int) -> str:
    """The page's text with line breaks and hyphens removed: a code wrapped on a small
    label (``XXXX-XXXX-`` / ``XXXX-XXXXXX``) reads as the bare code."""
    return re.sub(r"[\s\ufffe\-]", "", page_text(document, index))


# --- Renderers ------------------------------------------------------------------------


def test_csv_lists_every_code_with_its_url_in_serial_order(acme: Tenants) -> None:
    batch = new_batch(acme.acme)
    rows = list(csv.reader(io.StringIO(render(batch, ExportFormat.CSV).decode("utf-8"))))
    assert rows[0] == ["code", "url"]
    assert rows[1:] == [[code, scan_url(code)] for code in codes_of(batch)]
    assert rows[1][1].endswith(f"/s/{rows[1][0]}")


def test_zip_holds_a_png_and_an_svg_per_code_that_scan(acme: Tenants) -> None:
    batch = new_batch(acme.acme)
    codes = codes_of(batch)
    archive = zipfile.ZipFile(io.BytesIO(render(batch, ExportFormat.ZIP)))
    expected = {
        f"{serial:07d}-{code}.{ext}" for serial, code in enumerate(codes) for ext in ("png", "svg")
    }
    assert set(archive.namelist()) == expected and len(expected) == 2 * SIZE
    for serial in (0, 7, 18, SIZE - 1):
        code = codes[serial]
        image = Image.open(io.BytesIO(archive.read(f"{serial:07d}-{code}.png")))
        assert decode(image) == [scan_url(code)]
    for serial, code in enumerate(codes):
        svg = ET.fromstring(archive.read(f"{serial:07d}-{code}.svg"))
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        path = svg.find("{http://www.w3.org/2000/svg}path")
        assert path is not None and path.get("d")


@pytest.mark.parametrize(("columns", "rows"), [(4, 6), (3, 4), (6, 12), (1, 1)])
def test_pdf_has_one_page_per_grid_and_its_codes_scan(
    acme: Tenants, columns: int, rows: int
) -> None:
    batch = new_batch(acme.acme)
    codes = codes_of(batch)
    grid = renderers.Grid.of(columns, rows)
    document = pdf_pages(render(batch, ExportFormat.PDF, grid=grid))
    assert len(document) == math.ceil(SIZE / (columns * rows))
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    per_page = columns * rows
    last = len(document) - 1
    # The text under each QR code, in serial order across the pages.
    for index in (0, last):
        text = page_codes_text(document, index)
        for code in codes[index * per_page : (index + 1) * per_page]:
            assert code in text
    decoded = decode(page_image(document, last))
    on_last_page = {scan_url(code) for code in codes[last * per_page : (last + 1) * per_page]}
    assert sorted(decoded) == sorted(on_last_page)  # every label on the page scans


def test_pdf_keeps_labels_inside_the_crop_safe_margins(acme: Tenants) -> None:
    """Nothing dark within 8 mm of the paper's edge but the footer line at the bottom."""
    batch = new_batch(acme.acme, size=24)
    document = pdf_pages(render(batch, ExportFormat.PDF))
    image = page_image(document, 0).convert("L")
    dpmm = 300 / 25.4
    margin = int(8 * dpmm)
    footer_top = int(image.height - 7 * dpmm)
    width = image.width
    bands = {
        "top": (0, 0, width, margin),
        "left": (0, 0, margin, footer_top),
        "right": (width - margin, 0, width, footer_top),
    }
    for name, box in bands.items():
        darkest = image.crop(box).getextrema()[0]
        assert isinstance(darkest, int)  # one band ("L"): (min, max)
        assert darkest > 96, f"something printed in the {name} margin"


STOCKS = [
    ("a4", 4, 6, (210, 297)),
    ("a4", 6, 12, (210, 297)),
    ("roll_30x20", None, None, (30, 20)),
    ("roll_40x30", None, None, (40, 30)),
    ("roll_50x30", None, None, (50, 30)),
]


@pytest.mark.parametrize(("stock", "columns", "rows", "page_mm"), STOCKS)
def test_every_label_of_every_stock_scans_at_203_dpi(
    acme: Tenants,
    with_logo: Merchant,
    stock: str,
    columns: int | None,
    rows: int | None,
    page_mm: tuple[int, int],
) -> None:
    """Each page rasterised at 203 dpi (8 dots a millimetre, a thermal label printer's
    resolution) gives exactly the URLs of the codes printed on it: none is missed, at
    the smallest stock (30 x 20 mm) and the densest A4 grid (6 x 12) too, with the
    merchant's logo (a decoy: finder patterns on a checkerboard) beside its name."""
    batch = new_batch(acme.acme)
    codes = codes_of(batch)
    grid = renderers.Grid.of(columns, rows, stock)
    data = render(batch, ExportFormat.PDF, grid=grid)
    assert data.count(b"/Subtype /Image") == 1  # the logo, embedded once for every label
    document = pdf_pages(data)
    assert len(document) == math.ceil(SIZE / grid.per_page)
    width, height = document[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == page_mm
    decoded: list[str] = []
    for index in range(len(document)):
        image = document[index].render(scale=203 / 72, grayscale=True).to_pil()
        on_page = codes[index * grid.per_page : (index + 1) * grid.per_page]
        found = decode(image)
        assert sorted(found) == sorted(scan_url(code) for code in on_page), f"page {index + 1}"
        decoded += found
    assert len(decoded) == SIZE


def test_labels_sell_in_chinese_with_brand_offer_product_and_footer(acme: Tenants) -> None:
    batch = new_batch(acme.acme, size=24)
    batch.name, batch.sku = "春茶礼盒", "TEA-500"
    batch.save(update_fields=["name", "sku"])
    with translation.override("zh-hans"):
        document = pdf_pages(render(batch, ExportFormat.PDF))
        roll = pdf_pages(
            render(batch, ExportFormat.PDF, grid=renderers.Grid.of(None, None, "roll_40x30"))
        )
    text = page_text(document, 0)
    assert text.count("Acme Tea") == 24 + 1  # every label, and the footer
    assert text.count("扫码领 2 积分") == 24
    assert text.count("春茶礼盒 · TEA-500") == 24 + 1
    assert "Acme Tea · 春茶礼盒 · TEA-500 · 序号 0-23 · 第 1/1 页" in text
    # A roll label: the same lines beside the QR code (wrapped), no page footer.
    label = re.sub(r"[\s\ufffe]", "", page_text(roll, 0))
    code = codes_of(batch)[0]
    assert "扫码领2积分" in label and code in label.replace("-", "") and "序号" not in label


def test_label_lines_are_data_and_small_labels_drop_the_least_important(acme: Tenants) -> None:
    """An extra line (e.g. a verification line) is one more ``LabelLine``; where there is
    no room, the product goes first, then the brand; the offer and the code stay."""
    verify = renderers.LabelLine("验证码 {code}", max_size=6, min_size=4, max_lines=2, priority=2)
    content = renderers.LabelContent.for_batch(
        brand="Acme Tea", points=5, name="春茶", sku="T-1", extra=(verify,)
    )
    roomy = renderers.LabelLayout.for_grid(renderers.Grid.of(2, 4), content)
    assert [placed.line.text for placed in roomy.lines] == [
        "Acme Tea", "扫码领 5 积分" if translation.get_language() == "zh-hans" else
        "Scan to earn 5 points", "{code}", "验证码 {code}", "春茶 · T-1",
    ]  # fmt: skip
    tight = renderers.LabelLayout.for_grid(renderers.Grid.of(None, None, "roll_30x20"), content)
    kept = [placed.line for placed in tight.lines]
    assert content.lines[-1] not in kept  # the product, the least important
    assert all(line in kept for line in content.lines if line.priority is None)
    assert tight.qr_side >= renderers.MIN_QR_SIDE
    out = io.BytesIO()
    renderers.write_pdf([(0, "0001QMKVJ6R61HJNN0")], out, total=1, grid=renderers.Grid.of(2, 4),
                        content=content)  # fmt: skip
    assert "验证码0001-QMKV-J6R6-1HJNN0" in re.sub(
        r"[\s\ufffe]", "", page_text(pdf_pages(out.getvalue()), 0)
    )


@pytest.mark.parametrize(("stock", "columns", "rows", "page_mm"), STOCKS)
@pytest.mark.parametrize("shape", [(240, 120), (64, 64), (64, 2048), (2048, 64)])
def test_the_logo_sits_beside_the_brand_outside_the_qr_code(
    stock: str,
    columns: int | None,
    rows: int | None,
    page_mm: tuple[int, int],
    shape: tuple[int, int],
) -> None:
    """Wide, square, tall: the logo keeps its aspect, stays inside the label and the
    brand's lines, left of the brand's text, and never reaches the QR code's square
    (its quiet zone included)."""
    image = Image.new("L", shape, 0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    logo = renderers.LabelLogo.from_bytes(out.getvalue())
    assert logo is not None
    content = renderers.LabelContent.for_batch(brand="莲花茶饮", points=5, name="春茶", logo=logo)
    layout = renderers.LabelLayout.for_grid(renderers.Grid.of(columns, rows, stock), content)
    brand = next(p for p in layout.lines if p.line.beside_logo)
    box = brand.logo_box
    assert box is not None
    x, y, width, height = box
    assert width / height == pytest.approx(shape[0] / shape[1], rel=0.05)
    assert x >= 0 and x + width <= layout.cell_width and y >= 0
    assert y + height <= layout.cell_height
    top = brand.baseline + brand.size * 0.88
    assert top - brand.height - 0.01 <= y and y + height <= top + 0.01
    text_width = max(renderers.stringWidth(s, brand.line.font, brand.size) for s in brand.segments)
    assert x + width < brand.text_x - text_width / 2  # left of the text
    qr = (layout.qr_x, layout.qr_y, layout.qr_x + layout.qr_side, layout.qr_y + layout.qr_side)
    apart = x + width <= qr[0] or x >= qr[2] or y + height <= qr[1] or y >= qr[3]
    assert apart, (box, qr)


def test_unknown_stock_is_refused_and_a_roll_ignores_the_grid() -> None:
    with pytest.raises(DomainError) as exc:
        renderers.Grid.of(4, 6, "roll_99x99")
    assert (exc.value.code, exc.value.field) == ("INVALID_LABEL_STOCK", "stock")
    roll = renderers.Grid.of(9, 99, "roll_30x20")
    assert (roll.per_page, roll.as_options()) == (1, {"stock": "roll_30x20"})
    assert renderers.Grid.of(None, None).as_options() == {"stock": "a4", "columns": 4, "rows": 6}


def test_big_pdf_comes_as_zip_of_pdf_volumes_of_whole_pages(acme: Tenants) -> None:
    batch = new_batch(acme.acme)
    codes = codes_of(batch)
    grid = renderers.Grid.of(2, 3)
    out = io.BytesIO()
    written = renderers.write_pdf_volumes(
        renderers.batch_codes(batch, chunk_size=7),
        out,
        total=SIZE,
        grid=grid,
        title="Batch",
        labels_per_file=13,  # rounded down to 2 whole pages of 6
    )
    assert written == SIZE
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    assert names == [f"labels-{n:03d}-of-003.pdf" for n in (1, 2, 3)]
    pages = [len(pdf_pages(archive.read(name))) for name in names]
    assert pages == [2, 2, 1]
    last = pdf_pages(archive.read(names[-1]))
    assert all(code in page_codes_text(last, 0) for code in codes[24:])
    assert "volume 3 of 3" in page_text(last, 0)
    assert renderers.output_extension(ExportFormat.PDF, SIZE, grid) == "pdf"
    assert renderers.pdf_is_split(renderers.PDF_LABELS_PER_FILE + 1, renderers.Grid())


def test_batch_codes_pages_through_the_batch_in_serial_order(acme: Tenants) -> None:
    batch = new_batch(acme.acme)
    assert [code for _serial, code in renderers.batch_codes(batch, chunk_size=4)] == codes_of(batch)


@pytest.mark.parametrize(
    ("columns", "rows", "field"),
    [(0, 6, "columns"), (7, 6, "columns"), (4, 0, "rows"), (4, 13, "rows"), (True, 6, "columns")],
)
def test_grid_out_of_bounds_is_refused(columns: Any, rows: Any, field: str) -> None:
    with pytest.raises(DomainError) as exc:
        renderers.Grid.of(columns, rows)
    assert (exc.value.code, exc.value.field) == ("INVALID_GRID", field)


def test_only_a_ready_batch_can_be_exported(acme: Tenants) -> None:
    generating = new_batch(acme.acme, ready=False)
    voided = void_batch(acme.acme, new_batch(acme.acme))
    for batch in (generating, voided):
        with pytest.raises(DomainError) as exc:
            service.request_export(batch, ExportFormat.CSV)
        assert exc.value.code == "BATCH_NOT_READY"
    with pytest.raises(DomainError) as exc:
        service.request_export(new_batch(acme.acme), "docx")
    assert exc.value.code == "INVALID_EXPORT_FORMAT"
    assert BatchExport.objects.count() == 0


# --- The Celery task, storage and the signed link ---------------------------------------


def _request(
    batch: CodeBatch,
    fmt: str,
    capture: Callable[..., Any],
    stored: list[str],
    *,
    columns: int | None = None,
    rows: int | None = None,
) -> BatchExport:
    with capture(execute=True) as callbacks:
        export = service.request_export(batch, fmt, columns=columns, rows=rows)
        assert export.status == ExportStatus.PENDING
    assert len(callbacks) == 1  # the task is sent only once the export row is committed
    export.refresh_from_db()
    stored.append(export.file_name)
    return export


def test_task_renders_into_storage_and_the_link_downloads_it(
    acme: Tenants, django_capture_on_commit_callbacks: Any, stored_files: list[str]
) -> None:
    batch = new_batch(acme.acme)
    export = _request(
        batch, ExportFormat.PDF, django_capture_on_commit_callbacks, stored_files, columns=3, rows=4
    )
    assert (export.status, export.progress, export.total) == (ExportStatus.READY, SIZE, SIZE)
    assert export.options == {"stock": "a4", "columns": 3, "rows": 4, "language": "en"}
    assert export.file_name.startswith(f"exports/{acme.acme.schema_name}/batch-{batch.pk}/")
    assert default_storage.exists(export.file_name)
    assert default_storage.size(export.file_name) == export.file_size
    assert export.started_at is not None and export.finished_at is not None
    assert export.started_at <= export.finished_at

    response = Client().get(service.download_path(acme.acme.schema_name, export))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="batch-{batch.pk}-codes.pdf"'
    body = streamed_body(response)
    with default_storage.open(export.file_name, "rb") as stored:
        assert body == stored.read()
    assert len(pdf_pages(body)) == math.ceil(SIZE / 12)


def test_csv_and_zip_exports_download_with_their_content_types(
    acme: Tenants, django_capture_on_commit_callbacks: Any, stored_files: list[str]
) -> None:
    batch = new_batch(acme.acme, size=5)
    for fmt, content_type in (
        (ExportFormat.CSV, "text/csv; charset=utf-8"),
        (ExportFormat.ZIP, "application/zip"),
    ):
        export = _request(batch, fmt, django_capture_on_commit_callbacks, stored_files)
        assert export.options == {}
        response = Client().get(service.download_path(acme.acme.schema_name, export))
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == content_type
        assert f'filename="batch-{batch.pk}-codes.{fmt}"' in response["Content-Disposition"]
        body = streamed_body(response)
        if fmt == ExportFormat.CSV:
            assert body.decode().splitlines()[1:] == [f"{c},{scan_url(c)}" for c in codes_of(batch)]
        else:
            assert len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == 10


def test_tampered_expired_and_foreign_links_are_refused(
    acme: Tenants, django_capture_on_commit_callbacks: Any, stored_files: list[str]
) -> None:
    batch = new_batch(acme.acme, size=3)
    export = _request(batch, ExportFormat.CSV, django_capture_on_commit_callbacks, stored_files)
    schema = acme.acme.schema_name
    good = service.DOWNLOAD_LINK.token(schema, export.pk)
    client = Client()

    def get(token: str) -> Any:
        return client.get(f"/exports/{token}/")

    assert get(good).status_code == 200
    # One character changed in the payload, or in the signature.
    for tampered in (
        ("x" if good[0] != "x" else "y") + good[1:],
        good[:-1] + ("A" if good[-1] != "A" else "B"),
    ):
        response = get(tampered)
        assert response.status_code == 403
        assert b"not valid" in response.content
    # Signed for another purpose (another salt) with the same key.
    assert get(signing.dumps({"s": schema, "e": export.pk}, salt="other")).status_code == 403
    link, ttl = service.DOWNLOAD_LINK, service.DOWNLOAD_LINK_TTL
    response = get(signed_ago(link, ttl + 5, schema, export.pk))
    assert response.status_code == 410 and b"expired" in response.content
    # Not yet expired a few seconds before the deadline.
    assert get(signed_ago(link, ttl - 5, schema, export.pk)).status_code == 200
    # A valid signature naming another merchant's schema finds nothing there.
    beta = service.DOWNLOAD_LINK.token(acme.beta.schema_name, export.pk)
    with tenant_context(acme.beta):
        assert not BatchExport.objects.filter(pk=export.pk).exists()
    assert get(beta).status_code == 404
    assert get(service.DOWNLOAD_LINK.token("no_such_schema", export.pk)).status_code == 404
    # A voided batch's codes must not be printed: its exports stop downloading.
    void_batch(acme.acme, batch)
    response = get(good)
    assert response.status_code == 404 and b"no longer available" in response.content
    assert client.post(f"/exports/{good}/").status_code == 405


def test_task_records_a_failure(
    acme: Tenants, django_capture_on_commit_callbacks: Any, stored_files: list[str]
) -> None:
    batch = new_batch(acme.acme, size=3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = service.request_export(batch, ExportFormat.CSV)
    void_batch(acme.acme, batch)  # voided before the worker got to it
    for callback in callbacks:
        callback()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "ready batch" in export.error and export.file_name == ""


# --- manage.py export_batch -------------------------------------------------------------


def test_export_batch_command_writes_files_with_a_progress_bar(
    acme: Tenants, tmp_path: Path
) -> None:
    batch = new_batch(acme.acme)
    err, out = io.StringIO(), io.StringIO()
    pdf = tmp_path / "labels.pdf"
    call_command(
        "export_batch", "acme", str(batch.pk), format="pdf", columns=2, rows=5,
        output=str(pdf), stdout=out, stderr=err,
    )  # fmt: skip
    assert len(pdf_pages(pdf.read_bytes())) == 3
    assert "100%" in err.getvalue() and f"{SIZE:,}/{SIZE:,} codes" in err.getvalue()
    assert f"Wrote {SIZE} codes" in out.getvalue()
    csv_path = tmp_path / "codes.csv"
    call_command(
        "export_batch", "acme", str(batch.pk), "--format", "csv", "--output", str(csv_path),
        stdout=out, stderr=err,
    )  # fmt: skip
    assert csv_path.read_text().splitlines()[1:] == [f"{c},{scan_url(c)}" for c in codes_of(batch)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.csv", "labels.pdf"]


def test_export_batch_command_errors_clearly(acme: Tenants, tmp_path: Path) -> None:
    generating = new_batch(acme.acme, size=3, ready=False)
    output = str(tmp_path / "x.csv")
    cases = [
        (("nobody", "1"), {}, "No merchant with slug 'nobody'"),
        (("acme", "999999"), {}, "Merchant 'acme' has no batch 999999"),
        (("acme", str(generating.pk)), {}, "BATCH_NOT_READY"),
        (("acme", str(new_batch(acme.acme, size=3).pk)), {"columns": 9}, "INVALID_GRID"),
    ]
    for args, extra, message in cases:
        with pytest.raises(CommandError, match=message):
            call_command(
                "export_batch", *args, format="csv", output=output, stderr=io.StringIO(), **extra
            )
    assert list(tmp_path.iterdir()) == []


# --- Merchant API ---------------------------------------------------------------------


def _gid(merchant: Merchant, type_name: str, pk: int) -> str:
    return to_global_id(type_name, f"{merchant.pk}:{pk}")


def _op(api: Api, user: Any, name: str, merchant: str = "acme", **variables: Any) -> Any:
    result = api.op(name, variables, token=access_token(user), merchant=merchant)
    assert "errors" not in result, result
    (payload,) = result["data"].values()
    return payload


def test_merchant_api_requests_an_export_and_gives_a_download_link(
    acme: Tenants,
    merchant_api: Api,
    django_capture_on_commit_callbacks: Any,
    stored_files: list[str],
) -> None:
    batch = new_batch(acme.acme)
    batch_id = _gid(acme.acme, "CodeBatch", batch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        payload = _op(
            merchant_api, acme.acme_operator, "RequestBatchExport",
            batchId=batch_id, format="PDF", columns=5, rows=2,
        )  # fmt: skip
    assert payload["errors"] == []
    requested = payload["export"]
    assert (requested["format"], requested["status"], requested["total"]) == (
        "PDF",
        "PENDING",
        SIZE,
    )
    assert (requested["columns"], requested["rows"]) == (5, 2)

    export = _op(merchant_api, acme.acme_operator, "BatchExport", id=requested["id"])
    with tenant_context(acme.acme):  # each API request ends in the public schema
        stored_files.append(BatchExport.objects.get(pk=requested_pk(requested)).file_name)
    assert export["status"] == "READY" and export["progress"] == SIZE
    assert export["progressPercent"] == 100.0 and export["batch"]["id"] == batch_id
    assert export["downloadUrl"].startswith("http://testserver/exports/")
    response = Client().get(export["downloadUrl"].removeprefix("http://testserver"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert len(pdf_pages(streamed_body(response))) == 3

    # A viewer sees the export and its progress, but gets no link and cannot request one.
    seen = _op(merchant_api, acme.acme_viewer, "BatchExport", id=requested["id"])
    assert seen["status"] == "READY" and seen["downloadUrl"] is None
    refused = _op(
        merchant_api, acme.acme_viewer, "RequestBatchExport", batchId=batch_id, format="CSV"
    )
    assert refused["export"] is None
    assert [e["code"] for e in refused["errors"]] == ["PERMISSION_DENIED"]

    # Listed under the batch, and in the merchant's list.
    listed = _op(merchant_api, acme.acme_viewer, "BatchExports", batchId=batch_id, first=10)
    assert [edge["node"]["id"] for edge in listed["edges"]] == [requested["id"]]

    # Beta's owner cannot see it, by ID or in beta's list.
    foreign = merchant_api.query(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": requested["id"]},
        token=access_token(acme.beta_owner),
        merchant="beta",
    )
    assert foreign["data"]["node"] is None
    beta_list = _op(merchant_api, acme.beta_owner, "BatchExports", merchant="beta", first=10)
    assert requested["id"] not in str(beta_list)
    # Nor export acme's batch through beta.
    beta_request = _op(
        merchant_api, acme.beta_owner, "RequestBatchExport", merchant="beta",
        batchId=batch_id, format="CSV",
    )  # fmt: skip
    assert [e["code"] for e in beta_request["errors"]] == ["NOT_FOUND"]


def requested_pk(export: dict[str, Any]) -> int:
    from graphql_relay import from_global_id

    return int(from_global_id(export["id"]).id.split(":")[1])


def test_merchant_api_refuses_unready_batches_and_bad_grids(
    acme: Tenants, merchant_api: Api
) -> None:
    generating = new_batch(acme.acme, size=3, ready=False)
    ready = new_batch(acme.acme, size=3)
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"batchId": _gid(acme.acme, "CodeBatch", generating.pk), "format": "CSV"},
         ("batchId", "BATCH_NOT_READY")),
        ({"batchId": _gid(acme.acme, "CodeBatch", ready.pk), "format": "PDF", "columns": 7},
         ("columns", "INVALID_GRID")),
        ({"batchId": _gid(acme.acme, "CodeBatch", ready.pk), "format": "PDF", "rows": 0},
         ("rows", "INVALID_GRID")),
        ({"batchId": _gid(acme.acme, "Campaign", ready.campaign_id), "format": "CSV"},
         ("batchId", "NOT_FOUND")),
    ]  # fmt: skip
    for variables, expected in cases:
        payload = _op(merchant_api, acme.acme_owner, "RequestBatchExport", **variables)
        assert payload["export"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [expected], variables
    with tenant_context(acme.acme):
        assert BatchExport.objects.count() == 0


def test_listing_exports_costs_the_same_queries_for_any_page_size(
    acme: Tenants, merchant_api: Api
) -> None:
    batch = new_batch(acme.acme, size=3)
    other = new_batch(acme.acme, size=3)

    def add(count: int) -> None:
        for index in range(count):
            BatchExport.objects.create(
                batch=batch if index % 2 else other,
                format=ExportFormat.CSV,
                total=3,
                progress=3,
                status=ExportStatus.READY,
                file_name=f"exports/test/{index}.csv",
            )

    counts = []
    for size in (2, 7):
        with tenant_context(acme.acme):  # each API request ends in the public schema
            add(size - BatchExport.objects.count())
        with CaptureQueriesContext(connection) as queries:
            listed = _op(merchant_api, acme.acme_operator, "BatchExports", first=50)
        assert len(listed["edges"]) == size
        assert all(edge["node"]["downloadUrl"] for edge in listed["edges"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_voided_batch_exports_have_no_link(acme: Tenants, merchant_api: Api) -> None:
    batch = new_batch(acme.acme, size=3)
    export = BatchExport.objects.create(
        batch=batch, format=ExportFormat.CSV, total=3, progress=3,
        status=ExportStatus.READY, file_name="exports/test/x.csv",
    )  # fmt: skip
    gid = _gid(acme.acme, "BatchExport", export.pk)
    assert _op(merchant_api, acme.acme_owner, "BatchExport", id=gid)["downloadUrl"]
    with tenant_context(acme.acme):  # each API request ends in the public schema
        void_batch(acme.acme, CodeBatch.objects.get(pk=batch.pk))
        assert CodeBatch.objects.get(pk=batch.pk).status == BatchStatus.VOIDED
    assert _op(merchant_api, acme.acme_owner, "BatchExport", id=gid)["downloadUrl"] is None


def test_label_preview_shows_a_page_that_scans_and_refuses_bad_stock(
    acme: Tenants, merchant_api: Api
) -> None:
    """The preview is the export's own first page (sample codes), rasterised: its QR
    codes decode, and its size is the stock's; any role may look."""
    batch = new_batch(acme.acme, size=SIZE)
    batch_id = _gid(acme.acme, "CodeBatch", batch.pk)
    for stock, per_page, size_mm in (("ROLL_40X30", 1, (40.0, 30.0)), ("A4", 12, (210.0, 297.0))):
        result = merchant_api.op(
            "LabelPreview",
            {"batchId": batch_id, "stock": stock, "columns": 3, "rows": 4},
            token=access_token(acme.acme_viewer),
            merchant="acme",
        )
        assert "errors" not in result, result
        preview = result["data"]["labelPreview"]
        assert (preview["stock"], preview["labelsPerPage"]) == (stock, per_page)
        assert (preview["widthMm"], preview["heightMm"]) == size_mm
        assert preview["pages"] == math.ceil(SIZE / per_page)
        header, _comma, data = preview["image"].partition(",")
        assert header == "data:image/png;base64"
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert sorted(decode(image)) == [scan_url(f"{serial:018d}") for serial in range(per_page)]
    refused = merchant_api.op(
        "LabelPreview",
        {"batchId": batch_id, "stock": "A4", "columns": 9},
        token=access_token(acme.acme_viewer),
        merchant="acme",
    )
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_GRID"
    # Isolation: beta's owner cannot preview acme's batch, nor ask as acme; nobody signed out.
    document = "query($b: ID!) { labelPreview(batchId: $b) { image } }"
    for token, merchant, code in (
        (access_token(acme.beta_owner), "beta", "NOT_FOUND"),
        (access_token(acme.beta_owner), "acme", "MERCHANT_NOT_FOUND"),
        (None, "acme", "UNAUTHENTICATED"),
    ):
        result = merchant_api.query(document, {"b": batch_id}, token=token, merchant=merchant)
        assert result["data"] is None, result
        assert [e["extensions"]["code"] for e in result["errors"]] == [code]


def test_merchant_api_exports_labels_on_a_roll(
    acme: Tenants,
    merchant_api: Api,
    django_capture_on_commit_callbacks: Any,
    stored_files: list[str],
) -> None:
    batch = new_batch(acme.acme, size=5)
    batch_id = _gid(acme.acme, "CodeBatch", batch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        payload = _op(
            merchant_api, acme.acme_operator, "RequestBatchExport",
            batchId=batch_id, format="PDF", stock="ROLL_30X20",
        )  # fmt: skip
    assert payload["errors"] == []
    requested = payload["export"]
    assert (requested["stock"], requested["columns"], requested["rows"]) == (
        "ROLL_30X20",
        None,
        None,
    )
    export = _op(merchant_api, acme.acme_operator, "BatchExport", id=requested["id"])
    with tenant_context(acme.acme):
        stored_files.append(BatchExport.objects.get(pk=requested_pk(requested)).file_name)
    response = Client().get(export["downloadUrl"].removeprefix("http://testserver"))
    document = pdf_pages(streamed_body(response))
    assert len(document) == 5
    assert [round(v / 72 * 25.4) for v in document[0].get_size()] == [30, 20]
