"""Dealers (经销商), their sales regions, which goods they got, and where goods turned up.

Rows live in each merchant's schema, next to the codes they talk about. Regions are GB/T
2260 codes (``core.regions``, decision 0241) at any level: a region inside a sales
region's province or city counts as inside it (decision 0246).
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from core import regions

MAX_REGIONS = 200


class Dealer(models.Model):
    """A dealer of the merchant's goods and the regions it may sell in."""

    name = models.CharField(max_length=100)
    regions = ArrayField(models.CharField(max_length=6))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["name"], name="dealer_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def covers(self, region: str) -> bool:
        return covers(self.regions, region)


def covers(sales_regions: list[str], region: str) -> bool:
    """Whether ``region`` lies inside one of ``sales_regions``.

    Inside: the region is a sales region or lies in one (a district of an assigned city).
    A coarser region that holds a sales region (an IP address's city around a dealer's
    district) cannot be told outside: it counts as inside, so that an approximate region
    never flags a dealer that sells there.
    """
    if not region:
        return True  # nowhere known: nothing to say
    above = {division.code for division in regions.path(region)} or {region}
    return any(r in above or region in {d.code for d in regions.path(r)} for r in sales_regions)


class DealerAssignment(models.Model):
    """A batch's serials ``first_serial``..``last_serial`` (inclusive) went to a dealer.

    A whole batch is its serials 0..size-1. Assignments of one batch never overlap
    (``dealers.services.assign`` checks under a lock of the batch's row).
    """

    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="assignments")
    batch = models.ForeignKey(
        "campaigns.CodeBatch", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    first_serial = models.PositiveIntegerField()
    last_serial = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(first_serial__lte=models.F("last_serial")),
                name="dealer_assignment_ordered",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["batch", "first_serial"], name="dealer_assignment_serials"),
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} {self.first_serial}-{self.last_serial} → {self.dealer_id}"


class DiversionAction(models.TextChoices):
    FLAG = "flag", "Flag only"
    REFUSE = "refuse", "Refuse the claim on a consented precise location"


class DiversionPolicy(models.Model):
    """What a campaign does with a diverted claim; a campaign without a row only flags."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    action = models.CharField(
        max_length=10, choices=DiversionAction.choices, default=DiversionAction.FLAG
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"campaign {self.campaign_id}: {self.action}"


class DiversionEvent(models.Model):
    """A code scanned outside its dealer's sales regions: one row per code and region.

    Written by the scan-event drainer (decision 0247); its first write sends the
    ``diversion.suspected`` webhook, later scans of the code in that region only count.
    ``approximate`` stays true while every scan there was located by IP address only.
    """

    code = models.CharField(max_length=32)
    region = models.CharField(max_length=6)
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="+", db_index=False)
    batch = models.ForeignKey("campaigns.CodeBatch", on_delete=models.PROTECT, related_name="+")
    approximate = models.BooleanField()
    refused = models.BooleanField(default=False)
    scans = models.PositiveIntegerField(default=1)
    latitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    longitude = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    first_scanned_at = models.DateTimeField()
    last_scanned_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["code", "region"], name="diversion_unique_region"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["-first_scanned_at"], name="diversion_newest"),
            models.Index(fields=["dealer", "-first_scanned_at"], name="diversion_dealer"),
        ]

    def __str__(self) -> str:
        return f"{self.code} in {self.region}"
