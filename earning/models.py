"""The merchant earning API's rows, in the public schema (beside the ledger they pay from).

``EarningRule``: one per merchant, how purchases earn and which bonuses it pays.
``Award``: every award the API made (a direct award, a purchase, a welcome or birthday
bonus), keyed by the merchant's idempotency key and by its own id for the event
(``external_id``), each pointing at the ledger transactions that paid it.

An award to a phone with no account yet is ``pending``: its points are held out of
the merchant's budget (a hold account) until that phone signs up (``credited``) or
the hold ends (``returned`` to the budget).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Hold pending awards this long by default (a merchant may choose 1 to 365 days).
DEFAULT_PENDING_DAYS = 30


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    NEAREST = "nearest", _("Round to the nearest point")
    UP = "up", _("Round up")


ROUNDING_MODES = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.NEAREST: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}


class EarningRule(models.Model):
    """How a merchant's purchases earn and which bonuses it pays, from its budget."""

    merchant = models.OneToOneField(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="earning_rule"
    )
    # Points per one major unit of money (per yuan); 4 decimals (0.5 = one point per ¥2).
    points_per_unit = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(1))
    rounding = models.CharField(max_length=8, choices=Rounding.choices, default=Rounding.DOWN)
    # Purchase points one consumer may earn per day (Asia/Shanghai days); null: no cap.
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    # Paid once per consumer with its first award from this merchant; 0: none.
    welcome_bonus = models.PositiveIntegerField(default=0)
    # Paid once a year in the consumer's birthday month, to those who gave a birthday.
    birthday_bonus = models.PositiveIntegerField(default=0)
    pending_days = models.PositiveIntegerField(default=DEFAULT_PENDING_DAYS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(points_per_unit__gt=0), name="earning_rule_rate_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(pending_days__gte=1) & models.Q(pending_days__lte=365),
                name="earning_rule_pending_days",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points_per_unit}/unit for {self.merchant_id}"

    def points_for(self, amount_minor: int, exponent: int) -> int:
        """Points a purchase of ``amount_minor`` (minor units, ``exponent`` digits) earns."""
        exact = Decimal(amount_minor) * self.points_per_unit / (Decimal(10) ** exponent)
        return int(exact.to_integral_value(ROUNDING_MODES[Rounding(self.rounding)]))


class AwardKind(models.TextChoices):
    AWARD = "award", _("Award")
    PURCHASE = "purchase", _("Purchase")
    WELCOME = "welcome", _("Welcome bonus")
    BIRTHDAY = "birthday", _("Birthday bonus")


class AwardStatus(models.TextChoices):
    CREDITED = "credited", _("Credited")
    # Addressed to a phone with no account yet: points held until it signs up.
    PENDING = "pending", _("Pending sign-up")
    # The hold ended before the phone signed up: points back in the budget.
    RETURNED = "returned", _("Returned to the budget")
    REVERSED = "reversed", _("Reversed")


class Award(models.Model):
    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8, choices=AwardKind.choices)
    status = models.CharField(max_length=8, choices=AwardStatus.choices)
    # The consumer credited; null while pending (then ``phone`` names who it is for).
    consumer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # E.164, kept only while the award waits for this phone (cleared once settled).
    phone = models.CharField(max_length=16, blank=True)
    points = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    # The merchant's id for the event (its order id for a purchase); unique per merchant.
    external_id = models.CharField(max_length=100)
    # The merchant's request key (bonuses: a key of ours); unique per merchant.
    idempotency_key = models.CharField(max_length=200)
    # A digest of what was asked, so that a reused key or id with another request is refused.
    request_hash = models.CharField(max_length=64)
    # A purchase's amount in minor units and its currency.
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # A birthday bonus's year (one per consumer, merchant and year).
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    # The posting that paid it (to the wallet) or held it (out of the budget).
    transaction = models.OneToOneField(
        "points.Transaction", on_delete=models.PROTECT, related_name="+"
    )
    # The posting that settled a pending award (credited on sign-up, or returned).
    settlement = models.OneToOneField(
        "points.Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The posting that reversed it.
    reversal = models.OneToOneField(
        "points.Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hold_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["phone"],
                condition=models.Q(status="pending"),
                name="award_pending_phone",
            ),
            models.Index(
                fields=["hold_until"],
                condition=models.Q(status="pending"),
                name="award_pending_until",
            ),
            models.Index(fields=["merchant", "consumer", "kind"], name="award_consumer_kind"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="award_unique_key"
            ),
            models.UniqueConstraint(
                fields=["merchant", "external_id"], name="award_unique_external_id"
            ),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="award_points_pos"),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | ~models.Q(phone=""),
                name="award_pending_has_phone",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="credited") | models.Q(consumer__isnull=False),
                name="award_credited_has_consumer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}: {self.points} ({self.status})"


class WayToEarn(models.Model):
    """One active campaign of a merchant, as the consumers' "ways to earn" list shows it.

    Campaigns live in each merchant's schema; listing them for a consumer across
    merchants from there would visit every schema. This public copy holds what the list
    needs, whatever the campaign's kind, and is rebuilt per merchant
    (``campaigns.offers``) when a campaign changes status and by a periodic sweep.
    """

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign_id = models.BigIntegerField()
    # The campaign's kind as the campaigns app names it (scan, questionnaire, and the
    # kinds that come later): listed generically, never by a fixed list.
    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=200, blank=True)
    # Points on offer (per code, per response, the top prize…); null: it varies.
    points = models.BigIntegerField(null=True, blank=True)
    # The consumer's page for it ("/q/<link>", "/scan"); blank: none yet.
    path = models.CharField(max_length=200, blank=True)
    # The reserve ref prefix whose award to a consumer means they earned it already
    # ("survey:<id>:"); blank: it can be earned again (each code once, not the campaign).
    earned_once_ref = models.CharField(max_length=64, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["merchant", "campaign_id"], name="way_unique_campaign"),
        ]
        indexes: ClassVar = [models.Index(fields=["-created_at", "-id"], name="way_newest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.merchant_id})"
