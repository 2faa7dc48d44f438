"""A consumer's copy of their data: asked after a fresh one-time code, built by a task.

The zip holds ``data.json`` (every section) and one CSV per section (nested values, such
as a response's answers, as JSON in their cell). It is built by a Celery task, whatever
its size (one way to do it; a consumer with years of history has thousands of rows across
several merchants' schemas), kept ``DATA_COPY_KEEP_HOURS``, and handed out by a signed
link that lives ``LINK.ttl`` seconds: the page asks for a fresh one each time.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.signed_links import SignedLink
from privacy import parts
from privacy.models import DataCopy

LINK = SignedLink(
    salt="privacy.data-copy",
    url_name="data-copy-download",
    fields={"u": int, "c": int},
    ttl=10 * 60,
    expired_message=gettext_lazy(
        "This download link has expired. Open “My personal data” again for a new one."
    ),
)


def sections(consumer_id: int) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for part in parts.parts():
        found.update(part.copy(consumer_id))
    return found


def _csv(rows: list[dict[str, Any]]) -> bytes:
    text = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
                for value in (row.get(column, "") for column in columns)
            ]
        )
    # A byte order mark, so that spreadsheet programs read it as UTF-8.
    return ("\ufeff" + text.getvalue()).encode()


def render(consumer_id: int) -> bytes:
    data = sections(consumer_id)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=1, default=str))
        for name, rows in data.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    return out.getvalue()


def build(copy_id: int) -> DataCopy | None:
    data_copy = DataCopy.objects.filter(pk=copy_id, status=DataCopy.Status.PENDING).first()
    if data_copy is None:
        return None
    name = default_storage.save(
        f"data-copies/{data_copy.user_id}-{secrets.token_hex(12)}.zip",
        ContentFile(render(data_copy.user_id)),
    )
    data_copy.file = name
    data_copy.status = DataCopy.Status.READY
    data_copy.ready_at = timezone.now()
    data_copy.save(update_fields=["file", "status", "ready_at"])
    return data_copy


def expire_old(now: Any = None) -> int:
    """Delete the files of copies built more than ``DATA_COPY_KEEP_HOURS`` ago."""
    now = now or timezone.now()
    old = DataCopy.objects.filter(
        status=DataCopy.Status.READY,
        ready_at__lt=now - timedelta(hours=settings.DATA_COPY_KEEP_HOURS),
    )
    count = 0
    for data_copy in old:
        if data_copy.file:
            default_storage.delete(data_copy.file)
        data_copy.file = ""
        data_copy.status = DataCopy.Status.EXPIRED
        data_copy.save(update_fields=["file", "status"])
        count += 1
    return count
