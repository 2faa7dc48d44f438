"""``manage.py export_batch <merchant-slug> <batch-id> --format pdf|csv|zip --output PATH``.

Renders a ready batch synchronously with the same renderers as the Celery export
(``campaigns.exports.render``), showing a progress bar on stderr. The file is written next
to PATH under a temporary name and renamed onto PATH when complete, so PATH is
never a half-written file.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django_tenants.utils import tenant_context

from campaigns.exports import render
from campaigns.models import CodeBatch, ExportFormat
from core.errors import DomainError
from tenants.models import Merchant


class ProgressBar:
    """``[#########...........]  45%  4,500/10,000 codes  150/s`` redrawn in place."""

    def __init__(self, total: int, stream: OutputWrapper, width: int = 30) -> None:
        self.total, self.stream, self.width = max(total, 1), stream, width
        self.started = time.monotonic()

    def __call__(self, done: int) -> None:
        share = min(done / self.total, 1.0)
        filled = int(share * self.width)
        rate = done / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%}  "
            f"{done:,}/{self.total:,} codes  {rate:,.0f}/s",
            ending="",
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Export a ready code batch as CSV (code, url), a ZIP of QR images (PNG and SVG) "
        "or a PDF label sheet (A4, --columns x --rows labels a page)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("merchant", help="the merchant's slug")
        parser.add_argument("batch_id", type=int, help="the batch's number")
        parser.add_argument("--format", choices=ExportFormat.values, required=True)
        parser.add_argument(
            "--columns",
            type=int,
            help=f"PDF: labels across, {render.MIN_COLUMNS}-{render.MAX_COLUMNS} "
            f"(default {render.DEFAULT_COLUMNS})",
        )
        parser.add_argument(
            "--rows",
            type=int,
            help=f"PDF: labels down, {render.MIN_ROWS}-{render.MAX_ROWS} "
            f"(default {render.DEFAULT_ROWS})",
        )
        parser.add_argument("--output", required=True, help="file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, batch_id, fmt = options["merchant"], options["batch_id"], options["format"]
        merchant = Merchant.objects.filter(slug=slug).first()
        if merchant is None:
            raise CommandError(f"No merchant with slug {slug!r}.")
        if not merchant.is_provisioned:
            raise CommandError(f"Merchant {slug!r} is an application: it has no batches yet.")
        output = os.path.abspath(options["output"])
        if os.path.isdir(output):
            raise CommandError(f"--output {output} is a directory; name a file.")
        if not os.path.isdir(os.path.dirname(output)):
            raise CommandError(f"The directory of --output {output} does not exist.")
        with tenant_context(merchant):
            batch = CodeBatch.objects.filter(pk=batch_id).first()
            if batch is None:
                raise CommandError(f"Merchant {slug!r} has no batch {batch_id}.")
            try:
                render.ensure_exportable(batch, fmt)
                render.ensure_without_hidden_codes(batch, fmt)
                grid = render.Grid.of(options["columns"], options["rows"])
            except DomainError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
            extension = render.output_extension(fmt, batch.size, grid)
            if extension != fmt:
                self.stderr.write(
                    f"{batch.size:,} labels exceed {render.PDF_LABELS_PER_FILE:,} per PDF: "
                    f"writing a ZIP of PDF volumes."
                )
            partial = os.path.join(os.path.dirname(output), f".{os.path.basename(output)}.part")
            bar = ProgressBar(batch.size, self.stderr)
            try:
                with open(partial, "wb") as out:
                    written = render.render_batch(batch, fmt, out, grid=grid, progress=bar)
                os.replace(partial, output)
            except BaseException:
                if os.path.exists(partial):
                    os.remove(partial)
                raise
            finally:
                bar.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {written:,} codes of batch {batch_id} ({fmt}) to {output} "
                f"({os.path.getsize(output):,} bytes)."
            )
        )
