"""The merchant's statement as a CSV file, from a signed, expiring link (core.signed_links).

The merchant API's ``ledgerCsv`` mints the link for a member of the merchant, with the
statement's filters inside the signed token: the file is that merchant's movements and
no other's. It is streamed, a chunk of rows at a time, so a statement of years is
never held in memory.
"""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from core.signed_links import SignedLink, refusal
from points import statement
from tenants.models import Merchant

LEDGER_CSV = SignedLink(
    salt="points.ledger.csv",
    url_name="ledger-csv",
    fields={"m": int, "s": str, "u": str, "k": str, "c": int},
)


@LEDGER_CSV.view
def ledger_csv(
    request: HttpRequest, merchant_id: int, since: str, until: str, kind: str, campaign: int
) -> HttpResponseBase:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        return refusal(404, _("This merchant no longer exists."))
    try:
        which = statement.from_link_values(since, until, kind, campaign)
    except ValueError:
        return refusal(403, _("This download link is not valid."))
    return StreamingHttpResponse(
        statement.csv_lines(merchant.pk, which),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="ledger-{merchant.slug}.csv"',
            "Cache-Control": "private, no-store",
        },
    )
