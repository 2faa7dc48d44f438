"""Questionnaire exports: every response as CSV or XLSX, and the QR poster (PDF).

- One row per response: submitted at, masked phone, version, then one column per
  question id over all versions (first seen order: version 1's questions, then ids
  added by later versions). Choices are written as option ids (several joined by
  ``;``). Consumers appear only as masked phone numbers.
- Files are rendered by the Celery task ``render_responses`` (``tasks``) into storage
  under a random name, queued by ``services.request_export``; the merchant API hands
  out a signed link (15 minutes, like batch exports) naming the merchant, campaign
  and file. The download view answers 202 until the worker has written the file.
  Small campaigns render just as well through the same path: the task is quick.
- The poster is small and drawn on request from its own signed link.
"""

from __future__ import annotations

import csv
import io
import secrets
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import qrcode
from django.core.files.base import File
from django.core.files.storage import default_storage
from openpyxl import Workbook
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from campaigns.models import Campaign, QuestionnaireVersion, Response
from core.db import connection
from core.signed_links import SignedLink
from privacy.consent import identity_withheld

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
# Fixed: it signs every link handed out (it is the name of the module this lived in
# once); a new salt would void the links in flight.
SALT = "campaigns.questionnaire_exports"
# Names a merchant, a campaign and a stored file name (or "poster"), 15 minutes.
LINK = SignedLink(
    salt=SALT, url_name="questionnaire-export-download", fields={"m": int, "c": int, "f": str}
)
FETCH_CHUNK = 2000
FIXED_COLUMNS = ["submitted_at", "masked_phone", "version"]
POSTER_FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese without embedding


def columns(campaign: Campaign) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    versions = QuestionnaireVersion.objects.filter(questionnaire__campaign=campaign).order_by(
        "number"
    )
    for version in versions:
        for question in version.questions:
            if question["id"] not in seen:
                seen.add(question["id"])
                ids.append(question["id"])
    return ids


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def rows(campaign: Campaign) -> Iterator[list[Any]]:
    """The header, then one row per response, oldest first (read in chunks)."""
    ids = columns(campaign)
    yield FIXED_COLUMNS + ids
    responses = (
        Response.objects.filter(campaign=campaign)
        .select_related("consumer", "version")
        # A consumer who withdrew their consent to share with this merchant (PIPL) is
        # exported without identity; their answers still count.
        .annotate(identity_withheld=identity_withheld(connection.tenant.pk))
        .order_by("submitted_at", "id")
    )
    for response in responses.iterator(chunk_size=FETCH_CHUNK):
        yield [
            response.submitted_at.isoformat(),
            "" if response.identity_withheld else response.consumer.masked_phone,
            response.version.number,
            *(_cell(response.answers.get(qid)) for qid in ids),
        ]


def write_csv(campaign: Campaign, out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        count = -1
        for row in rows(campaign):
            writer.writerow(row)
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


def write_xlsx(campaign: Campaign, out: IO[bytes]) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    count = -1
    for row in rows(campaign):
        sheet.append(row)
        count += 1
    workbook.save(out)
    return count


def file_name(campaign: Campaign, fmt: str) -> str:
    return (
        f"questionnaire-exports/{connection.schema_name}/{campaign.pk}-{secrets.token_hex(8)}.{fmt}"
    )


def render(campaign_id: int, fmt: str, name: str) -> str:
    """Render the export into storage as ``name`` (in the current schema)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    with tempfile.TemporaryFile() as out:
        (write_csv if fmt == "csv" else write_xlsx)(campaign, out)
        out.seek(0)
        return default_storage.save(name, File(out))


def poster_path(merchant_id: int, campaign_id: int) -> str:
    return LINK.path(merchant_id, campaign_id, "poster")


def write_poster(out: IO[bytes], *, url: str, title: str, merchant: str, points: int) -> None:
    """An A4 poster: merchant, questionnaire, points offered, a large QR code and the URL."""
    if POSTER_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(POSTER_FONT))
    width, height = A4
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(title)
    canvas.setFont(POSTER_FONT, 20)
    canvas.drawCentredString(width / 2, height - 40 * mm, merchant[:60])
    canvas.setFont(POSTER_FONT, 28)
    canvas.drawCentredString(width / 2, height - 58 * mm, title[:40])
    canvas.setFont(POSTER_FONT, 18)
    canvas.drawCentredString(
        width / 2,
        height - 74 * mm,
        f"扫码答题 · 得 {points} 积分 / Scan, answer, earn {points} points",
    )
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    modules = qr.get_matrix()
    size = 120 * mm
    cell = size / len(modules)
    left, top = (width - size) / 2, height - 90 * mm
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(left + c * cell, top - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    canvas.setFont("Helvetica", 11)
    canvas.drawCentredString(width / 2, top - size - 12 * mm, url)
    canvas.showPage()
    canvas.save()
