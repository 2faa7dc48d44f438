"""A campaign's public link: ``<merchant id in base32>-<key>`` (``/q/<link>`` for a
questionnaire, ``/follow/<link>`` for a follow campaign).

The merchant comes from the link by primary key, like a scan code's (the same four
base32 characters, ``campaigns.scan.codes``), so no schema is searched. The rest is the
campaign's random ``link_key`` (65 bits): a link names no countable id, so one link
leads to no other questionnaire, the merchant's or another's (decision 0323). A link
of digits is the old one by campaign id; it opens only a campaign that had it before
keys existed (``Campaign.numeric_link``): its posters may be printed. The consumer API,
the consumer's pages and the poster all name a campaign this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.models import Campaign
from campaigns.models.campaigns import LINK_KEY_WIDTH
from campaigns.scan.codes import MAX_MERCHANT_ID, VALUE, decode_merchant, encode_merchant
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.models import Merchant

# (merchant id, key, kind) -> campaign id, for random keys only: a key never changes
# campaigns, so a submission costs no query to find its campaign after the first. (An
# old numeric link is not remembered: whether it still opens is the row's to say.)
_IDS: dict[tuple[int, str, str], int] = {}
_MAX_IDS = 4096


def questionnaire_link(merchant_id: int, key: str) -> str:
    """The link of the campaign whose ``link_key`` is ``key``."""
    return f"{encode_merchant(merchant_id)}-{key}"


def questionnaire_url(link: str) -> str:
    """What the share link and the poster's QR code open."""
    return f"{settings.PUBLIC_BASE_URL}/q/{link}"


def parse_link(link: str) -> tuple[int, str] | None:
    """(merchant id, key or old numeric id) of a link, or None when it is malformed
    (no query)."""
    prefix, sep, key = (link or "").strip().upper().partition("-")
    if (
        not sep
        or len(prefix) != 4
        or any(c not in VALUE for c in prefix)
        or not (
            (key.isdigit() and len(key) <= 18)
            or (len(key) == LINK_KEY_WIDTH and all(c in VALUE for c in key))
        )
    ):
        return None
    merchant_id = decode_merchant(prefix)
    if not 0 < merchant_id <= MAX_MERCHANT_ID:
        return None
    return merchant_id, key


def link_not_found() -> DomainError:
    """``NOT_FOUND`` on ``link``: a malformed link and an unknown one are refused alike."""
    return DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "link")


def _campaign_id(merchant_id: int, key: str, kind: str) -> int | None:
    """The campaign of ``kind`` a key names, in the current (the merchant's) schema."""
    if key.isdigit():
        return (
            Campaign.objects.filter(pk=int(key), kind=kind, numeric_link=True)
            .values_list("pk", flat=True)
            .first()
        )
    found = _IDS.get((merchant_id, key, kind))
    if found is None:
        found = (
            Campaign.objects.filter(link_key=key, kind=kind).values_list("pk", flat=True).first()
        )
        if found is not None:
            if len(_IDS) >= _MAX_IDS:
                _IDS.clear()
            _IDS[merchant_id, key, kind] = found
    return found


def find_campaign(link: str, kind: str) -> tuple[int, int]:
    """(merchant id, campaign id) of the campaign of ``kind`` a link names, or
    ``NOT_FOUND``; a remembered key costs no query."""
    parsed = parse_link(link)
    if parsed is None:
        raise link_not_found()
    merchant_id, key = parsed
    found = None if key.isdigit() else _IDS.get((merchant_id, key, kind))
    if found is None:
        with in_merchant_schema(link, kind) as (_merchant, found):
            pass
    return merchant_id, found


@contextmanager
def in_merchant_schema(link: str, kind: str) -> Iterator[tuple[Merchant, int]]:
    """Run in the schema of the link's merchant with the id of the campaign of ``kind``
    it names (``NOT_FOUND`` when none); the previous schema is restored after."""
    parsed = parse_link(link)
    merchant = Merchant.find(parsed[0]) if parsed else None
    if merchant is None or parsed is None:
        raise link_not_found()
    with tenant_context(merchant):
        campaign_id = _campaign_id(merchant.pk, parsed[1], kind)
        if campaign_id is None:
            raise link_not_found()
        yield merchant, campaign_id
