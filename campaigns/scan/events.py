"""Scan events: recorded off the claim's path, drained into the merchant's schema once.

Recording (:func:`record`, after the page, the preview or the claim has answered) is a
Lua script: it decides whether the scan counts as a lookup (not a crawler, and neither
this consumer nor this device looked at this code in the last ``DEDUP_WINDOW_SECONDS``)
and appends the event to one stream, atomically, so that the decision and the event
cannot part (decision 0197). The request does not wait for it: the call is queued, and a
thread of the process sends each moment's calls in one round trip (decision 0335). Only
the verification page, which shows the count, waits (:func:`record_counted`).

Draining (:func:`drain`, by ``manage.py drain_scan_events`` continuously and by a beat
task as a safety net) reads the stream as a consumer group, writes each merchant's
events in one transaction (a multi-row insert, its rollups and per-code summaries from
the rows actually inserted), then acknowledges and deletes the entries. A row's id is its
stream entry's id, so an entry read again after a drainer died (before writing, or after
writing but before acknowledging: :func:`drain` reclaims entries left idle) inserts
nothing and adds nothing: exactly one row per scan (decision 0198).

The IP address travels in the stream only: the database keeps its region, never the
address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import socket
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import CodeScans, ScanSource, SuspicionReason, UserAgentClass
from campaigns.scan.routing import route
from core import iplocation, redislink, regions
from core.cache import redis_client
from core.db import connection, locks, rows
from core.errors import DomainError
from tenants.models import Merchant

logger = logging.getLogger(__name__)

DEDUP_WINDOW_SECONDS = 600
# A genuine item is looked up by its buyer, perhaps again later: this many distinct
# lookups (deduplicated) of one code is a label copied onto other goods (decision 0200).
SUSPICIOUS_LOOKUPS = 5
# Two scans this far apart within FAR_APART_WITHIN cannot be one item (no one travels
# 500 km in an hour by road; IP regions are cities, so nearer pairs are noise).
FAR_APART_KM = 500
FAR_APART_WITHIN = timedelta(hours=1)
STREAM = "scan-events"
GROUP = "drainers"
# A drainer that read entries and stopped for this long died: its entries are taken over.
RECLAIM_IDLE_MS = 60_000
# A stream id is milliseconds and a sequence; the row id packs both in 64 bits.
SEQUENCE_SPACE = 4096

_CRAWLER = re.compile(
    r"bot\b|bot/|spider|crawl|slurp|facebookexternalhit|preview|curl/|wget/|"
    r"python-requests|python-urllib|okhttp|go-http-client|java/|headlesschrome.*bot",
    re.IGNORECASE,
)

# KEYS: the stream, the device's dedup key, the consumer's (or the device's again).
# ARGV: the window, 1 if the scan may count (not a crawler), the event.
_RECORD = redislink.Script(
    """
local counted = 0
if ARGV[2] == '1' then
  local device = redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1])
  local person = redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1])
  if device and (person or KEYS[3] == KEYS[2]) then counted = 1 end
end
return {redis.call('XADD', KEYS[1], '*', 'e', ARGV[3], 'c', counted), counted}
"""
)


def classify(user_agent: str) -> UserAgentClass:
    """WeChat and Alipay announce themselves; crawlers and link previews mostly do too."""
    if "MicroMessenger" in user_agent:
        return UserAgentClass.WECHAT
    if "AlipayClient" in user_agent or "AliApp(AP" in user_agent:
        return UserAgentClass.ALIPAY
    if not user_agent.strip() or _CRAWLER.search(user_agent):
        return UserAgentClass.CRAWLER
    return UserAgentClass.BROWSER


def fingerprint(ip: str | None, user_agent: str) -> int:
    """64 bits of a keyed hash of the address and browser: a device, never reversible."""
    digest = hashlib.blake2b(
        f"{ip or ''}|{user_agent}".encode(),
        digest_size=8,
        key=settings.SECRET_KEY.encode()[:64],
        person=b"scan-device",
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def rounded(value: float | None) -> Decimal | None:
    """WGS-84 degrees to 0.01° (about 1 km): what issue 22's location fields keep."""
    return None if value is None else Decimal(str(round(value, 2)))


def location(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    """A location the page sent (both coordinates or neither), checked; WGS-84 degrees."""
    if latitude is None and longitude is None:
        return None
    if (
        latitude is None
        or longitude is None
        or not (math.isfinite(latitude) and math.isfinite(longitude))
        or not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
    ):
        raise DomainError(
            CampaignErrorCode.INVALID_LOCATION,
            _("The location is not a valid WGS-84 latitude and longitude."),
            "latitude",
        )
    return latitude, longitude


@dataclass(frozen=True)
class Scanner:
    """Who scanned: what the request tells, nothing stored that names a person."""

    ip: str | None
    user_agent: str
    consumer_id: int | None = None
    # A location the browser gave with the consumer's consent (issue 22), WGS-84.
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def from_request(
        cls,
        request: HttpRequest,
        consumer_id: int | None = None,
        location: tuple[float, float] | None = None,
    ) -> Scanner:
        # Behind a proxy, REMOTE_ADDR is set by it (api.permissions.client_ip).
        latitude, longitude = location if location is not None else (None, None)
        return cls(
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.headers.get("User-Agent", "")[:500],
            consumer_id=consumer_id,
            latitude=latitude,
            longitude=longitude,
        )


def enabled() -> bool:
    return bool(settings.SCAN_EVENTS)


def _key(name: str) -> str:
    return caches["default"].make_key(name)


# The page's, the preview's and the claim's events: nobody waits for their answer, so the
# process sends each moment's in one round trip (decision 0335).
SEND_DELAY_SECONDS = 0.05
_sender = redislink.Sender(_RECORD, SEND_DELAY_SECONDS, "scan-events-sender")


def _payload(
    merchant_id: int, code: str, source: ScanSource, outcome: str, scanner: Scanner
) -> tuple[str, int, bool]:
    """The stream entry's payload, the device's fingerprint, and whether the scan may
    count as a lookup (not a crawler)."""
    agent = classify(scanner.user_agent)
    device = fingerprint(scanner.ip, scanner.user_agent)
    payload = json.dumps(
        [
            merchant_id,
            code,
            source.value,
            outcome[:32],
            scanner.consumer_id,
            device,
            agent.value,
            scanner.ip,
            scanner.latitude,
            scanner.longitude,
        ],
        separators=(",", ":"),
    )
    return payload, device, agent != UserAgentClass.CRAWLER


def _call(
    link: redislink.Link,
    merchant_id: int,
    code: str,
    source: ScanSource,
    outcome: str,
    scanner: Scanner,
) -> tuple[list[str], list[Any]]:
    """The keys and arguments of the recording script for one scan."""
    payload, device, may_count = _payload(merchant_id, code, source, outcome, scanner)
    device_key = link.make_key(f"scan-seen:{merchant_id}:{code}:d{device}")
    person_key = (
        link.make_key(f"scan-seen:{merchant_id}:{code}:c{scanner.consumer_id}")
        if scanner.consumer_id
        else device_key
    )
    return (
        [link.make_key(STREAM), device_key, person_key],
        [DEDUP_WINDOW_SECONDS, int(may_count), payload],
    )


def record(merchant_id: int, code: str, source: ScanSource, outcome: str, scanner: Scanner) -> None:
    """Queue one scan event, sent to the stream within ``SEND_DELAY_SECONDS`` by the
    process's sender. Never raises: the scan has already been answered, and a lost event
    must not turn a claim into an error. Without Redis (the demo on a bare machine) the
    event is written at once."""
    if not enabled():
        return
    link = redislink.link()
    if link is None:
        _write_now(merchant_id, code, source, outcome, scanner)
        return
    _sender.send(_call(link, merchant_id, code, source, outcome, scanner))


def record_counted(
    merchant_id: int, code: str, source: ScanSource, outcome: str, scanner: Scanner
) -> bool | None:
    """Record one scan event now and answer whether it counts as a lookup (the
    verification page shows the count with it); None if it was not recorded. Never
    raises, as :func:`record`."""
    if not enabled():
        return None
    link = redislink.link()
    if link is None:
        return _write_now(merchant_id, code, source, outcome, scanner)
    try:
        _entry, counted = link.run(
            _RECORD, *_call(link, merchant_id, code, source, outcome, scanner)
        )
    except redis.RedisError:
        logger.warning("scan event of %s not queued: Redis failed", code, exc_info=True)
        return None
    return bool(counted)


def flush() -> int:
    """Send this process's queued events now (a drain in the same process; tests)."""
    return _sender.flush()


@dataclass
class Scan:
    """What :func:`scanned` records when its block ends: set ``outcome`` inside it."""

    outcome: str = "answered"


@contextmanager
def scanned(source: ScanSource, raw_code: str, scanner: Scanner) -> Iterator[Scan]:
    """Record a scan of ``raw_code`` after the block answered it (or refused it: the
    refusal's code is the outcome). A malformed code names no merchant: not recorded."""
    scan = Scan()
    try:
        yield scan
    except DomainError as exc:
        scan.outcome = str(exc.code).lower()
        _record_raw(source, raw_code, scanner, scan)
        raise
    _record_raw(source, raw_code, scanner, scan)


def _record_raw(source: ScanSource, raw_code: str, scanner: Scanner, scan: Scan) -> None:
    try:
        parsed = route(raw_code)  # ours: no query; imported: its routing row
    except DomainError:
        return
    record(parsed.merchant_id, parsed.code, source, scan.outcome, scanner)


# --- Draining ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    id: int
    scanned_at: datetime
    merchant_id: int
    code: str
    source: str
    outcome: str
    consumer_id: int | None
    fingerprint: int
    agent: str
    counted: bool
    region: str
    latitude: Decimal | None
    longitude: Decimal | None
    approximate: bool


def row_id(entry_id: str) -> tuple[int, datetime]:
    """The row id and time of stream entry ``<ms>-<sequence>``."""
    millis, sequence = (int(part) for part in entry_id.split("-"))
    if sequence >= SEQUENCE_SPACE:
        raise ValueError(f"stream entry {entry_id}: over {SEQUENCE_SPACE} in one millisecond")
    return millis * SEQUENCE_SPACE + sequence, datetime.fromtimestamp(millis / 1000, tz=UTC)


def _event(entry_id: str, payload: str, counted: bool) -> Event:
    merchant_id, code, source, outcome, consumer_id, device, agent, ip, lat, lon = json.loads(
        payload
    )
    ident, scanned_at = row_id(entry_id)
    region, approximate = "", True
    latitude = longitude = None
    if lat is not None and lon is not None:
        # A location the browser gave: the district it is nearest to, not approximate.
        region, approximate = regions.nearest(lat, lon).code, False
        latitude, longitude = rounded(lat), rounded(lon)
    else:
        found = iplocation.region_of(ip)
        if found is not None:
            region = found.code
            latitude, longitude = rounded(found.latitude), rounded(found.longitude)
    return Event(
        ident,
        scanned_at,
        merchant_id,
        code,
        source,
        outcome,
        consumer_id,
        device,
        agent,
        counted,
        region,
        latitude,
        longitude,
        approximate,
    )


def _ensure_group(client: Any) -> None:
    try:
        client.xgroup_create(_key(STREAM), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def read(
    client: Any, count: int, block_ms: int | None, reclaim_idle_ms: int = RECLAIM_IDLE_MS
) -> list[tuple[str, dict[bytes, bytes]]]:
    """Entries to write: first those another drainer read and left idle (it died), then
    new ones. Read entries stay pending until :func:`acknowledge`."""
    _ensure_group(client)
    name = consumer_name()
    reclaimed = client.xautoclaim(_key(STREAM), GROUP, name, reclaim_idle_ms, "0-0", count=count)
    entries = reclaimed[1]
    if not entries:
        answer = client.xreadgroup(GROUP, name, {_key(STREAM): ">"}, count=count, block=block_ms)
        entries = answer[0][1] if answer else []
    return [(entry_id.decode(), fields) for entry_id, fields in entries if fields]


def acknowledge(client: Any, entry_ids: list[str]) -> None:
    if entry_ids:
        client.xack(_key(STREAM), GROUP, *entry_ids)
        client.xdel(_key(STREAM), *entry_ids)


def drain(
    count: int = 2000, block_ms: int | None = None, reclaim_idle_ms: int = RECLAIM_IDLE_MS
) -> int:
    """Write one read of the stream (up to ``count`` entries); the number written."""
    client = redis_client()
    if client is None:
        return 0
    flush()  # what this very process recorded a moment ago is in the stream too
    entries = read(client, count, block_ms, reclaim_idle_ms)
    write([_event(i, f[b"e"].decode(), f.get(b"c") == b"1") for i, f in entries])
    acknowledge(client, [entry_id for entry_id, _fields in entries])
    return len(entries)


def drain_all(reclaim_idle_ms: int = RECLAIM_IDLE_MS) -> int:
    """Drain until the stream has nothing new (what the beat task and tests run)."""
    total = 0
    while written := drain(reclaim_idle_ms=reclaim_idle_ms):
        total += written
    return total


def backlog() -> dict[str, int]:
    """Entries not yet written (queued) and read but not yet acknowledged (pending)."""
    client = redis_client()
    if client is None:
        return {"queued": 0, "pending": 0}
    flush()  # this process's events of a moment ago are queued too
    _ensure_group(client)
    pending = client.xpending(_key(STREAM), GROUP)["pending"]
    # Acknowledged entries are deleted: what remains is pending or not yet read.
    return {"queued": client.xlen(_key(STREAM)) - pending, "pending": pending}


def _write_now(
    merchant_id: int, code: str, source: ScanSource, outcome: str, scanner: Scanner
) -> bool:
    """Without Redis: the event written at once (no dedup window to consult: it counts
    unless a crawler made it)."""
    payload, _device, counted = _payload(merchant_id, code, source, outcome, scanner)
    now = datetime.now(tz=UTC)
    millis = int(now.timestamp() * 1000)
    # No stream to number it: the sequence comes from the clock's microseconds.
    entry = f"{millis}-{now.microsecond % 1000 * SEQUENCE_SPACE // 1000}"
    write([_event(entry, payload, counted)])
    return counted


def write(events: list[Event]) -> None:
    """Each merchant's events in one transaction of its own."""
    by_merchant: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        by_merchant[event.merchant_id].append(event)
    for merchant_id, theirs in by_merchant.items():
        merchant = Merchant.find(merchant_id)
        if merchant is None:
            continue  # a code with no provisioned merchant: nowhere to keep it
        with tenant_context(merchant), transaction.atomic():
            _write_merchant(theirs)


_INSERT = """
INSERT INTO campaigns_scanevent
    (id, scanned_at, code, batch_id, consumer_id, fingerprint, agent, source, outcome,
     counted, region, latitude, longitude, approximate)
SELECT e.id, e.scanned_at, e.code, c.batch_id, e.consumer_id, e.fingerprint, e.agent,
       e.source, e.outcome, e.counted, e.region, e.latitude, e.longitude, e.approximate
  FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::bigint[], %s::bigint[],
              %s::text[], %s::text[], %s::text[], %s::boolean[], %s::text[], %s::numeric[],
              %s::numeric[], %s::boolean[])
       AS e(id, scanned_at, code, consumer_id, fingerprint, agent, source, outcome, counted,
            region, latitude, longitude, approximate)
  LEFT JOIN campaigns_code c ON c.code = e.code
    ON CONFLICT (id) DO NOTHING
RETURNING id, batch_id
"""

_ROLLUP = """
INSERT INTO campaigns_scanday (day, batch_id, scans, lookups, crawlers, claims)
SELECT * FROM unnest(%s::date[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                     %s::bigint[])
    ON CONFLICT (day, batch_id) DO UPDATE SET
       scans = campaigns_scanday.scans + excluded.scans,
       lookups = campaigns_scanday.lookups + excluded.lookups,
       crawlers = campaigns_scanday.crawlers + excluded.crawlers,
       claims = campaigns_scanday.claims + excluded.claims
"""


# Called with each merchant's newly written events, in their transaction and the merchant's
# schema (the dealers app registers its diversion detection): campaigns knows no dealers.
_written_hooks: list[Callable[[list[Event]], None]] = []


def on_written(hook: Callable[[list[Event]], None]) -> None:
    if hook not in _written_hooks:
        _written_hooks.append(hook)


def _write_merchant(events: list[Event]) -> None:
    # One drainer per merchant at a time: the per-code summaries are read, then written.
    locks.advisory_xact_lock(f"scan-events:{connection.schema_name}")
    columns = list(
        zip(
            *(
                (
                    e.id,
                    e.scanned_at,
                    e.code,
                    e.consumer_id,
                    e.fingerprint,
                    e.agent,
                    e.source,
                    e.outcome,
                    e.counted,
                    e.region,
                    e.latitude,
                    e.longitude,
                    e.approximate,
                )
                for e in events
            ),
            strict=True,
        )
    )
    inserted = dict(rows.fetch_all(_INSERT, [list(column) for column in columns]))
    fresh = sorted((e for e in events if e.id in inserted), key=lambda e: e.id)
    if not fresh:
        return  # every event was written before (a replay after a crash)
    _add_to_rollups(fresh, inserted)
    _add_to_codes(fresh)
    for hook in _written_hooks:
        hook(fresh)


def local_day(when: datetime) -> date:
    return when.astimezone(ZoneInfo(settings.CONSUMER_TIME_ZONE)).date()


def _add_to_rollups(events: list[Event], batches: dict[int, int | None]) -> None:
    totals: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for event in events:
        counts = totals[(local_day(event.scanned_at), batches[event.id] or 0)]
        counts[0] += 1
        counts[1] += event.counted
        counts[2] += event.agent == UserAgentClass.CRAWLER
        counts[3] += event.source == ScanSource.CLAIM and event.outcome == "claimed"
    keys, values = list(totals), list(totals.values())
    rows.execute(
        _ROLLUP,
        [
            [day for day, _batch in keys],
            [batch for _day, batch in keys],
            *([v[i] for v in values] for i in range(4)),
        ],
    )


def _add_to_codes(events: list[Event]) -> None:
    # Crawlers and link previews say nothing about where the item is.
    people = [e for e in events if e.agent != UserAgentClass.CRAWLER]
    codes = sorted({e.code for e in people})
    if not codes:
        return
    known = {c.code: c for c in CodeScans.objects.filter(code__in=codes)}
    changed: dict[str, CodeScans] = {}
    for event in people:
        summary = known.get(event.code)
        if summary is None:
            summary = known[event.code] = CodeScans(
                code=event.code,
                first_scanned_at=event.scanned_at,
                first_region=event.region,
                first_approximate=event.approximate,
                last_scanned_at=event.scanned_at,
            )
        observe(summary, event)
        changed[event.code] = summary
    CodeScans.objects.bulk_create(
        list(changed.values()),
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=[
            "scans",
            "lookups",
            "last_scanned_at",
            "located_at",
            "latitude",
            "longitude",
            "region",
            "suspicion",
            "suspected_at",
            "distance_km",
        ],
    )


def observe(summary: CodeScans, event: Event) -> None:
    """One more scan of the code: counts, the last location, and whether it is suspicious."""
    summary.scans += 1
    summary.lookups += event.counted
    summary.last_scanned_at = max(summary.last_scanned_at, event.scanned_at)
    if event.latitude is not None and event.longitude is not None:
        if (
            summary.located_at is not None
            and summary.latitude is not None
            and summary.longitude is not None
            and event.scanned_at - summary.located_at <= FAR_APART_WITHIN
        ):
            apart = regions.distance_km(
                (float(summary.latitude), float(summary.longitude)),
                (float(event.latitude), float(event.longitude)),
            )
            if apart >= FAR_APART_KM and summary.suspicion != SuspicionReason.FAR_APART:
                summary.suspicion = SuspicionReason.FAR_APART
                summary.suspected_at = summary.suspected_at or event.scanned_at
                summary.distance_km = round(apart)
        summary.located_at = event.scanned_at
        summary.latitude, summary.longitude = event.latitude, event.longitude
        summary.region = event.region
    if summary.lookups >= SUSPICIOUS_LOOKUPS and not summary.suspicion:
        summary.suspicion = SuspicionReason.MANY_LOOKUPS
        summary.suspected_at = event.scanned_at
