"""Download of a rendered batch export from a signed, expiring link.

The link (``campaigns.exports.service.DOWNLOAD_LINK``, see ``core.signed_links``) is the
authorisation, like a pre-signed storage URL: the merchant API hands it only to staff
allowed to download, it names one export of one merchant, and it dies after 15
minutes. No session or bearer token is needed, so it works in a plain browser tab or
from a print shop.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.exports import service
from campaigns.models import BatchExport
from core.signed_links import refusal
from tenants.models import Merchant


class _DeletedOnClose:
    """A stored file, deleted from storage once the response has sent (and closed) it."""

    def __init__(self, file: Any, name: str) -> None:
        self._file = file
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._file, attribute)

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._file.read(size)
        return data

    def close(self) -> None:
        self._file.close()
        default_storage.delete(self._name)


@service.DOWNLOAD_LINK.view
def download_export(
    request: HttpRequest, schema: str, export_id: int
) -> HttpResponse | FileResponse:
    merchant = Merchant.objects.filter(schema_name=schema).first()
    unavailable = _("This export is no longer available (its batch may have been voided).")
    if merchant is None:
        return refusal(404, unavailable)
    with tenant_context(merchant):
        export = BatchExport.objects.select_related("batch").filter(pk=export_id).first()
        if export is None or not service.is_downloadable(export):
            return refusal(404, unavailable)
        once = service.issues_hidden_codes(export)
        if once and not service.mark_downloaded(export):
            # Its one download was just taken by another request.
            return refusal(410, _("This file held hidden codes and was downloaded already."))
        try:
            file: Any = default_storage.open(export.file_name, "rb")
        except FileNotFoundError:
            return refusal(404, unavailable)
        if once:
            # The hidden codes are shown once (decision 0290): the file goes with the
            # response that carried it.
            file = _DeletedOnClose(file, export.file_name)
    extension = service.stored_extension(export)
    response = FileResponse(
        file,
        as_attachment=True,
        filename=service.download_name(export.batch, extension),
        content_type=service.content_type(extension),
    )
    response["Cache-Control"] = "private, no-store"
    return response
