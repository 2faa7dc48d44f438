"""Download of a supplier's monthly settlement statement (CSV) from a signed link.

The merchant API's ``settlement { downloadUrl }`` hands the link to the merchant's
staff; the link is the authorisation, as for batch exports (``campaigns.views``): it
names one merchant and one month, cannot be altered, and dies after 15 minutes. So
it opens in a plain browser tab, with no bearer token.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from redemption import services as mall
from redemption.schema import read_settlement_token
from tenants.models import Merchant


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(
        message + "\n",
        status=status,
        content_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@require_safe
def download_settlement(request: HttpRequest, token: str) -> HttpResponse:
    try:
        merchant_id, year, month = read_settlement_token(token)
    except signing.SignatureExpired:
        return _refusal(
            403, _("This download link has expired. Get a new one from the merchant console.")
        )
    except signing.BadSignature:
        return _refusal(403, _("This download link is not valid."))
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return _refusal(404, _("This statement is no longer available."))
    # A byte order mark, so that spreadsheet programs read the Chinese titles as UTF-8.
    body = "\ufeff" + mall.settlement_csv(merchant, year, month)
    return HttpResponse(
        body.encode(),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="settlement-{merchant.slug}-{year:04d}-{month:02d}.csv"'
            ),
            "Cache-Control": "private, no-store",
        },
    )
