"""The console's link to a campaign's consumer page, as a consumer would see it
(decision 0324).

A signed link (``core.signed_links``) names the merchant and the campaign for 15
minutes; whoever holds it sees the page of any kind (a scan campaign's offer, a
questionnaire, a follow campaign) with a banner saying it is a preview. It is not a
visit: the page is drawn from what the server reads, and its script sends nothing
that counts (no scan event, lookup, questionnaire open, response, follow or claim).
It names no code, so nothing can be claimed from it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from core.signed_links import SignedLink

PREVIEW_LINK = SignedLink(
    salt="campaigns.preview",
    url_name="campaign-preview",
    fields={"m": int, "c": int},
    expired_message=gettext_lazy(
        "This preview link has expired. Open a new one from the merchant console."
    ),
)
