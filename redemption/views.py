"""Download of a supplier's monthly settlement statement (CSV) from a signed link.

The merchant API's ``settlement { downloadUrl }`` hands the link to the merchant's
staff; the link is the authorisation, as for batch exports (``core.signed_links``):
it names one merchant and one month, cannot be altered, and dies after 15 minutes.
So it opens in a plain browser tab, with no bearer token.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from core.signed_links import SignedLink, csv_attachment, refusal
from redemption import services as mall
from tenants.models import Merchant

# Names one merchant's statement for one month (merchant id, year, month), 15 minutes.
SETTLEMENT_LINK = SignedLink(
    salt="redemption.settlement.download",
    url_name="mall-settlement-download",
    fields={"m": int, "y": int, "n": int},
)


@SETTLEMENT_LINK.view
def download_settlement(
    request: HttpRequest, merchant_id: int, year: int, month: int
) -> HttpResponse:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return refusal(404, _("This statement is no longer available."))
    return csv_attachment(
        mall.settlement_csv(merchant, year, month),
        f"settlement-{merchant.slug}-{year:04d}-{month:02d}.csv",
    )
