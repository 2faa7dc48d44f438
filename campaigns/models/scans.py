"""Scan events: every opening of a code's page or API, kept for anti-counterfeit answers.

Three tables in each merchant's schema (decision 0198):

- ``ScanEvent``: one row per scan, written by the drainer (``campaigns.scan.events``)
  off the claim's path. Its id is the Redis stream entry's id, so a replayed entry is
  the same row (``ON CONFLICT DO NOTHING``): exactly one row per scan. Rows arrive in
  time order, so a BRIN index on ``scanned_at`` finds a week in a few pages where a
  B-tree over 100,000,000 rows would weigh gigabytes; no partitions (every partition is
  catalog rows in every merchant's schema).
- ``ScanDay``: rollups per day and code range (a batch: one print run's serials),
  added to in the drainer's transaction from the rows it actually inserted.
- ``CodeScans``: per code, what the anti-counterfeit answer reads in one row: the
  first scan (time, region), the deduplicated lookups, the last located scan (for the
  "far apart" test) and why the code looks suspicious, if it does.

Locations are what issue 22 will build on: WGS-84 rounded to 0.01° (about 1 km), a GB/T
2260 region code, and whether it is approximate (from the IP address) or not.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserAgentClass(models.TextChoices):
    WECHAT = "wechat", _("WeChat")
    ALIPAY = "alipay", _("Alipay")
    BROWSER = "browser", _("Browser")
    CRAWLER = "crawler", _("Crawler or link preview")


class ScanSource(models.TextChoices):
    PAGE = "page", _("Scan page opened")
    PREVIEW = "preview", _("Code looked up")
    CLAIM = "claim", _("Claim")
    VERIFY = "verify", _("Authenticity check")


class SuspicionReason(models.TextChoices):
    MANY_LOOKUPS = "many_lookups", _("Looked up many times")
    FAR_APART = "far_apart", _("Scanned far apart within an hour")


class ScanEvent(models.Model):
    # The stream entry's id (milliseconds * 4096 + sequence): time-ordered and unique.
    id = models.BigIntegerField(primary_key=True)
    scanned_at = models.DateTimeField()
    # Not a foreign key: unknown codes (guesses) are recorded too.
    code = models.CharField(max_length=32)  # imported codes are up to 32 (Code.code)
    batch_id = models.BigIntegerField(null=True)
    consumer_id = models.BigIntegerField(null=True)
    # 64 bits of a keyed hash of the device's address and browser: never reversible.
    fingerprint = models.BigIntegerField()
    agent = models.CharField(max_length=8, choices=UserAgentClass.choices)
    source = models.CharField(max_length=8, choices=ScanSource.choices)
    outcome = models.CharField(max_length=32)
    # False for crawlers and for repeats of the same consumer or device within the window.
    counted = models.BooleanField()
    region = models.CharField(max_length=6, blank=True)
    latitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    longitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    approximate = models.BooleanField(default=True)

    class Meta:
        indexes: ClassVar = [
            BrinIndex(fields=["scanned_at"], name="scanevent_time_brin"),
            models.Index(fields=["code", "id"], name="scanevent_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.source} {self.outcome} at {self.scanned_at}"


class ScanDay(models.Model):
    day = models.DateField()
    # The code range: a batch (0 for codes that exist in no batch: guesses).
    batch_id = models.BigIntegerField()
    scans = models.BigIntegerField(default=0)
    lookups = models.BigIntegerField(default=0)
    crawlers = models.BigIntegerField(default=0)
    claims = models.BigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["day", "batch_id"], name="scanday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} batch {self.batch_id}: {self.scans}"


class CodeScans(models.Model):
    code = models.CharField(max_length=32, primary_key=True)  # as Code.code
    first_scanned_at = models.DateTimeField()
    first_region = models.CharField(max_length=6, blank=True)
    first_approximate = models.BooleanField(default=True)
    scans = models.BigIntegerField(default=0)
    lookups = models.BigIntegerField(default=0)
    last_scanned_at = models.DateTimeField()
    # The last scan with a location, for the "far apart within an hour" test.
    located_at = models.DateTimeField(null=True)
    latitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    longitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    region = models.CharField(max_length=6, blank=True)
    suspicion = models.CharField(max_length=16, choices=SuspicionReason.choices, blank=True)
    suspected_at = models.DateTimeField(null=True)
    # How far apart the two scans that flagged the code were, when that is the reason.
    distance_km = models.PositiveIntegerField(null=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["-suspected_at"],
                name="codescans_suspected",
                condition=models.Q(suspected_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.lookups} lookups"
