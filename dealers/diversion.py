"""Diversion (窜货): goods scanned outside the sales regions of the dealer they went to.

Two places look, neither on an ordinary claim's path (decision 0247):

- :func:`detect`, registered with the scan-event drainer: every newly written, located
  scan of an assigned code is checked against its dealer's regions; one outside them is a
  ``DiversionEvent`` (one row per code and region, counted after that), whose first write
  sends the ``diversion.suspected`` webhook in the same transaction.
- :func:`refuse_if_diverted`, registered with the claim: only for a claim that sends a
  location the consumer consented to, and only refusing when the code's campaign says so.
  An IP address's region never refuses (mobile data often leaves from the SIM's home
  province): the drainer flags it, nothing more. A refusal writes nothing, so the code
  stays claimable inside its region.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.models import UserAgentClass
from campaigns.scan.events import Event
from core import regions
from core.db import connection, rows
from core.errors import DomainError
from dealers.error_codes import DealerErrorCode
from dealers.models import DiversionAction, covers
from tenants.models import Merchant
from webhooks import events as webhooks
from webhooks import payloads
from webhooks.models import EventType

# A located claim is refused only when no district within this distance of the point is
# in the dealer's regions: the nearest centroid alone can name a neighbour (decision 0248).
REFUSAL_MARGIN_KM = 10.0
REFUSED_OUTCOME = DealerErrorCode.DIVERSION_REFUSED.value.lower()

_DEALERS_OF_CODES = """
SELECT c.code, c.batch_id, d.id, d.name, d.regions
  FROM campaigns_code c
  JOIN dealers_dealerassignment a
    ON a.batch_id = c.batch_id AND c.serial BETWEEN a.first_serial AND a.last_serial
  JOIN dealers_dealer d ON d.id = a.dealer_id
 WHERE c.code = ANY(%s)
"""

_UPSERT = """
INSERT INTO dealers_diversionevent AS v
    (code, region, dealer_id, batch_id, approximate, refused, scans, latitude, longitude,
     first_scanned_at, last_scanned_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::boolean[],
                     %s::boolean[], %s::integer[], %s::numeric[], %s::numeric[],
                     %s::timestamptz[], %s::timestamptz[])
    ON CONFLICT (code, region) DO UPDATE SET
       scans = v.scans + excluded.scans,
       approximate = v.approximate AND excluded.approximate,
       refused = v.refused OR excluded.refused,
       latitude = coalesce(excluded.latitude, v.latitude),
       longitude = coalesce(excluded.longitude, v.longitude),
       last_scanned_at = greatest(v.last_scanned_at, excluded.last_scanned_at)
RETURNING code, region, (xmax = 0) AS inserted
"""

# Only for a campaign that refuses, and only the code's own dealer: one index lookup each.
_REFUSING_DEALER = """
SELECT d.regions
  FROM campaigns_code c
  JOIN campaigns_codebatch b ON b.id = c.batch_id
  JOIN dealers_diversionpolicy p ON p.campaign_id = b.campaign_id AND p.action = %s
  JOIN dealers_dealerassignment a
    ON a.batch_id = c.batch_id AND c.serial BETWEEN a.first_serial AND a.last_serial
  JOIN dealers_dealer d ON d.id = a.dealer_id
 WHERE c.code = %s
"""


@dataclass
class Sighting:
    """A code's scans in one region outside its dealer's, from one drain."""

    code: str
    region: str
    dealer_id: int
    dealer_name: str
    batch_id: int
    approximate: bool
    refused: bool
    scans: int
    latitude: Decimal | None
    longitude: Decimal | None
    first_scanned_at: datetime
    last_scanned_at: datetime

    @property
    def region_name(self) -> str:
        return regions.full_name(self.region)


@dataclass(frozen=True)
class _Dealer:
    pk: int
    name: str


def sightings(events: Sequence[Event], dealers: dict[str, tuple[Any, ...]]) -> list[Sighting]:
    """The events outside their code's dealer's regions, one per code and region."""
    found: dict[tuple[str, str], Sighting] = {}
    for event in events:
        assigned = dealers.get(event.code)
        if assigned is None or not event.region or event.agent == UserAgentClass.CRAWLER:
            continue
        batch_id, dealer_id, dealer_name, sales_regions = assigned
        if covers(sales_regions, event.region):
            continue
        refused = event.outcome == REFUSED_OUTCOME
        seen = found.get((event.code, event.region))
        if seen is None:
            found[(event.code, event.region)] = Sighting(
                event.code,
                event.region,
                dealer_id,
                dealer_name,
                batch_id,
                event.approximate,
                refused,
                1,
                event.latitude,
                event.longitude,
                event.scanned_at,
                event.scanned_at,
            )
            continue
        seen.scans += 1
        seen.approximate = seen.approximate and event.approximate
        seen.refused = seen.refused or refused
        seen.last_scanned_at = max(seen.last_scanned_at, event.scanned_at)
        if event.latitude is not None:
            seen.latitude, seen.longitude = event.latitude, event.longitude
    return list(found.values())


def detect(events: list[Event]) -> None:
    """The scan-event drainer's hook: in the merchant's schema and its transaction."""
    located = sorted({e.code for e in events if e.region and e.agent != UserAgentClass.CRAWLER})
    if not located:
        return
    dealers = {
        code: (batch_id, dealer_id, name, sales_regions)
        for code, batch_id, dealer_id, name, sales_regions in rows.fetch_all(
            _DEALERS_OF_CODES, [located]
        )
    }
    found = sightings(events, dealers)
    if not found:
        return
    columns = [
        [getattr(s, name) for s in found]
        for name in (
            "code",
            "region",
            "dealer_id",
            "batch_id",
            "approximate",
            "refused",
            "scans",
            "latitude",
            "longitude",
            "first_scanned_at",
            "last_scanned_at",
        )
    ]
    written = rows.fetch_all(_UPSERT, columns)
    new = {(code, region) for code, region, inserted in written if inserted}
    merchant_id = connection.tenant.pk
    for sighting in found:
        if (sighting.code, sighting.region) in new:
            webhooks.record(
                merchant_id, EventType.DIVERSION_SUSPECTED, _payload(merchant_id, sighting)
            )


def _payload(merchant_id: int, sighting: Sighting) -> Callable[[], dict[str, Any]]:
    dealer = _Dealer(sighting.dealer_id, sighting.dealer_name)
    return lambda: payloads.diversion_suspected(merchant_id, sighting, dealer)


def outside(sales_regions: list[str], latitude: float, longitude: float) -> bool:
    """Whether a precise location is surely outside the regions (the margin allowed)."""
    near = regions.districts_near(latitude, longitude, REFUSAL_MARGIN_KM)
    return not any(covers(sales_regions, d.code) for d in near)


def refuse_if_diverted(merchant: Merchant, code: str, latitude: float, longitude: float) -> None:
    """The claim's hook for a consented precise location: refuse a diverted claim when the
    code's campaign refuses; nothing is written (the drainer records the diversion from
    the claim's scan event, refused)."""
    with tenant_context(merchant):
        found = rows.fetch_one(_REFUSING_DEALER, [DiversionAction.REFUSE.value, code])
    if found is None or not outside(found[0], latitude, longitude):
        return
    raise DomainError(
        DealerErrorCode.DIVERSION_REFUSED,
        _("These goods are sold in another region: their points cannot be collected here."),
        "code",
    )
