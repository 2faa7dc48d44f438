"""Summary tables of consumer activity, rolled up from the ledger (see analytics/rollup.py).

Every table is derived: ``analytics.rollup`` rebuilds any day range from the sources,
so a row is never edited by hand and re-running a rollup changes nothing. A null
``merchant`` means the platform as a whole.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

# The keys the summary tables below share (rows the rollup derives and rebuilds;
# no database constraint on them).


def consumer_key(*, db_index: bool = True) -> models.ForeignKey:
    """``db_index=False`` where an index of the table leads with the consumer already."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        db_index=db_index,
    )


def merchant_or_platform(*, db_index: bool = True) -> models.ForeignKey:
    """A merchant, or null for the platform as a whole (``db_index`` as above)."""
    return models.ForeignKey(
        "tenants.Merchant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        db_index=db_index,
    )


class ConsumerDay(models.Model):
    """What one consumer did on one day: with one merchant, or (merchant null) in all."""

    day = models.DateField()
    consumer = consumer_key(db_index=False)
    merchant = merchant_or_platform()
    claims = models.IntegerField(default=0)
    answers = models.IntegerField(default=0)
    # Mall redemptions: only on the platform row (a redemption has no merchant).
    redeems = models.IntegerField(default=0)
    # Points the merchant's own systems awarded (earning API, welcome and birthday bonuses).
    awards = models.IntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["consumer", "merchant", "day"],
                name="consumerday_unique",
                nulls_distinct=False,
            )
        ]
        indexes: ClassVar = [models.Index(fields=["day", "merchant"], name="consumerday_day")]

    def __str__(self) -> str:
        return f"{self.consumer_id}@{self.merchant_id or 'platform'} on {self.day}"


class Reach(models.Model):
    """When a consumer was first active (with a merchant, or at all), second, first redeemed."""

    consumer = consumer_key(db_index=False)
    merchant = merchant_or_platform()
    first_day = models.DateField()
    # The day of the consumer's second activity event (a repeat consumer from then on).
    second_day = models.DateField(null=True, blank=True)
    # Platform rows only: the first day the consumer redeemed in the mall.
    first_redeem_day = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reach"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["consumer", "merchant"], name="reach_unique", nulls_distinct=False
            )
        ]
        indexes: ClassVar = [models.Index(fields=["first_day"], name="reach_first_day")]

    def __str__(self) -> str:
        return f"{self.consumer_id}@{self.merchant_id or 'platform'} since {self.first_day}"


class DailyActivity(models.Model):
    """The dashboard's row: one per merchant (or the platform) and day."""

    day = models.DateField()
    merchant = merchant_or_platform(db_index=False)
    dau = models.IntegerField(default=0)
    wau = models.IntegerField(default=0, help_text="Distinct consumers in the 7 days to `day`.")
    mau = models.IntegerField(default=0, help_text="Distinct consumers in the 30 days to `day`.")
    new = models.IntegerField(default=0)
    returning = models.IntegerField(default=0)
    scans = models.IntegerField(default=0, help_text="Claims plus failed scans.")
    claims = models.IntegerField(default=0)
    answers = models.IntegerField(default=0)
    redeems = models.IntegerField(
        default=0, help_text="Mall redemptions (by consumers the merchant had reached)."
    )
    # Running totals up to and including `day`.
    reached = models.IntegerField(default=0)
    repeat = models.IntegerField(default=0)
    redeemed = models.IntegerField(default=0, help_text="Reached consumers who have redeemed.")
    awards = models.IntegerField(
        default=0, help_text="Awards by the merchant's own systems (earning API, bonuses)."
    )

    class Meta:
        verbose_name_plural = "daily activity"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant", "day"], name="dailyactivity_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id or 'platform'} on {self.day}: {self.dau} active"


class WeeklyCohort(models.Model):
    """Consumers first active in ``cohort_week`` who were active again ``week`` weeks later."""

    merchant = merchant_or_platform(db_index=False)
    cohort_week = models.DateField(help_text="Monday of the week.")
    week = models.IntegerField()
    consumers = models.IntegerField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant", "cohort_week", "week"],
                name="weeklycohort_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id or 'platform'} {self.cohort_week}+{self.week}w: {self.consumers}"


class RollupState(models.Model):
    """One row: up to which day the summaries are complete, and when they were built."""

    rolled_to = models.DateField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"rolled up to {self.rolled_to}"


class MerchantRollup(models.Model):
    """When one merchant's own summaries were last rebuilt on its asking (the console's
    refresh, analytics.rollup.rollup_merchant); the periodic rollup's time is
    ``RollupState.updated_at``."""

    merchant = models.OneToOneField(
        "tenants.Merchant", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    rolled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.merchant_id} rolled up at {self.rolled_at}"
