"""The anti-counterfeit answer (防伪查询): is this code ours, what is it, how often looked up.

Public, like the preview (``campaigns.scan.preview``), and limited the same way: the
shape and check character are checked first, guesses count toward the per-IP failure
window and every check toward the per-IP cap. It answers what a buyer needs to judge an
item and nothing about who scanned it before:

- genuine or not (a code we never generated is not);
- the product: the batch's name and SKU, the merchant and campaign;
- when and in which region the code was **first** scanned (crawlers left out);
- how many times it has been looked up, deduplicated per consumer or device within
  ``events.DEDUP_WINDOW_SECONDS``, this check included when it counts;
- a warning when the code looks copied (``CodeScans.suspicion``).

A code whose batch carries hidden codes (刮开涂层, ``campaigns.scan.hidden``) is answered
only with its hidden code: ``HIDDEN_CODE_REQUIRED`` without one, ``HIDDEN_CODE_WRONG``
(limited per code and per client) for a wrong one; nothing about the item before.

The counts come from the drained events (``CodeScans``), plus this check: events still
queued are a few seconds behind at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django_tenants.utils import tenant_context

from campaigns.models import Code, CodeScans, ScanSource, SuspicionReason
from campaigns.scan import claims, events, hidden, preview
from campaigns.scan.routing import route
from core import iplocation, ratelimit, regions
from core.errors import DomainError
from tenants.models import Merchant


@dataclass(frozen=True)
class Verification:
    genuine: bool
    code: str | None = None
    merchant_name: str | None = None
    campaign_name: str | None = None
    product_name: str | None = None
    sku: str | None = None
    claimed: bool = False
    first_scanned_at: datetime | None = None
    first_region: str = ""  # GB/T 2260 code
    first_region_approximate: bool = True
    lookups: int = 0
    warning: SuspicionReason | None = None

    @property
    def first_region_name(self) -> str:
        return regions.full_name(self.first_region) if self.first_region else ""


def verify_code(
    raw_code: str, scanner: events.Scanner, hidden_code: str | None = None
) -> Verification:
    """Answer a buyer's check of ``raw_code``; ``DomainError`` for malformed codes, and for
    a missing or wrong ``hidden_code`` when the code's batch has them."""
    window = claims.FAILURE_WINDOW_SECONDS
    failures = f"scan-fail:ip:{scanner.ip}" if scanner.ip else None
    if failures:
        ratelimit.ensure_below(failures, claims.MAX_FAILURES_PER_IP, window)
        ratelimit.check(f"scan-preview:ip:{scanner.ip}", preview.MAX_PREVIEWS_PER_IP, window)
    try:
        parsed = route(raw_code)  # ours: no query; imported: its routing row
    except DomainError:
        if failures:
            ratelimit.hit(failures, claims.MAX_FAILURES_PER_IP, window)
        raise
    merchant = Merchant.find(parsed.merchant_id)
    found = _lookup(merchant, parsed.code) if merchant is not None else None
    if found is None:
        if failures:
            ratelimit.hit(failures, claims.MAX_FAILURES_PER_IP, window)
        if merchant is not None:
            events.record(merchant.pk, parsed.code, ScanSource.VERIFY, "unknown", scanner)
        return Verification(genuine=False)
    assert merchant is not None  # found only in a merchant's schema
    row, summary = found
    batch = row.batch
    if batch.hidden_code:
        try:
            with tenant_context(merchant):
                hidden.check(merchant.pk, parsed.code, hidden_code, scanner.ip)
        except DomainError as refused:
            events.record(
                merchant.pk, parsed.code, ScanSource.VERIFY, str(refused.code).lower(), scanner
            )
            raise
    counted = events.record_counted(merchant.pk, parsed.code, ScanSource.VERIFY, "genuine", scanner)
    first_at, first_region, approximate = _first_scan(summary, scanner)
    return Verification(
        genuine=True,
        code=parsed.code,
        merchant_name=merchant.name,
        campaign_name=batch.campaign.name,
        product_name=batch.name or batch.campaign.name,
        sku=batch.sku,
        claimed=row.claimed_at is not None,
        first_scanned_at=first_at,
        first_region=first_region,
        first_region_approximate=approximate,
        lookups=(summary.lookups if summary else 0) + bool(counted),
        warning=SuspicionReason(summary.suspicion) if summary and summary.suspicion else None,
    )


def _lookup(merchant: Merchant, code: str) -> tuple[Code, CodeScans | None] | None:
    with tenant_context(merchant):
        row = (
            Code.objects.select_related("batch__campaign")
            .only(
                "code",
                "claimed_at",
                "batch__name",
                "batch__sku",
                "batch__hidden_code",
                "batch__campaign__name",
            )
            .filter(code=code)
            .first()
        )
        if row is None:
            return None
        return row, CodeScans.objects.filter(code=code).first()


def _first_scan(summary: CodeScans | None, scanner: events.Scanner) -> tuple[datetime, str, bool]:
    """The first scan on record, or this one (its region from the address) if none is."""
    if summary is not None:
        return summary.first_scanned_at, summary.first_region, summary.first_approximate
    if scanner.latitude is not None and scanner.longitude is not None:
        return timezone.now(), regions.nearest(scanner.latitude, scanner.longitude).code, False
    found = iplocation.region_of(scanner.ip)
    return timezone.now(), found.code if found else "", True
