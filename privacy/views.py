"""The download of a data copy, from its signed link (``privacy.copies.LINK``)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core.signed_links import refusal
from privacy.copies import LINK
from privacy.models import DataCopy


def _download(request: HttpRequest, user_id: int, copy_id: int) -> HttpResponse | FileResponse:
    data_copy = DataCopy.objects.filter(pk=copy_id, user_id=user_id).first()
    if data_copy is None or data_copy.status == DataCopy.Status.EXPIRED:
        return refusal(404, _("Not found."))
    if data_copy.status != DataCopy.Status.READY:
        return refusal(202, _("Your data is still being prepared. Try again in a minute."))
    response = FileResponse(
        default_storage.open(data_copy.file, "rb"),
        as_attachment=True,
        filename=f"my-data-{data_copy.ready_at:%Y%m%d}.zip"
        if data_copy.ready_at
        else "my-data.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


download_data_copy = LINK.view(_download)
