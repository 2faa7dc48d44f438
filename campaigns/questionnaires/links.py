"""A questionnaire's public link: ``<merchant id in base32>-<campaign id>`` (``/q/<link>``).

The merchant comes from the link by primary key, like a scan code's (the same four
base32 characters, ``campaigns.scan.codes``), so no schema is searched. The consumer
API, the consumer's page and the poster all name a questionnaire this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.scan.codes import MAX_MERCHANT_ID, VALUE, decode_merchant, encode_merchant
from core.error_codes import CoreErrorCode
from core.errors import DomainError
from tenants.models import Merchant


def questionnaire_link(merchant_id: int, campaign_id: int) -> str:
    return f"{encode_merchant(merchant_id)}-{campaign_id}"


def questionnaire_url(link: str) -> str:
    """What the share link and the poster's QR code open."""
    return f"{settings.PUBLIC_BASE_URL}/q/{link}"


def parse_link(link: str) -> tuple[int, int] | None:
    """(merchant id, campaign id) of a link, or None when it is malformed (no query)."""
    prefix, sep, pk = (link or "").strip().upper().partition("-")
    if (
        not sep
        or len(prefix) != 4
        or any(c not in VALUE for c in prefix)
        or not pk.isdigit()
        or len(pk) > 18
    ):
        return None
    merchant_id = decode_merchant(prefix)
    if not 0 < merchant_id <= MAX_MERCHANT_ID:
        return None
    return merchant_id, int(pk)


def link_not_found() -> DomainError:
    """``NOT_FOUND`` on ``link``: a malformed link and an unknown one are refused alike."""
    return DomainError(CoreErrorCode.NOT_FOUND, _("No such questionnaire."), "link")


@contextmanager
def in_merchant_schema(link: str) -> Iterator[tuple[Merchant, int]]:
    """Run in the schema of the link's merchant; the previous schema is restored after."""
    parsed = parse_link(link)
    merchant = Merchant.find(parsed[0]) if parsed else None
    if merchant is None or parsed is None:
        raise link_not_found()
    with tenant_context(merchant):
        yield merchant, parsed[1]
