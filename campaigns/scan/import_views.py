"""The upload of an import's file and the download of its report, from signed links.

As with exports (``campaigns.exports.views``) the link is the authorisation: the merchant
API hands it only to staff who may import, it names one import of one merchant, and it
expires. The upload takes ``multipart/form-data`` with the file in the field ``file``,
so a browser form or ``curl -F file=@codes.csv`` sends it; answers are JSON.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import CodeImport
from campaigns.scan import imports
from core.errors import DomainError
from core.signed_links import json_refusal, refusal
from tenants.models import Merchant


@imports.UPLOAD_LINK.upload
def upload_import_file(request: HttpRequest, schema: str, import_id: int) -> HttpResponse:
    merchant = Merchant.objects.filter(schema_name=schema).first()
    file = request.FILES.get("file")
    if merchant is None:
        return json_refusal(404, "NOT_FOUND", _("This import no longer exists."))
    if file is None:
        return json_refusal(400, "REQUIRED", _("Send the file in the form field “file”."))
    with tenant_context(merchant):
        code_import = CodeImport.objects.filter(pk=import_id).first()
        if code_import is None:
            return json_refusal(404, "NOT_FOUND", _("This import no longer exists."))
        try:
            code_import = imports.receive_file(code_import, file)
        except DomainError as exc:
            status = 413 if exc.code == CampaignErrorCode.IMPORT_FILE_TOO_LARGE else 409
            return json_refusal(status, str(exc.code), str(exc))
    return JsonResponse({"status": code_import.status}, status=202)


@imports.REPORT_LINK.view
def download_import_report(request: HttpRequest, schema: str, import_id: int) -> HttpResponseBase:
    merchant = Merchant.objects.filter(schema_name=schema).first()
    gone = _("This report is no longer available.")
    if merchant is None:
        return refusal(404, gone)
    with tenant_context(merchant):
        code_import = CodeImport.objects.filter(pk=import_id).first()
    if code_import is None:
        return refusal(404, gone)

    def body() -> Iterator[str]:
        # Streamed (a file of bad lines may report millions), in the merchant's schema.
        with tenant_context(merchant):
            yield from imports.report_rows(code_import)

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{import_id}-refused.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
