"""Pushes and uploads that come by plain HTTP, not through the merchant API.

The merchant's logo: POSTed (``multipart/form-data``, field ``file``) to the signed
link ``merchantLogoUpload`` gives (``tenants.branding``), as code imports' files are.

WeChat's pushes to our third-party platform's message URL (授权事件接收 URL).

WeChat POSTs the ``component_verify_ticket`` every ten minutes and the authorisation
events (``authorized``, ``updateauthorized``, ``unauthorized``), encrypted, with
``msg_signature``, ``timestamp`` and ``nonce`` in the query string. We answer
``success`` within its five seconds; a push that is not signed with our token and
encrypted with our key is refused (403). WeChat retries a push it thinks failed, so
the same bytes are applied once (``tenants.wechat.seen_push``).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.signed_links import json_refusal
from core.wechat import component as wechat
from core.wechat import component_enabled
from tenants import branding
from tenants import wechat as official_accounts
from tenants.error_codes import MerchantErrorCode
from tenants.models import Merchant

logger = logging.getLogger(__name__)


@branding.UPLOAD_LINK.upload
def upload_logo(request: HttpRequest, schema: str) -> HttpResponse:
    """Store the merchant's logo: 200, or JSON ``errors`` with the logo's error code."""
    merchant = Merchant.objects.filter(schema_name=schema).first()
    file = request.FILES.get("file")
    if merchant is None:
        return json_refusal(404, "NOT_FOUND", _("This merchant no longer exists."))
    if file is None:
        return json_refusal(400, "REQUIRED", _("Send the file in the form field “file”."))
    try:
        # A big file is refused by its size before it is read (Django spooled it to disk).
        branding.check_size(file.size or 0)
        branding.set_logo(merchant, file.read(branding.MAX_LOGO_BYTES + 1))
    except DomainError as exc:
        status = 413 if exc.code == MerchantErrorCode.LOGO_TOO_LARGE else 400
        return json_refusal(status, str(exc.code), str(exc))
    return JsonResponse({"logo": branding.logo_data_url(merchant)})


@csrf_exempt  # WeChat's servers post here; the message signature is the authentication
@require_POST
def component_events(request: HttpRequest) -> HttpResponse:
    if not component_enabled():
        return HttpResponse("not configured", status=404, content_type="text/plain")
    body = request.body
    try:
        fields = wechat.decrypt(
            body,
            request.GET.get("msg_signature", ""),
            request.GET.get("timestamp", ""),
            request.GET.get("nonce", ""),
        )
    except wechat.PushRefused as refused:
        logger.warning("WeChat component push refused: %s", refused)
        return HttpResponseForbidden("bad signature", content_type="text/plain")
    if official_accounts.seen_push(body):
        return HttpResponse("success", content_type="text/plain")
    try:
        done = official_accounts.apply_push(fields)
    except Exception:
        # Not "success": WeChat pushes it again, and the retry is applied, not skipped.
        official_accounts.forget_push(body)
        logger.exception("WeChat component push %s failed", fields.get("InfoType"))
        return HttpResponse("retry", status=500, content_type="text/plain")
    logger.info("WeChat component push %s: %s", fields.get("InfoType"), done)
    return HttpResponse("success", content_type="text/plain")
